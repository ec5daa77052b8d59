"""Drive a POP3 server with Python's poplib and print what it saw as JSON.

Usage: poplib_client.py HOST PORT ssl|stls USER PASSWORD
"""
import json
import poplib
import ssl
import sys


def main():
    host, port, mode, user, password = sys.argv[1:6]
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the test's certificate is self-signed
    out = {}
    if mode == "ssl":
        p = poplib.POP3_SSL(host, int(port), context=ctx, timeout=10)
    else:
        p = poplib.POP3(host, int(port), timeout=10)
        out["capa_before_tls"] = sorted(p.capa())
        out["stls"] = p.stls(context=ctx).decode()
    out["welcome"] = p.getwelcome().decode()
    out["capa"] = sorted(p.capa())
    out["user"] = p.user(user).decode()
    out["pass"] = p.pass_(password).decode()
    out["stat"] = list(p.stat())
    _, lines, _ = p.list()
    out["list"] = [l.decode() for l in lines]
    _, lines, _ = p.uidl()
    out["uidl"] = [l.decode() for l in lines]
    _, lines, _ = p.top(1, 1)
    out["top"] = [l.decode() for l in lines]
    resp, lines, octets = p.retr(1)
    out["retr_resp"] = resp.decode()
    out["retr"] = [l.decode() for l in lines]
    out["retr_octets"] = octets
    out["dele"] = p.dele(1).decode()
    out["stat_after_dele"] = list(p.stat())
    out["quit"] = p.quit().decode()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
