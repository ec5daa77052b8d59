"""A realistic mail client session with Python's imaplib.

Run by TestImaplib with the server's address, a CA file and a mode in the
environment. It expects alice's INBOX to hold two messages, the first
"Lunch on Friday", the second "Fwd: Lunch on Friday", and exits non-zero
with a message on the first surprise.
"""

import email
import imaplib
import os
import re
import ssl
import sys
import time


def check(cond, what, got):
    if not cond:
        print(f"FAIL: {what}: got {got!r}", file=sys.stderr)
        sys.exit(1)


def ok(res, what):
    typ, data = res
    check(typ == "OK", what, (typ, data))
    return data


def connect():
    host, port = os.environ["IMAP_HOST"], int(os.environ["IMAP_PORT"])
    ctx = ssl.create_default_context(cafile=os.environ["IMAP_CAFILE"])
    if os.environ["IMAP_MODE"] == "starttls":
        m = imaplib.IMAP4(host, port, timeout=10)
        check("STARTTLS" in m.capabilities, "capabilities before STARTTLS", m.capabilities)
        ok(m.starttls(ssl_context=ctx), "STARTTLS")
        return m
    return imaplib.IMAP4_SSL(host, port, ssl_context=ctx, timeout=10)


def main():
    m = connect()
    ok(m.login(os.environ["IMAP_USER"], os.environ["IMAP_PASS"]), "LOGIN")
    caps = ok(m.capability(), "CAPABILITY")[0].split()
    check(b"IDLE" in caps and b"MOVE" in caps, "capabilities after LOGIN", caps)

    boxes = ok(m.list(), "LIST")
    names = [b.decode().rsplit(' "/" ', 1)[1].strip('"') for b in boxes]
    check({"INBOX", "Sent", "Drafts", "Trash", "Archive"} <= set(names), "LIST", names)
    special = [b.decode() for b in boxes if b"\\Sent" in b]
    check(len(special) == 1 and special[0].endswith('"Sent"'), "LIST special-use", special)

    data = ok(m.select("INBOX"), "SELECT")
    check(data == [b"2"], "SELECT INBOX", data)

    data = ok(m.fetch("1", "(RFC822)"), "FETCH RFC822")
    msg = email.message_from_bytes(data[0][1])
    check(msg["Subject"] == "Lunch on Friday", "FETCH RFC822 subject", msg["Subject"])
    check("Shall we meet at noon?" in msg.get_payload(), "FETCH RFC822 body", msg.get_payload())
    flags = ok(m.fetch("1", "(FLAGS)"), "FETCH FLAGS")
    check(b"\\Seen" in flags[0], "FETCH RFC822 sets \\Seen", flags)

    data = ok(m.fetch("1:2", "(BODY.PEEK[HEADER])"), "FETCH BODY.PEEK[HEADER]")
    headers = [email.message_from_bytes(d[1]) for d in data if isinstance(d, tuple)]
    check([h["Subject"] for h in headers] == ["Lunch on Friday", "Fwd: Lunch on Friday"], "headers", headers)
    flags = ok(m.fetch("2", "(FLAGS)"), "FETCH FLAGS")
    check(b"\\Seen" not in flags[0], "BODY.PEEK leaves \\Seen", flags)

    check(ok(m.search(None, "SUBJECT", '"Fwd"'), "SEARCH") == [b"2"], "SEARCH SUBJECT", "")
    check(ok(m.search(None, "UNSEEN"), "SEARCH UNSEEN") == [b"2"], "SEARCH UNSEEN", "")
    check(ok(m.search("UTF-8", "BODY", "noon"), "SEARCH CHARSET") == [b"1 2"], "SEARCH BODY", "")
    check(ok(m.uid("SEARCH", "ALL"), "UID SEARCH") == [b"1 2"], "UID SEARCH", "")

    data = ok(m.store("2", "+FLAGS", "(\\Flagged $Important)"), "STORE")
    check(b"\\Flagged" in data[0] and b"$Important" in data[0], "STORE reply", data)

    data = ok(m.copy("1:2", "Archive"), "COPY")
    check(re.match(rb"\[COPYUID \d+ 1:2 1:2\]", data[0]) is not None, "COPYUID", data)

    ok(m.store("1", "+FLAGS", "(\\Deleted)"), "STORE \\Deleted")
    check(ok(m.expunge(), "EXPUNGE") == [b"1"], "EXPUNGE", "")
    check(ok(m.fetch("1", "(UID)"), "FETCH UID") == [b"1 (UID 2)"], "numbers after EXPUNGE", "")

    draft = b"From: alice@example.org\r\nSubject: Draft reply\r\n\r\nNot yet.\r\n"
    stamp = 1736091000  # 2025-01-05 15:30:00 UTC
    when = imaplib.Time2Internaldate(stamp)
    data = ok(m.append("Drafts", "(\\Draft \\Seen)", when, draft), "APPEND")
    check(re.match(rb"\[APPENDUID \d+ 1\]", data[0]) is not None, "APPENDUID", data)

    status = ok(m.status("Archive", "(MESSAGES UNSEEN)"), "STATUS")
    check(status == [b'"Archive" (MESSAGES 2 UNSEEN 1)'], "STATUS Archive", status)

    ok(m.select("Drafts", readonly=True), "EXAMINE")
    data = ok(m.fetch("1", "(FLAGS INTERNALDATE RFC822.SIZE BODY[])"), "FETCH draft")
    check(data[0][1] == draft, "draft body", data)
    meta = data[0][0]
    check(b"\\Draft" in meta and b"\\Seen" in meta, "draft flags", meta)
    check(b"RFC822.SIZE %d" % len(draft) in meta, "draft size", meta)
    t = imaplib.Internaldate2tuple(meta)
    check(t is not None and time.mktime(t) == stamp, "INTERNALDATE " + when, meta)
    ok(m.close(), "CLOSE")
    typ, _ = m.logout()
    check(typ == "BYE", "LOGOUT", typ)
    print("ok")


if __name__ == "__main__":
    main()
