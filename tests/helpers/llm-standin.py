#!/usr/bin/env python3
"""A stand-in LLM server: OpenAI chat completions and Anthropic messages, streamed.

It speaks both wire protocols as the providers stream them: POST
.../chat/completions answers `data: {chat.completion.chunk}` lines with
choices[0].delta.content and delta.tool_calls fragments (index, id,
function.name, function.arguments pieces), a finish_reason and `data: [DONE]`;
POST .../messages answers the Anthropic events (message_start,
content_block_start/delta/stop with text_delta and input_json_delta, ping,
message_delta with stop_reason, message_stop).

What it answers is scripted: SCRIPT is a JSON list of turns; each request
takes the next turn, whichever endpoint it came to. A turn is an object:
  text          list of text pieces, one delta each
  tool_calls    [{id, name, arguments (object, or a string sent as it is)}]
  pieces        how many pieces to cut each call's arguments into (default 3)
  stop          the stop word (default: stop/end_turn, tool_calls/tool_use)
  status        answer this HTTP status instead (with error_message and,
                when given, retry_after seconds as a Retry-After header)
  truncate      send only this many events, then close
  malformed     put this text in place of the second event's data
  raw           send this text as the whole event-stream body
  hang          sleep this many seconds after the headers, before any event
  write_bytes   write the body in pieces of this many bytes (default: whole events)
  content_type  send this Content-Type instead of text/event-stream
Past the end of the script it answers 500.

Each request is appended to LOG as one JSON line: path, query, the headers
that matter (authorization, api-key, x-api-key, anthropic-version,
content-type, accept), the body, and every other header's name and value in
"others" (so a test can check where a key went and where it did not).

usage: llm-standin.py PORT_FILE SCRIPT LOG
"""
import http.server
import json
import os
import sys
import threading
import time

KEPT = ("authorization", "api-key", "x-api-key", "anthropic-version", "content-type", "accept")
lock = threading.Lock()
turn_no = [0]


def split(s, n):
    n = max(1, min(n, len(s) or 1))
    step = -(-len(s) // n) if s else 1
    return [s[i:i + step] for i in range(0, len(s), step)] or [""]


def openai_events(turn, model):
    base = {"id": "chatcmpl-standin", "object": "chat.completion.chunk", "created": 1767000000, "model": model}

    def chunk(delta, finish=None):
        return dict(base, choices=[{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}])

    out = [chunk({"role": "assistant", "content": ""})]
    for piece in turn.get("text", []):
        out.append(chunk({"content": piece}))
    calls = turn.get("tool_calls", [])
    for k, call in enumerate(calls):
        args = call["arguments"] if isinstance(call["arguments"], str) else json.dumps(call["arguments"])
        out.append(chunk({"tool_calls": [{"index": k, "id": call["id"], "type": "function",
                                          "function": {"name": call["name"], "arguments": ""}}]}))
        for piece in split(args, turn.get("pieces", 3)):
            out.append(chunk({"tool_calls": [{"index": k, "function": {"arguments": piece}}]}))
    out.append(chunk({}, turn.get("stop", "tool_calls" if calls else "stop")))
    return ["data: %s\n\n" % json.dumps(e) for e in out] + ["data: [DONE]\n\n"]


def anthropic_events(turn, model):
    out = [("message_start", {"type": "message_start", "message": {
        "id": "msg_standin", "type": "message", "role": "assistant", "content": [], "model": model,
        "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 1}}})]
    index = 0
    if turn.get("text"):
        out.append(("content_block_start", {"type": "content_block_start", "index": 0,
                                            "content_block": {"type": "text", "text": ""}}))
        out.append(("ping", {"type": "ping"}))
        for piece in turn["text"]:
            out.append(("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                "delta": {"type": "text_delta", "text": piece}}))
        out.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
        index = 1
    calls = turn.get("tool_calls", [])
    for call in calls:
        args = call["arguments"] if isinstance(call["arguments"], str) else json.dumps(call["arguments"])
        out.append(("content_block_start", {"type": "content_block_start", "index": index, "content_block": {
            "type": "tool_use", "id": call["id"], "name": call["name"], "input": {}}}))
        for piece in split(args, turn.get("pieces", 3)):
            out.append(("content_block_delta", {"type": "content_block_delta", "index": index,
                                                "delta": {"type": "input_json_delta", "partial_json": piece}}))
        out.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        index += 1
    out.append(("message_delta", {"type": "message_delta", "delta": {
        "stop_reason": turn.get("stop", "tool_use" if calls else "end_turn"), "stop_sequence": None},
        "usage": {"output_tokens": 15}}))
    out.append(("message_stop", {"type": "message_stop"}))
    return ["event: %s\ndata: %s\n\n" % (name, json.dumps(data)) for name, data in out]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        path, _, query = self.path.partition("?")
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        with lock:
            with open(LOG, "a") as log:
                log.write(json.dumps({
                    "path": path, "query": query,
                    "headers": {h: self.headers.get(h) for h in KEPT},
                    "others": {k.lower(): v for k, v in self.headers.items() if k.lower() not in KEPT},
                    "body": body}) + "\n")
            turn = SCRIPT[turn_no[0]] if turn_no[0] < len(SCRIPT) else {"status": 500,
                                                                       "error_message": "script exhausted"}
            turn_no[0] += 1
        anthropic = path.endswith("/messages")
        model = body.get("model", "") if isinstance(body, dict) else ""
        if "status" in turn:
            msg = turn.get("error_message", "scripted failure")
            err = ({"type": "error", "error": {"type": "api_error", "message": msg}} if anthropic
                   else {"error": {"message": msg, "type": "server_error", "code": None}})
            out = json.dumps(err).encode()
            self.send_response(turn["status"])
            if "retry_after" in turn:
                self.send_header("Retry-After", str(turn["retry_after"]))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
            return
        if "raw" in turn:
            events = [turn["raw"]]
        else:
            events = anthropic_events(turn, model) if anthropic else openai_events(turn, model)
        if "malformed" in turn and len(events) > 1:
            events[1] = "data: %s\n\n" % turn["malformed"]
        if "truncate" in turn:
            events = events[:turn["truncate"]]
        self.send_response(200)
        self.send_header("Content-Type", turn.get("content_type", "text/event-stream"))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.flush()
        if "hang" in turn:
            time.sleep(turn["hang"])
        data = "".join(events).encode()
        step = turn.get("write_bytes")
        try:
            if step:
                for i in range(0, len(data), step):
                    self.wfile.write(data[i:i + step])
                    self.wfile.flush()
                    time.sleep(0.001)
            else:
                for e in events:
                    self.wfile.write(e.encode())
                    self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


with open(sys.argv[2]) as f:
    SCRIPT = json.load(f)
LOG = sys.argv[3]
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % server.server_address[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
