"""A fault-injecting HTTP proxy for tests: forwards to one loopback service, breaks chosen requests.

    with FaultProxy("http://127.0.0.1:4566") as proxy:
        proxy.add("GET", r"/dt=2024-01-17/", Fault.error(500), count=2)   # the first two GETs
        ... point a client at proxy.url ...
        assert proxy.faulted("GET", r"/dt=2024-01-17/") == 2

Rules match a method and a regex searched in the unquoted path (with its query); each rule
breaks the matches numbered `nth` .. `nth + count - 1` (1-based), or every match from `nth` on
when `count` is None. Faults: an HTTP error status (with a body shaped like the service's own
errors), an S3 `SlowDown`, a connection reset before forwarding (the service never sees the
request), a reset after forwarding (the service applied it, the answer is lost), and latency.
The proxy listens on 127.0.0.1 only, forwards to loopback targets only, bounds its connections,
bodies and request log, and stops itself after `lifetime` seconds if nobody stopped it.
"""

from __future__ import annotations

import http.client
import re
import socket
import struct
import threading
import time
from collections import deque
from contextlib import suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "expect",
    "content-length",
}
FaultKind = Literal["status", "reset", "reset_after", "delay"]


@dataclass(frozen=True)
class Fault:
    """What to do to a matching request instead of (or on top of) forwarding it."""

    kind: FaultKind
    status: int = 0
    body: bytes = b""
    content_type: str = "text/plain"
    seconds: float = 0.0

    @classmethod
    def error(cls, status: int = 500, service: Literal["s3", "mlflow"] = "s3") -> Fault:
        """An HTTP error answer shaped like the service's own (S3 XML or MLflow JSON)."""
        if service == "mlflow":
            body = b'{"error_code": "INTERNAL_ERROR", "message": "injected by FaultProxy"}'
            return cls("status", status, body, "application/json")
        code = "ServiceUnavailable" if status == 503 else "InternalError"
        return cls("status", status, _s3_error(code), "application/xml")

    @classmethod
    def slow_down(cls) -> Fault:
        """S3's throttling answer: 503 with a `SlowDown` error body."""
        return cls("status", 503, _s3_error("SlowDown"), "application/xml")

    @classmethod
    def reset(cls) -> Fault:
        """Close the connection without an answer; the service never sees the request."""
        return cls("reset")

    @classmethod
    def reset_after(cls) -> Fault:
        """Forward the request, then close without an answer: applied, but unacknowledged."""
        return cls("reset_after")

    @classmethod
    def latency(cls, seconds: float) -> Fault:
        """Wait, then forward."""
        return cls("delay", seconds=seconds)

    @property
    def label(self) -> str:
        return f"{self.status}" if self.kind == "status" else self.kind


def _s3_error(code: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>injected by FaultProxy</Message>"
        "<RequestId>faultproxy</RequestId></Error>"
    ).encode()


@dataclass
class Rule:
    """Break matches `nth` .. `nth + count - 1` of `method` + `path` (count None: all from nth)."""

    method: str
    path: str
    fault: Fault
    nth: int = 1
    count: int | None = 1
    matched: int = 0
    fired: int = 0
    _regex: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.nth < 1 or (self.count is not None and self.count < 1):
            raise ValueError("nth and count are 1-based and positive")
        self._regex = re.compile(self.path)

    def hit(self, method: str, path: str) -> bool:
        """Count a matching request; True when this one is to be broken."""
        if method.upper() != self.method.upper() or not self._regex.search(path):
            return False
        self.matched += 1
        last = None if self.count is None else self.nth + self.count - 1
        if self.matched >= self.nth and (last is None or self.matched <= last):
            self.fired += 1
            return True
        return False


@dataclass(frozen=True)
class Seen:
    """One request the proxy handled: what it was and what it got (`None`: no answer)."""

    method: str
    path: str
    status: int | None
    fault: str | None


