package webui

import (
	"bytes"
	"crypto/sha256"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Mail client discovery. Thunderbird asks
// autoconfig.<domain>/mail/config-v1.1.xml (or the .well-known path);
// Outlook posts to autodiscover.<domain>/autodiscover/autodiscover.xml;
// Apple devices install a configuration profile from the user pages. None
// of them carries a password.
func (s *Server) discoveryRoutes() {
	for _, p := range []string{"/mail/config-v1.1.xml", "/.well-known/autoconfig/mail/config-v1.1.xml"} {
		s.mux.HandleFunc("GET "+p, s.autoconfig)
	}
	for _, p := range []string{"/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"} {
		s.mux.HandleFunc("POST "+p, s.autodiscover)
		s.mux.HandleFunc("GET "+p, s.autodiscover)
	}
}

// isDiscovery reports whether path is a mail client discovery endpoint.
// These stay on plain HTTP after setup too: mail clients fall back to HTTP
// when the box's self-signed certificate fails, and the answers hold no
// secret.
func isDiscovery(path string) bool {
	switch strings.ToLower(path) {
	case "/mail/config-v1.1.xml", "/.well-known/autoconfig/mail/config-v1.1.xml", "/autodiscover/autodiscover.xml":
		return true
	}
	return false
}

func xmlText(v string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(v))
	return b.String()
}

// autoconfig answers Thunderbird's autoconfig request.
func (s *Server) autoconfig(w http.ResponseWriter, r *http.Request) {
	if !s.be.SetupDone() {
		http.NotFound(w, r)
		return
	}
	c := s.be.Client()
	domain := c.Hostname
	if _, d, ok := strings.Cut(r.URL.Query().Get("emailaddress"), "@"); ok && d != "" {
		domain = d
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<clientConfig version=\"1.1\">\n <emailProvider id=\"%s\">\n  <domain>%s</domain>\n  <displayName>%s</displayName>\n", xmlText(domain), xmlText(domain), xmlText(domain))
	server := func(tag, typ string, port int, socket string) {
		if port == 0 {
			return
		}
		fmt.Fprintf(&b, "  <%s type=\"%s\">\n   <hostname>%s</hostname>\n   <port>%d</port>\n   <socketType>%s</socketType>\n   <authentication>password-cleartext</authentication>\n   <username>%%EMAILADDRESS%%</username>\n  </%s>\n", tag, typ, xmlText(c.Hostname), port, socket, tag)
	}
	server("incomingServer", "imap", c.IMAPS, "SSL")
	server("incomingServer", "imap", c.IMAP, "STARTTLS")
	server("incomingServer", "pop3", c.POP3S, "SSL")
	server("outgoingServer", "smtp", c.Submissions, "SSL")
	server("outgoingServer", "smtp", c.Submission, "STARTTLS")
	b.WriteString(" </emailProvider>\n</clientConfig>\n")
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	io.WriteString(w, b.String())
}

// autodiscoverRequest is the part of Outlook's request we read.
type autodiscoverRequest struct {
	Request struct {
		EMailAddress             string `xml:"EMailAddress"`
		AcceptableResponseSchema string `xml:"AcceptableResponseSchema"`
	} `xml:"Request"`
}

// parseAutodiscover reads the e-mail address from an Outlook autodiscover
// request body (at most 16 KB).
func parseAutodiscover(body io.Reader) (string, error) {
	var req autodiscoverRequest
	dec := xml.NewDecoder(io.LimitReader(body, 16<<10))
	if err := dec.Decode(&req); err != nil {
		return "", fmt.Errorf("autodiscover request: %w", err)
	}
	addr := strings.TrimSpace(req.Request.EMailAddress)
	if len(addr) > 254 || strings.ContainsAny(addr, "<>&\"' \t\r\n") || strings.Count(addr, "@") != 1 {
		return "", fmt.Errorf("autodiscover request: bad address %q", addr)
	}
	return addr, nil
}

