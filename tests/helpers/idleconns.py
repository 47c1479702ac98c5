#!/usr/bin/env python3
"""idleconns.py - many idle connections to 127.0.0.1:PORT.

    idleconns.py [--addresses N] [--ready FILE] PORT COUNT SECONDS

Opens COUNT connections that send nothing, the nth from 127.0.1.(n % N + 1)
when --addresses is given (else all from 127.0.0.1), raising its own limit
of open files to fit. The connects are non-blocking, so a full accept queue
only delays them. Once every connect has ended (connected, refused or reset)
it writes "open N" to --ready FILE. Then it holds them for SECONDS, or until
SIGTERM, and prints "opened N of COUNT, closed M by the server" before it
closes the rest and exits 0; exit 1 when its own limits do not allow COUNT.
"""
import errno
import resource
import selectors
import signal
import socket
import sys
import time


def main(argv):
    addresses, ready = 0, None
    while argv and argv[0].startswith("--"):
        opt, val = argv.pop(0), argv.pop(0)
        if opt == "--addresses":
            addresses = int(val)
        elif opt == "--ready":
            ready = val
        else:
            sys.stderr.write(f"idleconns.py: unknown option {opt}\n")
            return 2
    port, count, seconds = int(argv[0]), int(argv[1]), float(argv[2])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < count + 64:
        sys.stderr.write(f"idleconns.py: the limit of open files is {hard}, below {count + 64}\n")
        return 1
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, count + 64), hard))
    sel = selectors.DefaultSelector()
    pending, opened, closed = {}, set(), 0
    for n in range(count):
        s = socket.socket()
        s.setblocking(False)
        if addresses:
            s.bind((f"127.0.1.{n % addresses + 1}", 0))
        rc = s.connect_ex(("127.0.0.1", port))
        if rc not in (0, errno.EINPROGRESS):
            s.close()
            continue
        pending[s] = True
        sel.register(s, selectors.EVENT_WRITE)
    deadline = time.monotonic() + 60
    while pending and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            sel.unregister(s)
            del pending[s]
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                opened.add(s)
            else:
                s.close()
    for s in opened:
        sel.register(s, selectors.EVENT_READ)
    if ready:
        with open(ready, "w") as f:
            f.write(f"open {len(opened)}\n")
    end = time.monotonic() + seconds

    def stop(signum, frame):
        nonlocal end
        end = 0

    signal.signal(signal.SIGTERM, stop)
    while opened and time.monotonic() < end:
        for key, _ in sel.select(timeout=max(0.0, min(end - time.monotonic(), 0.5))):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                opened.discard(s)
                s.close()
                closed += 1
    print(f"opened {len(opened) + closed} of {count}, closed {closed} by the server")
    for s in list(opened) + list(pending):
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
