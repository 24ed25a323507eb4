#!/usr/bin/env python3
"""An HTTP/1.1 proxy for S3 tests that fails on purpose.

    faulty-proxy.py --upstream http://127.0.0.1:PORT [--port N]
        [--port-file FILE] [--fail-rate R] [--drop-rate R] [--seed N]
        [--log FILE]

It listens on 127.0.0.1 (port N, or one the system picks: printed on the
first line of standard output and written to FILE) and forwards each request
to the upstream S3 endpoint with its request line and headers as the client
sent them, Host included, so the client signs for the proxy's address and
the signature still holds upstream. Bodies are streamed both ways, whether
framed by Content-Length or chunked; client connections are kept alive.

With probability --fail-rate a request is not forwarded: its body is read
and dropped, and the client gets S3's own 503 SlowDown or 500 InternalError
(half and half). With probability --drop-rate a request is forwarded but the
connection is cut halfway through the response body (or, for a response
without a body, before the response). --seed makes the sequence repeatable.
--log FILE gets one line per request: "forward", "fail 503", "fail 500" or
"drop", then the method and path.
"""

import argparse
import http.client
import http.server
import os
import random
import socket
import sys
import threading
import urllib.parse
import uuid

CHUNK = 64 * 1024
# Not passed on: they concern one hop only. Expect is answered here (the
# server sends 100 Continue before the body is read); S3 does not sign it.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization",
              "proxy-authenticate", "te", "trailer", "upgrade", "expect"}

ERRORS = [
    (503, "Slow Down", "SlowDown", "Please reduce your request rate."),
    (500, "Internal Server Error", "InternalError",
     "We encountered an internal error. Please try again."),
]


class Faults:
    def __init__(self, fail_rate, drop_rate, seed, log):
        self.fail_rate = fail_rate
        self.drop_rate = drop_rate
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.log = log

    def choose(self):
        """'fail' with a status, 'drop' or 'forward', for the next request."""
        with self.lock:
            r = self.rng.random()
            if r < self.fail_rate:
                return "fail", self.rng.choice(ERRORS)
            if r < self.fail_rate + self.drop_rate:
                return "drop", None
            return "forward", None

    def note(self, what, method, path):
        if self.log is None:
            return
        with self.lock:
            self.log.write(f"{what} {method} {path}\n")
            self.log.flush()


