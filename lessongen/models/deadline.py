"""A total deadline for each HTTP request to the model server: the one importer of httpx2 and httpcore2.

httpx's timeouts apply to each socket operation, so a server that trickles its headers or its body a
byte at a time never times out. Here every socket operation of a request (connect, TLS, sending,
headers, body) is given only the time left before the request's deadline, through httpcore's network
backend; past it, the read raises httpx's ReadTimeout, which the openai SDK retries and finally reports
like any other timeout.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from functools import cache
from typing import Any

import httpcore2
import httpx2

# When the request being sent on this thread must be done (time.monotonic()); None outside a request.
_DEADLINE: ContextVar[float | None] = ContextVar("lessongen_request_deadline", default=None)


class DeadlineClient(httpx2.Client):
    """An HTTP client whose every request must be answered in full within `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__(timeout=seconds, follow_redirects=True, verify=_tls_context())
        self._seconds = seconds

    def send(self, request: httpx2.Request, *, stream: bool = False, **kwargs: Any) -> httpx2.Response:
        """Send and (unless streaming) read the body, every socket operation within the deadline."""
        deadline = time.monotonic() + self._seconds
        token = _DEADLINE.set(deadline)
        try:
            response = super().send(request, stream=True, **kwargs)
        finally:
            _DEADLINE.reset(token)
        response.stream = _BodyWithin(response.stream, deadline)
        if not stream:
            try:
                response.read()
            finally:
                response.close()
        return response

    # httpx2 builds its transports (direct and, from the environment, proxies) in these two hooks; ours
    # are the same transports with the deadline under their sockets, so proxies and TLS settings stay.
    def _init_transport(self, *args: Any, **kwargs: Any) -> httpx2.BaseTransport:
        return _within_deadline(super()._init_transport(*args, **kwargs))

    def _init_proxy_transport(self, *args: Any, **kwargs: Any) -> httpx2.BaseTransport:
        return _within_deadline(super()._init_proxy_transport(*args, **kwargs))


@cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default TLS context (system settings and certifi's roots), built once per process: loading
    the roots costs tens of milliseconds of CPU for every client, and one context serves them all."""
    return httpx2.create_ssl_context()


def _within_deadline(transport: httpx2.BaseTransport) -> httpx2.BaseTransport:
    """The transport with its connection pool's network backend bounded by the request deadline."""
    pool = getattr(transport, "_pool", None)  # httpx2.HTTPTransport takes no network backend of its own
    if isinstance(pool, httpcore2.ConnectionPool):
        pool._network_backend = _DeadlineBackend(pool._network_backend)
    return transport


def _left(timeout: float | None, error: type[Exception]) -> float | None:
    """The per-operation timeout cut to the time left before the deadline; `error` once it has passed."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("no whole answer within the request's deadline")
    return left if timeout is None else min(timeout, left)


class _DeadlineBackend(httpcore2.NetworkBackend):
    """Opens connections within the deadline and hands back streams that keep to it."""

    def __init__(self, inner: httpcore2.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.NetworkStream:
        """A TCP connection, opened within the deadline."""
        limit = _left(timeout, httpcore2.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_tcp(host, port, limit, local_address, socket_options))

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.NetworkStream:
        """A Unix socket connection, opened within the deadline."""
        limit = _left(timeout, httpcore2.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_unix_socket(path, limit, socket_options))

    def sleep(self, seconds: float) -> None:
        """Sleep (between connection retries)."""
        self._inner.sleep(seconds)


class _DeadlineStream(httpcore2.NetworkStream):
    """A connection whose reads and writes get at most the time left before the current request's deadline."""

    def __init__(self, inner: httpcore2.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Read, within the deadline."""
        return self._inner.read(max_bytes, _left(timeout, httpcore2.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Write, within the deadline."""
        self._inner.write(buffer, _left(timeout, httpcore2.WriteTimeout))

    def close(self) -> None:
        """Close the connection."""
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore2.NetworkStream:
        """The TLS handshake, within the deadline."""
        limit = _left(timeout, httpcore2.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, limit))

    def get_extra_info(self, info: str) -> Any:
        """What the connection pool asks of the socket (is it readable, its TLS object)."""
        return self._inner.get_extra_info(info)


class _BodyWithin(httpx2.SyncByteStream):
    """A response body read under its request's deadline, also when read after send() returns."""

    def __init__(self, inner: Any, deadline: float) -> None:
        self._inner, self._deadline = inner, deadline

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self._inner)
        while True:
            token = _DEADLINE.set(self._deadline)
            try:
                chunk = next(chunks, None)
            finally:
                _DEADLINE.reset(token)
            if chunk is None:
                return
            yield chunk

    def close(self) -> None:
        """Close the underlying stream."""
        self._inner.close()
