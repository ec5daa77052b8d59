package appliance

// Ports are the TCP ports of the core's listeners, and DNS's (UDP and
// TCP), which the dns role serves (in dev mode, inside the one process).
type Ports struct {
	SMTP, Submissions, Submission, IMAP, IMAPS, POP3, POP3S int
	DNS                                                     int
	// HTTP and HTTPS serve the web UI.
	HTTP, HTTPS int
}

// StandardPorts are used by `facteur serve` on the device.
var StandardPorts = Ports{SMTP: 25, Submissions: 465, Submission: 587, IMAP: 143, IMAPS: 993, POP3: 110, POP3S: 995, DNS: 53, HTTP: 80, HTTPS: 443}

// DevPorts are used by `facteur dev`: unprivileged, same last digits.
var DevPorts = Ports{SMTP: 2525, Submissions: 2465, Submission: 2587, IMAP: 2143, IMAPS: 2993, POP3: 2110, POP3S: 2995, DNS: 2053, HTTP: 8080, HTTPS: 8443}
