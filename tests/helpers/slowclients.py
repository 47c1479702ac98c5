#!/usr/bin/env python3
"""slowclients.py - slow clients (slowloris) against 127.0.0.1:PORT.

    slowclients.py [--mode head|body|leave] [--interval SEC] [--addresses N]
                   [--ready FILE] [--token T] PORT COUNT SECONDS

Opens COUNT connections, the Nth from 127.0.1.(N % ADDRESSES + 1) when
--addresses is given (else all from 127.0.0.1). Each sends the start of a
webhook request - the request line and a Host header (head mode, the
default), or a whole head announcing a 100-byte body (body mode, with
?token=T) - then one more byte every --interval seconds (default 0.5),
never finishing; in leave mode, the start of a head and then a close at
once, one connection after another (clients that give up; SECONDS is not
used). Once all are open it writes "open COUNT" to --ready FILE.
After SECONDS, or at SIGTERM, it prints "closed N of COUNT" (N: the
connections the server closed) and exits 0; exit 1 when a connection could
not be opened.
"""
import selectors
import sys
import time

import conns


def main(argv):
    parsed = conns.parse("slowclients.py", argv, {"--mode": str, "--interval": float, "--addresses": int,
                                                  "--ready": str, "--token": str})
    if parsed is None:
        return 2
    opts, port, count, seconds = parsed
    mode, interval = opts.get("--mode", "head"), opts.get("--interval", 0.5)
    addresses, ready, token = opts.get("--addresses", 0), opts.get("--ready"), opts.get("--token", "")
    if mode in ("head", "leave"):
        start = b"POST /api/webhooks/grafana HTTP/1.1\r\nHost: t\r\n"
    else:
        start = (f"POST /api/webhooks/grafana?token={token} HTTP/1.1\r\nHost: t\r\n"
                 "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n").encode()
    sel = selectors.DefaultSelector()
    socks = []
    for n in range(count):
        s = conns.client_socket(n, addresses)
        try:
            s.connect(("127.0.0.1", port))
            s.sendall(start)
        except OSError as e:
            sys.stderr.write(f"slowclients.py: connection {n}: {e}\n")
            return 1
        if mode == "leave":
            s.close()
            continue
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        socks.append(s)
    conns.write_ready(ready, count)
    if mode == "leave":
        print(f"left {count}")
        return 0
    closed = set()
    hold = conns.Hold(seconds)
    next_byte = time.monotonic() + interval
    while hold.left() > 0:
        closed.update(conns.closed_by_server(sel, min(hold.end, next_byte) - time.monotonic()))
        if time.monotonic() >= next_byte:
            next_byte += interval
            for s in socks:
                if s not in closed:
                    try:
                        s.send(b"x" if mode == "head" else b" ")
                    except OSError:
                        sel.unregister(s)
                        closed.add(s)
    print(f"closed {len(closed)} of {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
