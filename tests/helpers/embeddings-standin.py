#!/usr/bin/env python3
"""A stand-in for an OpenAI-compatible embeddings endpoint (POST /v1/embeddings).

It speaks the real wire protocol: {"model", "input"} in, {"object": "list",
"data": [{"object": "embedding", "index": 0, "embedding": [...]}], "model",
"usage"} out. Embeddings are deterministic: words hashed into 64 dimensions.
Each request is appended to LOG as one JSON line (path, authorization, body).

usage: embeddings-standin.py PORT_FILE LOG
"""
import hashlib
import http.server
import json
import re
import sys

DIMS = 64


def embed(text):
    v = [0.0] * DIMS
    for w in re.findall(r"[a-z0-9]+", text.lower()):
        h = int(hashlib.sha256(w.encode()).hexdigest(), 16)
        v[h % DIMS] += 1.0 if (h >> 8) & 1 else -1.0
    return v


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        with open(sys.argv[2], "a") as log:
            log.write(json.dumps({"path": self.path, "authorization": self.headers.get("Authorization"),
                                  "body": json.loads(raw or b"null")}) + "\n")
        try:
            req = json.loads(raw)
            text = req["input"] if isinstance(req["input"], str) else req["input"][0]
        except (ValueError, KeyError, IndexError, TypeError):
            self.send_response(400)
            self.end_headers()
            return
        out = json.dumps({"object": "list", "model": req.get("model"),
                          "data": [{"object": "embedding", "index": 0, "embedding": embed(text)}],
                          "usage": {"prompt_tokens": len(text.split()), "total_tokens": len(text.split())}})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out.encode())

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % server.server_address[1])
import os  # noqa: E402
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