// autodiscover answers Outlook's POX autodiscover request.
func (s *Server) autodiscover(w http.ResponseWriter, r *http.Request) {
	if !s.be.SetupDone() {
		http.NotFound(w, r)
		return
	}
	addr := ""
	if r.Method == http.MethodPost {
		a, err := parseAutodiscover(r.Body)
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		addr = a
	}
	c := s.be.Client()
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006\">\n <Response xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a\">\n  <Account>\n   <AccountType>email</AccountType>\n   <Action>settings</Action>\n")
	proto := func(typ string, port int, ssl, encryption string) {
		if port == 0 {
			return
		}
		fmt.Fprintf(&b, "   <Protocol>\n    <Type>%s</Type>\n    <Server>%s</Server>\n    <Port>%d</Port>\n    <LoginName>%s</LoginName>\n    <DomainRequired>off</DomainRequired>\n    <SPA>off</SPA>\n    <SSL>%s</SSL>\n", typ, xmlText(c.Hostname), port, xmlText(addr), ssl)
		if encryption != "" {
			fmt.Fprintf(&b, "    <Encryption>%s</Encryption>\n", encryption)
		}
		b.WriteString("    <AuthRequired>on</AuthRequired>\n   </Protocol>\n")
	}
	proto("IMAP", c.IMAPS, "on", "")
	if c.Submissions != 0 {
		proto("SMTP", c.Submissions, "on", "")
	} else {
		proto("SMTP", c.Submission, "on", "TLS")
	}
	b.WriteString("  </Account>\n </Response>\n</Autodiscover>\n")
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	io.WriteString(w, b.String())
}

// appleProfile is an unsigned Apple configuration profile (plist) with one
// IMAP mail account for addr; the device asks for the password when the
// profile is installed.
func appleProfile(addr string, c ClientSettings) []byte {
	uuid := func(salt string) string {
		h := sha256.Sum256([]byte(salt + "\x00" + addr + "\x00" + c.Hostname))
		h[6] = h[6]&0x0f | 0x50
		h[8] = h[8]&0x3f | 0x80
		return fmt.Sprintf("%X-%X-%X-%X-%X", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
	}
	smtpPort, smtpSSL := c.Submissions, true
	if smtpPort == 0 {
		smtpPort = c.Submission
	}
	reverse := strings.Join(reverseLabels(c.Hostname), ".")
	var b strings.Builder
	kv := func(k, typ, v string) { fmt.Fprintf(&b, "   <key>%s</key><%s>%s</%s>\n", k, typ, xmlText(v), typ) }
	boolean := func(k string, v bool) { fmt.Fprintf(&b, "   <key>%s</key><%t/>\n", k, v) }
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n<plist version=\"1.0\">\n<dict>\n <key>PayloadContent</key>\n <array>\n  <dict>\n")
	kv("EmailAccountDescription", "string", addr)
	kv("EmailAccountType", "string", "EmailTypeIMAP")
	kv("EmailAddress", "string", addr)
	kv("IncomingMailServerAuthentication", "string", "EmailAuthPassword")
	kv("IncomingMailServerHostName", "string", c.Hostname)
	kv("IncomingMailServerPortNumber", "integer", fmt.Sprint(c.IMAPS))
	boolean("IncomingMailServerUseSSL", true)
	kv("IncomingMailServerUsername", "string", addr)
	kv("OutgoingMailServerAuthentication", "string", "EmailAuthPassword")
	kv("OutgoingMailServerHostName", "string", c.Hostname)
	kv("OutgoingMailServerPortNumber", "integer", fmt.Sprint(smtpPort))
	boolean("OutgoingMailServerUseSSL", smtpSSL)
	kv("OutgoingMailServerUsername", "string", addr)
	boolean("OutgoingPasswordSameAsIncomingPassword", true)
	kv("PayloadDisplayName", "string", "Mail: "+addr)
	kv("PayloadIdentifier", "string", reverse+".facteur.mail."+uuid("mail"))
	kv("PayloadType", "string", "com.apple.mail.managed")
	kv("PayloadUUID", "string", uuid("mail"))
	kv("PayloadVersion", "integer", "1")
	b.WriteString("  </dict>\n </array>\n")
	for _, line := range [][3]string{
		{"PayloadDisplayName", "string", "Mail account " + addr},
		{"PayloadIdentifier", "string", reverse + ".facteur." + uuid("profile")},
		{"PayloadOrganization", "string", c.Hostname},
		{"PayloadRemovalDisallowed", "", ""},
		{"PayloadType", "string", "Configuration"},
		{"PayloadUUID", "string", uuid("profile")},
		{"PayloadVersion", "integer", "1"},
	} {
		if line[1] == "" {
			fmt.Fprintf(&b, " <key>%s</key><false/>\n", line[0])
			continue
		}
		fmt.Fprintf(&b, " <key>%s</key><%s>%s</%s>\n", line[0], line[1], xmlText(line[2]), line[1])
	}
	b.WriteString("</dict>\n</plist>\n")
	return []byte(b.String())
}

func reverseLabels(h string) []string {
	l := strings.Split(h, ".")
	for i, j := 0, len(l)-1; i < j; i, j = i+1, j-1 {
		l[i], l[j] = l[j], l[i]
	}
	return l
}
