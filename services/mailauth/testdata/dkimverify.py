#!/usr/bin/env python3
"""Checks a message's DKIM signatures with Debian's python3-dkim, which
shares no code with ours.

Usage: dkimverify.py MESSAGE NAME TEXT [NAME TEXT ...]

Each NAME TEXT pair is a TXT record (e.g. "s._domainkey.example.org." and
"v=DKIM1; k=ed25519; p=..."), answered instead of DNS. Prints one line per
signature and exits 0 only if every signature verifies."""
import sys

import dkim

records = {}
for i in range(2, len(sys.argv) - 1, 2):
    records[sys.argv[i].lower().rstrip(".")] = sys.argv[i + 1]


def dnsfunc(name, timeout=5):
    if isinstance(name, bytes):
        name = name.decode()
    text = records.get(name.lower().rstrip("."))
    return text.encode() if text else None


with open(sys.argv[1], "rb") as f:
    msg = f.read()
d = dkim.DKIM(msg)
count = sum(1 for name, _ in d.headers if name.lower() == b"dkim-signature")
if count == 0:
    print("no DKIM-Signature field")
    sys.exit(1)
ok = True
for i in range(count):
    good = d.verify(idx=i, dnsfunc=dnsfunc)
    print("signature %d: %s" % (i, "pass" if good else "fail"))
    ok = ok and good
sys.exit(0 if ok else 1)
