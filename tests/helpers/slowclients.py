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
import signal
import socket
import sys
import time


def main(argv):
    mode, interval, addresses, ready, token = "head", 0.5, 0, None, ""
    while argv and argv[0].startswith("--"):
        opt = argv.pop(0)
        val = argv.pop(0)
        if opt == "--mode":
            mode = val
        elif opt == "--interval":
            interval = float(val)
        elif opt == "--addresses":
            addresses = int(val)
        elif opt == "--ready":
            ready = val
        elif opt == "--token":
            token = val
        else:
            sys.stderr.write(f"slowclients.py: unknown option {opt}\n")
            return 2
    port, count, seconds = int(argv[0]), int(argv[1]), float(argv[2])
    if mode in ("head", "leave"):
        start = b"POST /api/webhooks/grafana HTTP/1.1\r\nHost: t\r\n"
    else:
        start = (f"POST /api/webhooks/grafana?token={token} HTTP/1.1\r\nHost: t\r\n"
                 "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n").encode()
    sel = selectors.DefaultSelector()
    socks = []
    for n in range(count):
        s = socket.socket()
        if addresses:
            s.bind((f"127.0.1.{n % addresses + 1}", 0))
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
    if ready:
        with open(ready, "w") as f:
            f.write(f"open {count}\n")
    if mode == "leave":
        print(f"left {count}")
        return 0
    closed = set()
    end = time.monotonic() + seconds

    def stop(signum, frame):
        nonlocal end
        end = 0

    signal.signal(signal.SIGTERM, stop)
    next_byte = time.monotonic() + interval
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=max(0.0, min(end, next_byte) - time.monotonic())):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                closed.add(s)
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
