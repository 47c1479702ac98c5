#!/usr/bin/env python3
"""llm-hostile.py - an LLM endpoint that misbehaves below HTTP's level.

    llm-hostile.py MODE PORT_FILE LOG

Listens on 127.0.0.1 (a free port, written to PORT_FILE through a rename)
and answers every connection by MODE:
  reset     reads the request, then resets the connection (RST, no answer)
  garbage   answers 200 text/event-stream, then random bytes, then closes
  endless   answers 200 text/event-stream and streams content deltas that
            never end (one every 10 ms)
  status    answers a status line that is not HTTP, then closes
Each request's first line is appended to LOG. tests/helpers/llm-standin.py
is the well-behaved (and scripted) one.
"""
import os
import random
import socket
import struct
import sys
import threading
import time


def read_request(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head


def serve(conn, mode, log):
    try:
        head = read_request(conn)
        with open(log, "a") as f:
            f.write(head.split(b"\r\n")[0].decode("latin-1") + "\n")
        if mode == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif mode == "garbage":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
            rnd = random.Random(14)
            conn.sendall(bytes(rnd.getrandbits(8) for _ in range(65536)))
        elif mode == "endless":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
            delta = b'data: {"choices":[{"index":0,"delta":{"content":"more "},"finish_reason":null}]}\n\n'
            while True:
                conn.sendall(delta)
                time.sleep(0.01)
        elif mode == "status":
            conn.sendall(b"HTTQ/9 2OO \x00\xff\r\n\r\n")
    except OSError:
        pass
    finally:
        conn.close()


def main(argv):
    mode, port_file, log = argv
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.getsockname()[1])
    os.rename(port_file + ".tmp", port_file)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, mode, log), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
