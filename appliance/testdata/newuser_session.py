"""A new user's first session against a running Facteur core, with the
standard library's smtplib, imaplib and poplib. Addresses come from the
environment (set by e2e_test.go). Every step asserts what it expects;
any failure exits non-zero with a traceback."""

import imaplib
import os
import poplib
import smtplib
import socket
import ssl
import time
from email.message import EmailMessage

ENV = os.environ
HOST = "127.0.0.1"
CTX = ssl._create_unverified_context()  # the box's certificate is self-signed


def port(name):
    return int(ENV["FACTEUR_" + name.upper()].rsplit(":", 1)[1])


def message(frm, to, subject, body="Hello from the test.\n"):
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = frm, to, subject
    m.set_content(body)
    return m


def submit(user, password, msg):
    with smtplib.SMTP(HOST, port("submission"), timeout=30) as s:
        s.starttls(context=CTX)
        s.login(user, password)
        s.send_message(msg)


def mx_send(frm, to, msg):
    with smtplib.SMTP(HOST, port("smtp"), timeout=30) as s:
        s.send_message(msg, from_addr=frm, to_addrs=[to])


def imap_login(user, password):
    m = imaplib.IMAP4_SSL(HOST, port("imaps"), ssl_context=CTX, timeout=30)
    m.login(user, password)
    return m


ALICE, BOB = ENV["ALICE"], ENV["BOB"]
ALICE_PW, BOB_PW = ENV["ALICE_PW"], ENV["BOB_PW"]


def step_submission():
    submit(ALICE, ALICE_PW, message(ALICE, BOB, "Lunch on Friday?"))
    print("ok submission with STARTTLS and AUTH")


def step_mx():
    mx_send("news@outside.example", ALICE, message("news@outside.example", ALICE, "Newsletter 42", "Words about zebras.\n"))
    print("ok MX delivery from the internet")


def step_imap_read():
    m = imap_login(BOB, BOB_PW)
    typ, data = m.select("INBOX")
    assert typ == "OK" and data[0] == b"1", (typ, data)
    typ, data = m.fetch("1", "(FLAGS ENVELOPE BODY.PEEK[])")
    assert typ == "OK", data
    raw = data[0][1]
    assert b"Subject: Lunch on Friday?" in raw and b"Received: from" in raw, raw[:400]
    assert b'"Lunch on Friday?"' in data[0][0], data[0][0]
    typ, data = m.search(None, "SUBJECT", "lunch")
    assert data == [b"1"], data
    typ, data = m.search(None, "BODY", "nothing-like-this")
    assert data == [b""], data
    m.logout()
    print("ok IMAP FETCH and SEARCH")


def step_idle_and_move():
    m = imap_login(ALICE, ALICE_PW)
    m.select("INBOX")
    tag = m._new_tag().decode()
    m.send(f"{tag} IDLE\r\n".encode())
    line = m.readline()
    assert line.startswith(b"+"), line
    mx_send("boss@outside.example", ALICE, message("boss@outside.example", ALICE, "Urgent: the zebra report"))
    m.sock.settimeout(15)
    line = m.readline()
    assert line.strip() == b"* 2 EXISTS", line
    m.send(b"DONE\r\n")
    while not line.startswith(tag.encode()):
        line = m.readline()
    assert b"OK" in line, line
    typ, data = m.uid("SEARCH", "FROM", "boss@outside.example")
    uid = data[0].split()[-1]
    typ, data = m.uid("MOVE", uid, "Archive")
    assert typ == "OK", (typ, data)
    typ, data = m.status("Archive", "(MESSAGES)")
    assert b"MESSAGES 1" in data[0], data
    typ, data = m.select("INBOX")
    assert data[0] == b"1", data
    m.logout()
    print("ok IDLE woken by a delivery, MOVE to Archive")


def step_pop3():
    p = poplib.POP3(HOST, port("pop3"), timeout=30)
    p.stls(context=CTX)
    p.user(BOB)
    p.pass_(BOB_PW)
    count, size = p.stat()
    assert count == 1, count
    resp, lines, _ = p.retr(1)
    assert b"Subject: Lunch on Friday?" in lines, lines[:20]
    p.dele(1)
    p.quit()
    m = imap_login(BOB, BOB_PW)
    typ, data = m.select("INBOX")
    assert data[0] == b"0", data
    m.logout()
    print("ok POP3 RETR and DELE, seen over IMAP")


