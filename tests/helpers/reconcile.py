#!/usr/bin/env python3
"""reconcile.py - what senders were answered against what the inbox holds.

    reconcile.py DB SENDLOG...

Each SENDLOG line is "BODYFILE CODE ANSWERFILE": a delivery a sender made,
the HTTP status it got (000: no answer at all) and the file holding the
answer's body. The rules (issue 8, "the answer is always the truth"):
  - every status is 202, 503 or 000 (never 500, nor anything else);
  - every 202 names an inbox row holding exactly the body sent, with the
    body's SHA-256 in body_sha256;
  - every inbox row holds a body some sender sent, byte for byte, with its
    SHA-256, and that delivery was answered 202 with the row's id, or got
    no answer at all (000): never a row for a delivery answered otherwise.
Prints one line per violation and a summary line; exit 0 when there is
none, 1 otherwise, 2 on misuse.
"""
import hashlib
import json
import sqlite3
import sys


def main(argv):
    if len(argv) < 2:
        sys.stderr.write("usage: reconcile.py DB SENDLOG...\n")
        return 2
    bad = []
    sent = {}  # body bytes -> (file, code, id or None)
    counts = {}
    for log in argv[1:]:
        with open(log) as f:
            for line in f:
                path, code, answer = line.split()
                with open(path, "rb") as b:
                    body = b.read()
                ident = None
                counts[code] = counts.get(code, 0) + 1
                if code == "202":
                    try:
                        with open(answer) as a:
                            ident = json.load(a)["id"]
                    except (OSError, ValueError, KeyError) as e:
                        bad.append(f"{path}: 202 without an id in its answer ({e})")
                elif code not in ("503", "000"):
                    bad.append(f"{path}: answered {code}")
                if body in sent:
                    bad.append(f"{path}: the same body was sent twice (the test is wrong)")
                sent[body] = (path, code, ident)
    db = sqlite3.connect(f"file:{argv[0]}?mode=ro", uri=True)
    rows = {}
    for rid, body, sha in db.execute("SELECT id, body, body_sha256 FROM inbox"):
        body = body if isinstance(body, bytes) else body.encode()
        rows[rid] = body
        if hashlib.sha256(body).hexdigest() != sha:
            bad.append(f"row {rid}: body_sha256 {sha} is not the hash of its body")
        if body not in sent:
            bad.append(f"row {rid}: a body nobody sent: {body[:80]!r}")
            continue
        path, code, ident = sent[body]
        if code == "202" and ident != rid:
            bad.append(f"row {rid}: {path} was answered 202 with id {ident}")
        elif code not in ("202", "000"):
            bad.append(f"row {rid}: {path} is stored but was answered {code}")
    for body, (path, code, ident) in sent.items():
        if code == "202" and ident is not None and rows.get(ident) != body:
            bad.append(f"{path}: answered 202 id {ident}, but row {ident} "
                       + ("does not exist" if ident not in rows else "holds another body"))
    for b in bad[:50]:
        print(b)
    summary = ", ".join(f"{n} answered {c}" for c, n in sorted(counts.items()))
    print(f"reconcile: {len(rows)} rows, {summary}; {len(bad)} violations")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
