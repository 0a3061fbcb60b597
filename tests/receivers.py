"""Local stand-ins for the people Alertmanager notifies, on 127.0.0.1: one HTTP server for the
Slack webhook and PagerDuty's Events API v2, one SMTP server. Each records what it got."""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import json
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    server: HttpSink

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        with self.server.lock:
            self.server.posts.append((self.path, body))
        pagerduty = self.path.endswith("/v2/enqueue")
        answer = {"status": "success", "dedup_key": body.get("dedup_key")} if pagerduty else None
        data = json.dumps(answer).encode() if answer else b"ok"
        self.send_response(202 if pagerduty else 200)  # what each service answers
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class HttpSink(ThreadingHTTPServer):
    """Records every JSON POST as (path, body): Slack on any path, PagerDuty on /v2/enqueue."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.posts: list[tuple[str, Any]] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def bodies(self, path_prefix: str) -> list[Any]:
        with self.lock:
            return [body for path, body in self.posts if path.startswith(path_prefix)]

    def __enter__(self) -> HttpSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


@dataclass
class Envelope:
    """One message the SMTP server accepted: who logged in, the envelope, the parsed mail."""

    login: str
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class SmtpSink:
    """A minimal SMTP server (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT) on asyncio
    streams: what Go's net/smtp, and so Alertmanager, speaks. Mail needs the given login."""

    username: str
    password: str
    received: list[Envelope] = field(default_factory=list)
    refused_logins: int = 0
    port: int = 0

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def messages(self) -> list[Envelope]:
        with self._lock:
            return list(self.received)

    def __enter__(self) -> SmtpSink:
        self._thread.start()
        assert self._ready.wait(10), "the SMTP server did not start"
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._session, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()
        self._loop.close()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def reply(*lines: str) -> None:
            writer.write("".join(f"{line}\r\n" for line in lines).encode())
            await writer.drain()

        await reply("220 127.0.0.1 test SMTP ready")
        login, sender, recipients = "", "", []
        while raw := await reader.readline():
            verb, _, arg = raw.decode().rstrip("\r\n").partition(" ")
            verb = verb.upper()
            if verb in ("EHLO", "HELO"):
                await reply("250-127.0.0.1 hello", "250 AUTH PLAIN")
            elif verb == "AUTH":
                mech, _, initial = arg.partition(" ")
                if mech.upper() != "PLAIN":
                    await reply("504 5.5.4 only AUTH PLAIN")
                    continue
                if not initial:
                    await reply("334 ")
                    initial = (await reader.readline()).decode().strip()
                parts = base64.b64decode(initial).decode().split("\0")
                if parts[1:] == [self.username, self.password]:
                    login = self.username
                    await reply("235 2.7.0 authenticated")
                else:
                    self.refused_logins += 1
                    await reply("535 5.7.8 bad credentials")
            elif verb == "MAIL":
                if not login:
                    await reply("530 5.7.0 authentication required")
                    continue
                sender, recipients = arg.partition(":")[2].split()[0].strip("<>"), []
                await reply("250 2.1.0 ok")
            elif verb == "RCPT":
                recipients.append(arg.partition(":")[2].strip().strip("<>"))
                await reply("250 2.1.5 ok")
            elif verb == "DATA":
                await reply("354 end with <CRLF>.<CRLF>")
                await self._data(reader, login, sender, recipients)
                await reply("250 2.0.0 queued")
            elif verb in ("RSET", "NOOP"):
                if verb == "RSET":
                    sender, recipients = "", []
                await reply("250 2.0.0 ok")
            elif verb == "QUIT":
                await reply("221 2.0.0 bye")
                break
            else:
                await reply("502 5.5.2 not implemented")
        writer.close()

    async def _data(
        self, reader: asyncio.StreamReader, login: str, sender: str, recipients: list[str]
    ) -> None:
        lines: list[bytes] = []
        while (line := await reader.readline()) not in (b".\r\n", b""):
            lines.append(line[1:] if line.startswith(b"..") else line)
        parsed = email.message_from_bytes(b"".join(lines), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self.received.append(Envelope(login, sender, recipients, parsed))
