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
import socket
import sys
import time

import conns


def main(argv):
    parsed = conns.parse("idleconns.py", argv, {"--addresses": int, "--ready": str})
    if parsed is None:
        return 2
    opts, port, count, seconds = parsed
    addresses, ready = opts.get("--addresses", 0), opts.get("--ready")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < count + 64:
        sys.stderr.write(f"idleconns.py: the limit of open files is {hard}, below {count + 64}\n")
        return 1
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, count + 64), hard))
    sel = selectors.DefaultSelector()
    pending, opened, closed = {}, set(), 0
    for n in range(count):
        s = conns.client_socket(n, addresses)
        s.setblocking(False)
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
    conns.write_ready(ready, len(opened))
    hold = conns.Hold(seconds)
    while opened and hold.left() > 0:
        for s in conns.closed_by_server(sel, min(hold.left(), 0.5)):
            opened.discard(s)
            s.close()
            closed += 1
    print(f"opened {len(opened) + closed} of {count}, closed {closed} by the server")
    for s in list(opened) + list(pending):
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
