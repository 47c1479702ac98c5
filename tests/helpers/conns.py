"""conns.py - what the connection-holding clients share (idleconns.py,
slowclients.py): their command line, a client socket from one of several
loopback addresses, the --ready file, the hold that ends after SECONDS or
at SIGTERM, and telling which connections the server closed.

Imported from the scripts' own folder (tests/helpers), not run.
"""
import signal
import socket
import sys
import time


def parse(name, argv, options):
    """The "--option VALUE" pairs that lead argv, then PORT COUNT SECONDS.

    options maps each option to the function that converts its value.
    Returns ({option: value}, port, count, seconds), or None after a
    message on stderr for an option that is not one of options."""
    values = {}
    while argv and argv[0].startswith("--"):
        opt, val = argv.pop(0), argv.pop(0)
        if opt not in options:
            sys.stderr.write(f"{name}: unknown option {opt}\n")
            return None
        values[opt] = options[opt](val)
    return values, int(argv[0]), int(argv[1]), float(argv[2])


def client_socket(n, addresses):
    """A TCP socket for the nth connection, bound to 127.0.1.(n % addresses + 1)
    when addresses is not 0 (else the kernel picks, from 127.0.0.1)."""
    s = socket.socket()
    if addresses:
        s.bind((f"127.0.1.{n % addresses + 1}", 0))
    return s


def write_ready(path, count):
    """Write "open COUNT" into path, when there is one."""
    if path:
        with open(path, "w") as f:
            f.write(f"open {count}\n")


class Hold:
    """The time connections are held: SECONDS from now, or up to SIGTERM."""

    def __init__(self, seconds):
        self.end = time.monotonic() + seconds
        signal.signal(signal.SIGTERM, self.stop)

    def stop(self, signum, frame):
        self.end = 0

    def left(self):
        """The seconds left (0 or less: over)."""
        return self.end - time.monotonic()


def closed_by_server(sel, timeout):
    """Wait up to timeout seconds for the sockets of sel to be readable;
    read what came (and drop it). Returns the sockets the server closed (an
    end of file or an error), unregistered from sel and left open."""
    gone = []
    for key, _ in sel.select(timeout=max(0.0, timeout)):
        s = key.fileobj
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if not data:
            sel.unregister(s)
            gone.append(s)
    return gone
