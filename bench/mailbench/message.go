package mailbench

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// RareWord appears in the body of one message in RareEvery, and nowhere
// else: SEARCH BODY for it must find exactly those messages.
const (
	RareWord  = "quetzalcoatl"
	RareEvery = 100
)

// words is the vocabulary of the generated text. None contains RareWord.
var words = strings.Fields(`the of and to in is that it for on was with as be at by this
had not are but from or have an they which one you were her all she there would their we
him been has when who will more no if out so said what up its about into than them can
only other new some could time these two may then do first any my now such like our over
man me even most made after also did many before must through back years where much your
way well down should because each just those people mr how too little state good very make
world still own see men work long get here between both life being under never day same
another know while last might us great old year off come since against go came right used
take three invoice meeting report budget quarter schedule office printer delivery contract
customer supplier payment order shipment agenda minutes draft review approval holiday`)

// Message returns message seq (0-based) of a run as CRLF text of about
// size bytes: headers that make a realistic ENVELOPE (distinct senders,
// subjects and Message-IDs) and a plain-text body. The text is a pure
// function of seq, so both systems receive the same mail.
func Message(seq, size int, date time.Time) []byte {
	r := rand.New(rand.NewPCG(uint64(seq), 0x6d61696c))
	var b strings.Builder
	b.Grow(size + 512)
	sender := words[r.IntN(len(words))] + strconv.Itoa(seq%997)
	fmt.Fprintf(&b, "From: %s <%s@client%d.test>\r\n", strings.ToUpper(sender[:1])+sender[1:], sender, seq%13)
	fmt.Fprintf(&b, "To: Bench <bench@bench.test>\r\n")
	fmt.Fprintf(&b, "Subject: %s %d %s\r\n", SubjectPrefix, seq, phrase(r, 4))
	fmt.Fprintf(&b, "Date: %s\r\n", date.Add(time.Duration(seq)*time.Second).Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%d.%x@client.test>\r\n", seq, r.Uint64())
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")
	b.WriteString("Hello,\r\n\r\n")
	if seq%RareEvery == 0 {
		b.WriteString("The " + RareWord + " file is attached below.\r\n")
	}
	for b.Len() < size {
		b.WriteString(words[r.IntN(len(words))])
		if r.IntN(12) == 0 {
			b.WriteString("\r\n")
		} else {
			b.WriteByte(' ')
		}
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// SubjectPrefix starts every generated Subject, followed by the sequence
// number: the end-to-end check reads it back over IMAP.
const SubjectPrefix = "Bench"

// SeqFromSubject returns the sequence number in a generated Subject.
func SeqFromSubject(s string) (int, bool) {
	f := strings.Fields(s)
	if len(f) < 2 || f[0] != SubjectPrefix {
		return 0, false
	}
	n, err := strconv.Atoi(f[1])
	return n, err == nil
}

func phrase(r *rand.Rand, n int) string {
	p := make([]string, n)
	for i := range p {
		p[i] = words[r.IntN(len(words))]
	}
	return strings.Join(p, " ")
}

// RareCount is how many of n messages contain RareWord.
func RareCount(n int) int { return (n + RareEvery - 1) / RareEvery }
