"""A total deadline for each HTTP request to the model server: the only module that imports httpx2.

httpx's timeouts apply to each socket operation, so a body trickled a byte at a time never times out.
The openai SDK takes this client; it raises httpx's ReadTimeout once a request has run past its deadline,
which the SDK retries and finally reports like any other timeout.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx2


class DeadlineClient(httpx2.Client):
    """An HTTP client whose every request must be answered in full within `seconds`.

    httpx's timeouts apply to each socket operation, so a body trickled a byte at a time would never
    time out; here the body is read through a stream that checks the deadline between chunks.
    """

    def __init__(self, seconds: float) -> None:
        super().__init__(timeout=seconds, follow_redirects=True)
        self._seconds = seconds

    def send(self, request: httpx2.Request, *, stream: bool = False, **kwargs: Any) -> httpx2.Response:
        """Send, then read the body (unless streaming) against the deadline."""
        deadline = time.monotonic() + self._seconds
        response = super().send(request, stream=True, **kwargs)
        response.stream = _DeadlineStream(response.stream, deadline, request, self._seconds)
        if not stream:
            try:
                response.read()
            finally:
                response.close()
        return response


class _DeadlineStream(httpx2.SyncByteStream):
    """A response body that raises httpx's ReadTimeout once the request's deadline has passed."""

    def __init__(self, inner: Any, deadline: float, request: httpx2.Request, seconds: float) -> None:
        self._inner, self._deadline, self._request, self._seconds = inner, deadline, request, seconds

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            if time.monotonic() > self._deadline:
                raise httpx2.ReadTimeout(f"no whole answer within {self._seconds:g}s", request=self._request)
            yield chunk

    def close(self) -> None:
        """Close the underlying stream."""
        self._inner.close()
