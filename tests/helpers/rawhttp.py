#!/usr/bin/env python3
"""rawhttp.py - send raw bytes to 127.0.0.1:PORT and print what comes back.

    rawhttp.py [--timeout SEC] [--pause SEC] [--after-100] [--ready FILE] PORT PIECE...

Each PIECE is text with backslash escapes (\\r, \\n, \\xNN), sent in order on
one connection; --pause waits between pieces. --after-100 sends the first
piece, then waits for an interim "HTTP/1.1 100 Continue" answer before the
rest (it fails when none comes). --ready writes FILE once the first piece
is sent, for a caller that must act while the request is under way (a
busy machine can take longer to start python than a fixed sleep allows).
Then it reads until the server closes the
connection or --timeout (default 5) passes, and writes every byte received
to stdout. Exit status: 0 when the server closed the connection, 3 on the
timeout, 4 when --after-100 saw no interim answer.
"""
import socket
import sys
import time


def unescape(text):
    return text.encode("latin-1").decode("unicode_escape").encode("latin-1")


def main(argv):
    timeout, pause, after_100, ready = 5.0, 0.0, False, None
    while argv and argv[0].startswith("--"):
        opt = argv.pop(0)
        if opt == "--timeout":
            timeout = float(argv.pop(0))
        elif opt == "--pause":
            pause = float(argv.pop(0))
        elif opt == "--after-100":
            after_100 = True
        elif opt == "--ready":
            ready = argv.pop(0)
        else:
            sys.stderr.write(f"rawhttp.py: unknown option {opt}\n")
            return 2
    port, pieces = int(argv[0]), [unescape(p) for p in argv[1:]]
    got = b""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        deadline = time.monotonic() + timeout
        for i, piece in enumerate(pieces):
            if i > 0 and pause:
                time.sleep(pause)
            try:
                s.sendall(piece)
            except OSError:
                break
            if i == 0 and ready:
                with open(ready, "w") as f:
                    f.write("sent\n")
            if i == 0 and after_100:
                while b"\r\n\r\n" not in got:
                    s.settimeout(max(deadline - time.monotonic(), 0.01))
                    try:
                        chunk = s.recv(65536)
                    except socket.timeout:
                        chunk = b""
                    if not chunk:
                        sys.stdout.buffer.write(got)
                        return 4
                    got += chunk
        rc = 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                rc = 3
                break
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                rc = 3
                break
            except OSError:
                break
            if not chunk:
                break
            got += chunk
    sys.stdout.buffer.write(got)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
