package queue

import (
	"encoding/json"
	"slices"
	"strings"
)

// Params are an entry's delivery parameters, kept as JSON in
// mailstore.QueueEntry.Extra: what the sender asked for at submission.
type Params struct {
	Ret        string               `json:"ret,omitempty"`   // RET: FULL or HDRS
	EnvID      string               `json:"envid,omitempty"` // ENVID
	RequireTLS bool                 `json:"requiretls,omitempty"`
	UTF8       bool                 `json:"utf8,omitempty"` // SMTPUTF8 was given at submission
	Body8Bit   bool                 `json:"8bit,omitempty"` // BODY=8BITMIME
	Rcpts      map[string]RcptParam `json:"rcpts,omitempty"`
	Warned     bool                 `json:"warned,omitempty"` // the delay warning was sent
}

// RcptParam are one recipient's DSN parameters.
type RcptParam struct {
	Notify []string `json:"notify,omitempty"` // NEVER, or SUCCESS/FAILURE/DELAY
	ORcpt  string   `json:"orcpt,omitempty"`  // "rfc822;addr"
}

// Marshal encodes p for QueueEntry.Extra.
func (p *Params) Marshal() []byte {
	b, _ := json.Marshal(p) // a struct of strings, bools and maps cannot fail
	return b
}

func parseParams(extra []byte) Params {
	var p Params
	if len(extra) > 0 {
		_ = json.Unmarshal(extra, &p) // bad or missing data: default parameters
	}
	return p
}

// wants reports whether the sender wants a notification of kind
// ("SUCCESS", "FAILURE", "DELAY") for rcpt. Without NOTIFY, failures and
// delays are reported (RFC 3461 section 4.1 leaves the default to us).
func (p *Params) wants(rcpt, kind string) bool {
	n := p.Rcpts[strings.ToLower(rcpt)].Notify
	if len(n) == 0 {
		return kind != "SUCCESS"
	}
	return slices.Contains(n, kind)
}
