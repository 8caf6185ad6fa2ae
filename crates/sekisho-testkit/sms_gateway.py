"""A stand-in SMS gateway for tests (sekisho_testkit::SmsGatewayDouble). Python 3 stdlib only.

Usage: python3 sms_gateway.py DIR

Listens on 127.0.0.1 on a port the OS picks and, once listening, writes that port to DIR/port
(through a rename, so a reader never sees half of it). Every POST, to any path, is appended as
one JSON line to DIR/requests.jsonl *before* the answer is sent, so once a client has its answer
the request is on record:

    {"path": ..., "authorization": ..., "content_type": ..., "body": ..., "form": ...}

`body` is the raw body as UTF-8; `form` is the body decoded by urllib.parse.parse_qsl when the
Content-Type is application/x-www-form-urlencoded (null otherwise, or when it does not decode).
The answer's status is the number in DIR/status (200 when that file does not exist), read
afresh for every request.
"""

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

DIR = sys.argv[1]
REQUESTS = os.path.join(DIR, "requests.jsonl")
STATUS = os.path.join(DIR, "status")
LOCK = threading.Lock()


def answer_status():
    try:
        with open(STATUS, encoding="ascii") as f:
            return int(f.read().strip())
    except FileNotFoundError:
        return 200


def decode_form(body, content_type):
    if content_type is None:
        return None
    if content_type.split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        return None
    try:
        return parse_qsl(body, keep_blank_values=True, strict_parsing=True, errors="strict")
    except ValueError:
        return None


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", errors="replace")
        content_type = self.headers.get("Content-Type")
        record = {
            "path": self.path,
            "authorization": self.headers.get("Authorization"),
            "content_type": content_type,
            "body": body,
            "form": decode_form(body, content_type),
        }
        status = answer_status()
        with LOCK:
            with open(REQUESTS, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
        reply = json.dumps({"status": status}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = os.path.join(DIR, "port.tmp")
    with open(tmp, "w", encoding="ascii") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, os.path.join(DIR, "port"))
    server.serve_forever()


if __name__ == "__main__":
    main()
