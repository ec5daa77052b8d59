#!/usr/bin/env python3
"""Send one message with Python's smtplib, for smtpd's tests.

usage: send.py MODE PORT CAFILE FROM TO [USER PASSWORD MECH]

MODE is mx (plain, no AUTH), submission (STARTTLS, then AUTH) or
submissions (implicit TLS, then AUTH). MECH is PLAIN or LOGIN. The TLS
certificate is verified against CAFILE for the address 127.0.0.1.

Exit status 0 when the server accepted the message, 3 when it refused
authentication (535), 1 on anything else.
"""

import smtplib
import ssl
import sys
from email.message import EmailMessage

HOST = "127.0.0.1"


def message(mode, sender, rcpt):
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = rcpt
    msg["Subject"] = "smtplib " + mode
    msg.set_content("Hello from smtplib.\n.a line that starts with a dot\n")
    return msg


def connect(mode, port, ctx):
    if mode == "submissions":
        return smtplib.SMTP_SSL(HOST, port, local_hostname="client.example", context=ctx, timeout=30)
    s = smtplib.SMTP(HOST, port, local_hostname="client.example", timeout=30)
    if mode == "submission":
        s.starttls(context=ctx)
    return s


def authenticate(s, user, password, mech):
    s.ehlo()
    s.user, s.password = user, password
    auth = {"PLAIN": s.auth_plain, "LOGIN": s.auth_login}[mech]
    s.auth(mech, auth)


def main(argv):
    mode, port, cafile, sender, rcpt = argv[1:6]
    ctx = ssl.create_default_context(cafile=cafile)
    with connect(mode, int(port), ctx) as s:
        if mode != "mx":
            user, password, mech = argv[6:9]
            try:
                authenticate(s, user, password, mech)
            except smtplib.SMTPAuthenticationError as e:
                print("auth refused:", e.smtp_code, e.smtp_error.decode())
                return 3
        s.send_message(message(mode, sender, rcpt))
        s.quit()
    print("sent")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