class FaultProxy:
    """A threaded HTTP proxy on 127.0.0.1 (random port) in front of one loopback service."""

    def __init__(
        self,
        target: str,
        *,
        max_connections: int = 64,
        max_body: int = 256 * 1024 * 1024,
        max_log: int = 50_000,
        lifetime: float = 900.0,
        upstream_timeout: float = 120.0,
    ) -> None:
        parts = urlsplit(target)
        if parts.scheme != "http" or parts.hostname not in LOOPBACK or parts.port is None:
            raise ValueError(f"FaultProxy forwards to http://<loopback>:<port> only, not {target}")
        self.target_host, self.target_port = parts.hostname, parts.port
        self.max_body = max_body
        self.upstream_timeout = upstream_timeout
        self.lifetime = lifetime
        self._rules: list[Rule] = []
        self._log: deque[Seen] = deque(maxlen=max_log)
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_connections)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> FaultProxy:
        server = _Server(("127.0.0.1", 0), _Handler, self)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        self._timer = threading.Timer(self.lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if self._timer is not None and self._timer is not threading.current_thread():
            self._timer.cancel()
        if server is not None:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FaultProxy is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- rules and the request log -----------------------------------------------------------
    def add(
        self, method: str, path: str, fault: Fault, *, nth: int = 1, count: int | None = 1
    ) -> Rule:
        """Break matching requests; `count=None` makes the fault persistent."""
        rule = Rule(method, path, fault, nth, count)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        """Drop every rule and forget the requests seen so far."""
        with self._lock:
            self._rules.clear()
            self._log.clear()

    def seen(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        """Requests handled so far, optionally filtered by method and a path regex."""
        with self._lock:
            log = list(self._log)
        return [
            s
            for s in log
            if (method is None or s.method == method.upper())
            and (path is None or re.search(path, s.path))
        ]

    def faulted(self, method: str | None = None, path: str | None = None) -> int:
        """How many matching requests were broken (delays not counted)."""
        return sum(1 for s in self.seen(method, path) if s.fault and s.fault != "delay")

    def _fault_for(self, method: str, path: str) -> Fault | None:
        with self._lock:
            hits = [r.fault for r in self._rules if r.hit(method, path)]
        return hits[0] if hits else None

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self._log.append(seen)

    def _forward(
        self, method: str, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(
            self.target_host, self.target_port, timeout=self.upstream_timeout
        )
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                conn.putheader(name, value)
            if body or method in {"POST", "PUT", "PATCH"}:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body or None)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, resp.reason, resp.getheaders(), data
        finally:
            conn.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type, proxy: FaultProxy) -> None:
        self.proxy = proxy
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.proxy._slots.acquire(timeout=30):
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.proxy._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away is not the proxy's problem


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def _handle(self) -> None:
        proxy = self.server.proxy
        method, path = self.command, self.path
        shown = unquote(path)
        body = self._read_body()
        if body is None:
            self._answer(413, "Payload Too Large", [], b"request body over the proxy's limit")
            proxy._record(Seen(method, shown, 413, "too_large"))
            return
        fault = proxy._fault_for(method, shown)
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
        if fault is not None and fault.kind == "reset":
            proxy._record(Seen(method, shown, None, "reset"))
            self._reset()
            return
        if fault is not None and fault.kind == "status":
            headers = [("Content-Type", fault.content_type)]
            self._answer(fault.status, "Injected", headers, fault.body)
            proxy._record(Seen(method, shown, fault.status, fault.label))
            return
        forwarded = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP]
        try:
            status, reason, headers, data = proxy._forward(method, path, forwarded, body)
        except OSError:
            proxy._record(Seen(method, shown, 502, "upstream_down"))
            self._answer(502, "Bad Gateway", [], b"upstream unreachable")
            return
        if fault is not None and fault.kind == "reset_after":
            proxy._record(Seen(method, shown, None, "reset_after"))
            self._reset()
            return
        proxy._record(Seen(method, shown, status, fault.label if fault else None))
        self._answer(status, reason, headers, data)

    def _read_body(self) -> bytes | None:
        limit = self.server.proxy.max_body
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks, size = [], 0
            while True:
                length = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if length == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                size += length
                if size > limit:
                    return None
                chunks.append(self.rfile.read(length))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > limit:
            return None
        return self.rfile.read(length) if length else b""

    def _answer(
        self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes
    ) -> None:
        try:
            self.send_response_only(status, reason)
            length = None
            for name, value in headers:
                if name.lower() == "content-length":
                    length = value
                elif name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            if self.command == "HEAD" or status in (204, 304) or status < 200:
                if length is not None and self.command == "HEAD":
                    self.send_header("Content-Length", length)
                self.end_headers()
            else:
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def _reset(self) -> None:
        """Abort the connection with a TCP RST: the client sees a reset, no response."""
        self.close_connection = True
        sock = self.connection
        with suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()
        self.wfile.close()
        sock.close()