class Dropped(Exception):
    """The connection is cut on purpose."""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 300

    def log_message(self, format, *args):
        pass

    def setup(self):
        super().setup()
        self.upstream = None

    def finish(self):
        super().finish()
        if self.upstream is not None:
            self.upstream.close()

    # --- the request body --------------------------------------------------

    def body_chunks(self):
        """The request body as it comes, framing bytes included: what is to
        be sent upstream unchanged."""
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            while True:
                line = self.rfile.readline(1024)
                if not line.endswith(b"\n"):
                    raise ConnectionError("bad chunk size line")
                yield line
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    # Trailers, up to the empty line.
                    while True:
                        t = self.rfile.readline(8192)
                        if not t.endswith(b"\n"):
                            raise ConnectionError("bad trailer")
                        yield t
                        if t in (b"\r\n", b"\n"):
                            return
                left = size + 2
                while left > 0:
                    data = self.rfile.read(min(CHUNK, left))
                    if not data:
                        raise ConnectionError("body cut short")
                    left -= len(data)
                    yield data
        else:
            left = int(self.headers.get("Content-Length", "0") or 0)
            while left > 0:
                data = self.rfile.read(min(CHUNK, left))
                if not data:
                    raise ConnectionError("body cut short")
                left -= len(data)
                yield data

    # --- answers -----------------------------------------------------------

    def send_s3_error(self, error):
        status, reason, code, message = error
        rid = uuid.uuid4().hex[:16].upper()
        resource = urllib.parse.urlsplit(self.path).path
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{code}</Code><Message>{message}</Message>"
                f"<Resource>{resource}</Resource><RequestId>{rid}</RequestId>"
                f"<HostId>{rid}</HostId></Error>").encode()
        head = (f"HTTP/1.1 {status} {reason}\r\n"
                "Content-Type: application/xml\r\n"
                f"Content-Length: {len(body)}\r\n"
                f"x-amz-request-id: {rid}\r\n")
        if status == 503:
            head += "Retry-After: 1\r\n"
        if self.close_connection:
            head += "Connection: close\r\n"
        self.wfile.write(head.encode() + b"\r\n")
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def connect_upstream(self):
        if self.upstream is None:
            u = self.server.upstream
            self.upstream = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
        return self.upstream

    def forward(self, drop):
        conn = self.connect_upstream()
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for name, value in self.headers.items():
            if name.lower() not in HOP_BY_HOP:
                conn.putheader(name, value)
        conn.endheaders()
        for data in self.body_chunks():
            conn.send(data)
        resp = conn.getresponse()

        headers = [(n, v) for n, v in resp.getheaders()
                   if n.lower() not in HOP_BY_HOP and n.lower() != "transfer-encoding"]
        no_body = (self.command == "HEAD" or resp.status in (204, 304)
                   or 100 <= resp.status < 200)
        length = resp.getheader("Content-Length")
        chunked = not no_body and length is None and resp.chunked
        if resp.will_close:
            self.close_connection = True
        if not no_body and length is None and not chunked:
            # Framed by the end of the connection: so it is here too.
            self.close_connection = True

        if drop and (no_body or length in (None, "0")):
            resp.read()
            raise Dropped()
        head = f"HTTP/1.1 {resp.status} {resp.reason}\r\n"
        for n, v in headers:
            head += f"{n}: {v}\r\n"
        if chunked:
            head += "Transfer-Encoding: chunked\r\n"
        if self.close_connection:
            head += "Connection: close\r\n"
        self.wfile.write(head.encode() + b"\r\n")

        sent = 0
        cut = int(length) // 2 if drop else None
        while not no_body:
            data = resp.read1(CHUNK) if hasattr(resp, "read1") else resp.read(CHUNK)
            if not data:
                break
            if cut is not None and sent + len(data) >= cut:
                self.wfile.write(data[:cut - sent])
                self.wfile.flush()
                raise Dropped()
            if chunked:
                self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")
            else:
                self.wfile.write(data)
            sent += len(data)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        if resp.will_close:
            conn.close()
            self.upstream = None

    def handle_one(self):
        faults = self.server.faults
        what, error = faults.choose()
        try:
            if what == "fail":
                for _ in self.body_chunks():
                    pass
                faults.note(f"fail {error[0]}", self.command, self.path)
                self.send_s3_error(error)
                return
            faults.note(what, self.command, self.path)
            try:
                self.forward(what == "drop")
            except (http.client.HTTPException, OSError) as e:
                # The client or the upstream went away: the client sees the connection end.
                if self.upstream is not None:
                    self.upstream.close()
                    self.upstream = None
                raise Dropped() from e
        except (Dropped, OSError):
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_OPTIONS = handle_one



class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def rate(text):
    r = float(text)
    if not 0.0 <= r <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return r


def main():
    p = argparse.ArgumentParser(description="An HTTP/1.1 proxy that fails on purpose.")
    p.add_argument("--upstream", required=True, help="http://HOST:PORT of the S3 endpoint")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    p.add_argument("--port-file", help="write the port to this file once listening")
    p.add_argument("--fail-rate", type=rate, default=0.0)
    p.add_argument("--drop-rate", type=rate, default=0.0)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--log", help="one line per request to this file")
    a = p.parse_args()
    if a.fail_rate + a.drop_rate > 1.0:
        p.error("--fail-rate and --drop-rate add up to more than 1")
    u = urllib.parse.urlsplit(a.upstream)
    if u.scheme != "http" or not u.hostname or not u.port:
        p.error(f"--upstream must be http://HOST:PORT, not {a.upstream!r}")

    log = open(a.log, "a") if a.log else None
    try:
        server = Server(("127.0.0.1", a.port), Handler)
    except OSError as e:
        print(f"faulty-proxy.py: cannot listen on 127.0.0.1:{a.port}: {e.strerror}",
              file=sys.stderr)
        return 1
    server.upstream = u
    server.faults = Faults(a.fail_rate, a.drop_rate, a.seed, log)
    port = server.server_address[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, a.port_file)
    print(port, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
