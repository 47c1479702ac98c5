#!/usr/bin/env python3
"""notify_sink - the webhook receiver Prometheus Alertmanager notifies in
scripts/bench-peer.

Answers every POST with 200 and, for each alert of the notification, prints
one line: the milliseconds from the alert's startsAt to the moment the
notification's body was read, then the alert name. Alertmanager sets
startsAt to the time it received an alert that came without one, so the
figure is "Alertmanager had the alert" to "its notification arrived", the
same span scripts/bench-peer measures for aurora (inbox.received_ms to the
decision line). Not part of aurora.

    notify_sink.py PORTFILE   listens on 127.0.0.1:0, writes the port to PORTFILE
"""
import json
import os
import re
import sys
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


STAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


def epoch_ms(stamp):
    """RFC 3339 with up to nanoseconds, as Go prints it, to epoch milliseconds."""
    m = STAMP.match(stamp)
    if not m:
        raise ValueError(stamp)
    whole = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    ms = whole.timestamp() * 1000 + float("0." + (m.group(2) or "0")) * 1000
    zone = m.group(3)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        ms -= sign * (int(zone[1:3]) * 60 + int(zone[4:6])) * 60000
    return ms


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        now = time.time() * 1000
        try:
            alerts = json.loads(body).get("alerts", [])
        except ValueError:
            alerts = []
        lines = []
        for alert in alerts:
            try:
                lines.append("%.3f %s\n" % (now - epoch_ms(alert["startsAt"]),
                                            alert["labels"].get("alertname", "")))
            except (KeyError, ValueError):
                continue
        sys.stdout.write("".join(lines))
        sys.stdout.flush()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    server.daemon_threads = True
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
