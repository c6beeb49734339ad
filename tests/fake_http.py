"""HTTP plumbing the fake servers share: a threaded server on 127.0.0.1 that hands each request to a callback.

Stdlib only. The server binds a free port, serves from a daemon thread, and on stop wakes every
handler (delayed answers, idle keep-alive connections) and joins its thread. A failure inside the
callback is answered with a 500 and kept in `errors`, so the test fails when the server stops.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any


class Drop(Enum):
    """How a connection is closed without a response."""

    RESET = "reset"  # RST: linger 0
    DISCONNECT = "disconnect"  # FIN


@dataclass
class Answer:
    """The response to one request: a JSON body by default, or a dropped connection."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait first; a stop during the wait drops the connection
    drop: Drop | None = None
    content_type: str = "application/json"
    trickle: float = 0.0  # seconds between the body's bytes, sent one at a time; 0 sends it at once
    trickle_headers: float = 0.0  # seconds per header byte: the body as an endless header, then a hang-up


# (method, path with query, lower-case headers, raw body) -> answer
Handle = Callable[[str, str, dict[str, str], bytes], Answer]


class LocalHTTP:
    """Serves `handle` on a free 127.0.0.1 port; start() and stop(), or use it as a context manager."""

    def __init__(self, handle: Handle, name: str = "fake-http") -> None:
        self.handle = handle
        self.name = name
        self.errors: list[BaseException] = []  # failures inside the fake itself
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port; the server must be running."""
        if self._httpd is None:
            raise RuntimeError("the fake server is not running")
        return int(self._httpd.server_address[1])

    @property
    def root(self) -> str:
        """http://127.0.0.1:PORT, the server's root."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Bind a free port and serve from a daemon thread."""
        self.stopping.clear()
        self._httpd = _HTTPServer(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name=self.name, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, drop open connections and wait for every handler thread."""
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        self.stopping.set()  # wakes handlers that delay their answer
        httpd.shutdown()
        with self.lock:
            for conn in httpd.connections:  # wakes handlers waiting on an idle keep-alive connection
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()  # joins the handler threads
        thread.join()
        self._httpd = self._thread = None

    def raise_errors(self) -> None:
        """Fail the test if the fake itself failed while serving."""
        if self.errors:
            raise RuntimeError(f"the fake server failed {len(self.errors)} time(s)") from self.errors[0]


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = False  # so that server_close joins every handler thread
    block_on_close = True

    def __init__(self, owner: LocalHTTP) -> None:
        self.owner = owner
        self.connections: set[socket.socket] = set()
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        TCPServer.server_bind(self)  # HTTPServer's own version looks up a host name: slow and not needed
        self.server_name, self.server_port = "127.0.0.1", int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.owner.lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.owner.lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if error is not None and not isinstance(error, ConnectionError):  # a client hanging up is normal
            self.owner.errors.append(error)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY, as real servers set it: the headers and the body are two writes, and with Nagle's
    # algorithm the body waits for the client's delayed ACK of the headers (40 ms a request on Linux).
    disable_nagle_algorithm = True
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: keeps the test output clean, and no header can reach it."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            answer = owner.handle(self.command, self.path, headers, raw)
        except Exception as exc:  # a bug in the fake: answer now, fail the test when it stops
            owner.errors.append(exc)
            error = {"message": f"fake server failure: {type(exc).__name__}: {exc}", "type": "fake_error"}
            answer = Answer(500, json.dumps({"error": error}).encode())
        if answer.delay and owner.stopping.wait(answer.delay):
            answer = Answer(drop=Drop.DISCONNECT)
        if answer.drop is not None:
            self.close_connection = True
            if answer.drop is Drop.RESET:  # linger 0: the close sends RST instead of FIN
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            return
        try:
            if answer.trickle_headers:
                self._trickle_headers(answer)
                return
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if answer.trickle:
                self._trickle(answer)
            else:
                self.wfile.write(answer.body)
        except ConnectionError:  # the client gave up (its own timeout) before the answer
            self.close_connection = True

    def _trickle_headers(self, answer: Answer) -> None:
        """The status line, then the body as a header line that never ends, a byte at a time; then a hang-up.

        A client bounded only per read waits for every byte and then sees the connection closed; a
        client with a total deadline gives up first.
        """
        self.close_connection = True
        self.wfile.write(b"HTTP/1.1 200 OK\r\nx-padding: ")
        self.wfile.flush()
        for i in range(len(answer.body)):
            if self.server.owner.stopping.wait(answer.trickle_headers):
                return
            self.wfile.write(answer.body[i : i + 1])
            self.wfile.flush()

    def _trickle(self, answer: Answer) -> None:
        """The body one byte at a time, until it is sent, the client hangs up or the server stops."""
        self.close_connection = True
        for i in range(len(answer.body)):
            self.wfile.write(answer.body[i : i + 1])
            self.wfile.flush()
            if self.server.owner.stopping.wait(answer.trickle):
                return
