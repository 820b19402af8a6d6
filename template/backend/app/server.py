"""The Uvicorn worker Gunicorn runs (gunicorn.conf.py): bounded request heads, no
`server` banner, and no query strings in the access log.

Gunicorn's limit_request_line / limit_request_fields / limit_request_field_size apply
to its own HTTP parser only; a Uvicorn worker parses HTTP itself, with httptools
(uvicorn[standard]), whose parser (llhttp) has no limit on a header's size or count.
h11 has one (h11_max_incomplete_event_size) but parses several times slower."""

from __future__ import annotations

import json
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn_worker import UvicornWorker

# The request line and headers together: nginx's default allows 32 KiB, Node's 16 KiB.
MAX_HEAD_BYTES = 32 * 1024
# Gunicorn's default limit_request_fields; browsers and proxies send 20 to 40.
MAX_HEADERS = 100


class HeadTooLarge(Exception):
    pass


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """Uvicorn's httptools protocol, refusing with 431 a request head over MAX_HEAD_BYTES
    or with more than MAX_HEADERS headers, then closing the connection."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_bytes = 0
        self._headers = 0
        self._heads_completed = 0
        self._refusal: str | None = None

    def data_received(self, data: bytes) -> None:
        in_head, completed = self._in_head, self._heads_completed
        super().data_received(data)
        # Count only data that was all head: the head was open before and after it, and
        # none completed in between (a chunk may end one request and start the next).
        if in_head and self._in_head and completed == self._heads_completed:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES and not self.transport.is_closing():
                self.refuse("Request header fields too large")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes, self._headers = True, 0, 0

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers += 1
        if self._headers > MAX_HEADERS:
            self._refusal = "Too many request header fields"
            # Stops the parser, which Uvicorn answers with send_400_response (below).
            raise HeadTooLarge
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._heads_completed += 1
        # data_received bounds what piles up while a head arrives; this is the exact size.
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > MAX_HEAD_BYTES:
            self._refusal = "Request header fields too large"
            raise HeadTooLarge
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if self._refusal is not None:
            self.refuse(self._refusal)
        else:
            super().send_400_response(msg)

    def refuse(self, detail: str) -> None:
        body = json.dumps({"detail": detail}).encode()
        content = [STATUS_LINE[431]]
        for name, value in self.server_state.default_headers:
            content += [name, b": ", value, b"\r\n"]
        content += [
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
            body,
        ]
        self.transport.write(b"".join(content))
        self.transport.close()


class QueryStringFilter(logging.Filter):
    """Access-log lines with the path only: query strings carry the sign-in's one-time
    codes and redirect addresses, and whatever a client chose to put there."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, version, status = record.args
            if isinstance(path, str):
                record.args = (client, method, path.partition("?")[0], version, status)
        return True


class Worker(UvicornWorker):
    CONFIG_KWARGS = {
        **UvicornWorker.CONFIG_KWARGS,
        "http": BoundedHttpToolsProtocol,
        # What runs here is nobody's business: no `server: uvicorn`.
        "server_header": False,
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        logging.getLogger("uvicorn.access").addFilter(QueryStringFilter())
