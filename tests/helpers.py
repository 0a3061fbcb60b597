"""Helpers of the flow tests: the small synthetic model (from `retrain.samples.fixtures`, which the
benchmarks share) and local receivers for webhook and email alerts."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, cast

from retrain.samples.fixtures import (
    AS_OF,
    CATEGORICAL,
    DAYS,
    FIRST_DAY,
    ID,
    LABEL,
    MONITORING_DAYS,
    NUMERIC,
    ROWS_PER_DAY,
    SEGMENTS,
    TS,
    Scenario,
    config_dict,
    day_frame,
    empty_bucket,
    merge,
    object_keys,
    put_parquet,
    scenario,
    unique,
    window_days,
    write_config,
    write_days,
    write_models,
)

__all__ = [
    "AS_OF",
    "CATEGORICAL",
    "DAYS",
    "FIRST_DAY",
    "ID",
    "LABEL",
    "MONITORING_DAYS",
    "NUMERIC",
    "ROWS_PER_DAY",
    "SEGMENTS",
    "TS",
    "Scenario",
    "config_dict",
    "day_frame",
    "empty_bucket",
    "merge",
    "object_keys",
    "put_parquet",
    "scenario",
    "smtp_receiver",
    "unique",
    "webhook_receiver",
    "window_days",
    "write_config",
    "write_days",
    "write_models",
]


@contextmanager
def webhook_receiver(path: str = "/hook") -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local Slack-compatible receiver on a free loopback port: its URL (ending in `path`) and
    every message it gets, each with the request `path` and `raw` body beside the JSON fields."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"path": self.path, "raw": body.decode(), **json.loads(body)})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}{path}", received
    finally:
        server.shutdown()


@contextmanager
def smtp_receiver() -> Iterator[tuple[int, list[EmailMessage]]]:
    """A minimal SMTP server on a free loopback port (enough for smtplib: EHLO, MAIL, RCPT,
    DATA, QUIT; no TLS, no auth): its port and every message it got, parsed."""
    received: list[EmailMessage] = []

    class Handler(socketserver.StreamRequestHandler):
        def reply(self, line: str) -> None:
            self.wfile.write(f"{line}\r\n".encode())

        def handle(self) -> None:
            self.reply("220 localhost test SMTP")
            while line := self.rfile.readline():
                verb = line.decode().strip().split(" ")[0].upper()
                if verb == "DATA":
                    self.reply("354 end with <CRLF>.<CRLF>")
                    data = b""
                    while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                        data += chunk[1:] if chunk.startswith(b"..") else chunk
                    parsed = BytesParser(policy=policy.default).parsebytes(data)
                    received.append(cast(EmailMessage, parsed))
                    self.reply("250 queued")
                elif verb == "QUIT":
                    self.reply("221 bye")
                    return
                else:  # EHLO, HELO, MAIL, RCPT, RSET, NOOP
                    self.reply("250 ok")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], received
    finally:
        server.shutdown()
        server.server_close()


def typed_record(raw: dict[str, Any]) -> Any:
    """A partial decision record as the sinks read it: the head fields a test leaves out get
    neutral values (a running auto-mode run of model "m" that decided nothing); a completed one
    without the sections every completed run writes gets empty ones (no champion, a valid
    window of no rows)."""
    from retrain.run_record import load_record

    if raw.get("status") == "completed":
        day = raw.get("as_of", "2024-01-01")
        raw = {
            "champion": {},
            "validation": {"valid": True},
            "window": {"start": day, "end": day, "rows": 0},
            **raw,
        }
    head = {
        "model": "m",
        "as_of": "2024-01-01",
        "mode": "auto",
        "metric": "roc_auc",
        "status": "running",
        "decision": {"action": "none", "reasons": [], "details": {}},
    }
    return load_record({**head, **raw}, "the test's record")
