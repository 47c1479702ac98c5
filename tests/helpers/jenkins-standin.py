#!/usr/bin/env python3
"""A stand-in Jenkins for tests/rca-jenkins.bats: real HTTP, real basic auth.

    jenkins-standin.py PORT-FILE CONFIG-JSON REQUESTS-JSONL

Listens on 127.0.0.1 on a free port and writes the port to PORT-FILE.
CONFIG-JSON is read again on every request, so a test can change how the
server behaves between runs:

    {"prefix": "/jenkins",            Jenkins' root path
     "user": "u", "token": "t",       the only credentials it accepts
     "consoles": {"team/payments/77": "text ..."},  job path and number
     "mode": "ok" | "slow" | "huge" | "redirect" | "echo",
     "delay": 5,                      slow: seconds before any answer
     "huge_bytes": 3145728,           huge: the body's size; its last line is
                                      the console text of the build
     "chunked": false}                huge: no Content-Length (read to the close)

It serves GET PREFIX/job/A/job/B/N/consoleText (folders as Jenkins nests
them), answers 401 (with WWW-Authenticate) without the right credentials,
404 for a build it does not know; "redirect" answers 302 to /elsewhere/...
on the same server; "echo" puts the credentials it was sent into the
console, as a careless build script would. Every request is appended to
REQUESTS-JSONL as {"method", "path", "authorized"}.
"""
import base64
import http.server
import json
import os
import sys
import threading
import time

PORT_FILE, CONFIG, REQUESTS = sys.argv[1], sys.argv[2], sys.argv[3]
LOCK = threading.Lock()


def config():
    with open(CONFIG, encoding="utf-8") as f:
        return json.load(f)


def build_of(path, prefix):
    """PREFIX/job/a/job/b/77/consoleText -> "a/b/77", else None."""
    if not path.startswith(prefix + "/") or not path.endswith("/consoleText"):
        return None
    parts = path[len(prefix) + 1:-len("/consoleText")].split("/")
    if len(parts) < 3 or len(parts) % 2 == 0 or not parts[-1].isdigit():
        return None
    names = parts[:-1]
    if any(names[i] != "job" for i in range(0, len(names), 2)):
        return None
    return "/".join(names[1::2] + [parts[-1]])


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain;charset=UTF-8")
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        cfg = config()
        want = "Basic " + base64.b64encode(
            (cfg.get("user", "") + ":" + cfg.get("token", "")).encode()).decode()
        authorized = self.headers.get("Authorization") == want
        with LOCK, open(REQUESTS, "a", encoding="utf-8") as f:
            f.write(json.dumps({"method": "GET", "path": self.path, "authorized": authorized}) + "\n")
        mode = cfg.get("mode", "ok")
        try:
            if mode == "slow":
                time.sleep(cfg.get("delay", 5))
            if not authorized:
                self.answer(401, b"<html>Unauthorized</html>",
                            [("WWW-Authenticate", 'Basic realm="Jenkins"')])
                return
            if mode == "redirect":
                self.answer(302, b"", [("Location", "http://127.0.0.1:%d/elsewhere%s"
                                        % (self.server.server_port, self.path))])
                return
            build = build_of(self.path, cfg.get("prefix", ""))
            text = cfg.get("consoles", {}).get(build) if build else None
            if text is None:
                self.answer(404, b"<html>Not Found</html>")
                return
            if mode == "echo":
                text = "token=%s\nAuthorization: %s\n%s" % (cfg.get("token"), want, text)
            if mode == "huge":
                self.huge(cfg, text.encode())
                return
            self.answer(200, text.encode())
        except (BrokenPipeError, ConnectionResetError):
            pass

    def huge(self, cfg, last):
        total = cfg.get("huge_bytes", 3 << 20)
        line = b"[INFO] step 0042: nothing to see here, building module foo-bar-baz\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain;charset=UTF-8")
        if not cfg.get("chunked"):
            self.send_header("Content-Length", str(total))
        self.end_headers()
        block = line * (65536 // len(line))
        left = total - len(last)
        while left > 0:
            piece = block[:left]
            self.wfile.write(piece)
            left -= len(piece)
        self.wfile.write(last)


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with open(PORT_FILE + ".tmp", "w", encoding="utf-8") as f:
        f.write("%d\n" % server.server_port)
    os.rename(PORT_FILE + ".tmp", PORT_FILE)
    server.serve_forever()


if __name__ == "__main__":
    main()