def expect_smtp_error(fn, code):
    try:
        fn()
    except smtplib.SMTPResponseException as e:
        assert e.smtp_code == code, (e.smtp_code, e.smtp_error)
        return e
    except smtplib.SMTPRecipientsRefused as e:
        (c, text), = e.recipients.values()
        assert c == code, (c, text)
        return e
    raise AssertionError(f"expected SMTP {code}")


def step_refusals():
    # Relay attempt on the MX port.
    expect_smtp_error(lambda: mx_send("spammer@outside.example", "victim@elsewhere.example",
                                      message("spammer@outside.example", "victim@elsewhere.example", "relay?")), 554)
    # Unknown user: 550 5.1.1 at RCPT.
    e = expect_smtp_error(lambda: mx_send("x@outside.example", "nobody@" + ALICE.split("@")[1],
                                          message("x@outside.example", "nobody", "hi")), 550)
    assert b"5.1.1" in e.recipients[list(e.recipients)[0]][1], e.recipients
    # AUTH before TLS: not offered, and refused if tried.
    with smtplib.SMTP(HOST, port("submission"), timeout=30) as s:
        s.ehlo()
        assert not s.has_extn("auth"), s.esmtp_features
        code, text = s.docmd("AUTH", "PLAIN AGFsaWNlAHNlY3JldA==")
        assert code in (530, 538, 502, 503), (code, text)
    imap = imaplib.IMAP4(HOST, port("imap"), timeout=30)
    try:
        imap.login(ALICE, ALICE_PW)
        raise AssertionError("IMAP LOGIN before STARTTLS succeeded")
    except imaplib.IMAP4.error:
        pass
    imap.shutdown()
    pop = poplib.POP3(HOST, port("pop3"), timeout=30)
    try:
        pop.user(ALICE)
        pop.pass_(ALICE_PW)
        raise AssertionError("POP3 login before STLS succeeded")
    except poplib.error_proto:
        pass
    pop.close()
    # Wrong password: 535, over submission.
    def wrong():
        with smtplib.SMTP_SSL(HOST, port("submissions"), context=CTX, timeout=30) as s:
            s.login(ALICE, "not-the-password")
    expect_smtp_error(wrong, 535)
    # Wrong password over IMAP.
    try:
        imap_login(ALICE, "not-the-password")
        raise AssertionError("IMAP login with a wrong password succeeded")
    except imaplib.IMAP4.error:
        pass
    # Over-size: declared SIZE, then real data over the limit.
    with smtplib.SMTP(HOST, port("smtp"), timeout=60) as s:
        s.ehlo()
        code, _ = s.mail("x@outside.example", ["SIZE=60000000"])
        assert code == 552, code
    big = message("x@outside.example", ALICE, "too big", "y" * 100 + "\n")
    raw = big.as_bytes().replace(b"\n", b"\r\n") + (b"z" * 998 + b"\r\n") * (51 * 1024 * 1024 // 1000)
    expect_smtp_error(lambda: mx_raw(raw), 552)
    # The sender must own the envelope address.
    def forged():
        with smtplib.SMTP(HOST, port("submission"), timeout=30) as s:
            s.starttls(context=CTX)
            s.login(ALICE, ALICE_PW)
            s.send_message(message(BOB, ALICE, "forged"), from_addr=BOB)
    expect_smtp_error(forged, 553)
    print("ok refusals: relay, unknown user, AUTH before TLS, wrong password, over-size, foreign sender")


def mx_raw(raw):
    with smtplib.SMTP(HOST, port("smtp"), timeout=60) as s:
        s.sendmail("x@outside.example", [ALICE], raw)


def step_isolation():
    a = imap_login(ALICE, ALICE_PW)
    typ, _ = a.create("Private/Alice")
    assert typ == "OK"
    a.logout()
    b = imap_login(BOB, BOB_PW)
    typ, data = b.list()
    assert not any(b"Private" in line for line in data), data
    typ, data = b.select("Private/Alice")
    assert typ == "NO", (typ, data)
    typ, data = b.status("Private/Alice", "(MESSAGES)")
    assert typ == "NO", (typ, data)
    typ, data = b.select("INBOX")
    typ, data = b.search(None, "ALL")
    assert data == [b""], data  # none of Alice's mail
    b.logout()
    print("ok a second user cannot see or select the first user's mailboxes")


for step in (step_submission, step_mx, step_imap_read, step_idle_and_move, step_pop3, step_refusals, step_isolation):
    step()
