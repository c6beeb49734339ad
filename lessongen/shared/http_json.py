"""A small JSON-over-HTTP client for a model server's own endpoints.

Stdlib only, with short timeouts, no redirects and no proxies, so an API key goes as a Bearer header
to the given server and nowhere else.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any

from lessongen.config.fields import Secret

_MAX_ANSWER_BYTES = 64 * 1024 * 1024


class Unreachable(Exception):
    """The server did not answer at all: asking it anything else would only wait longer."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib would carry the Authorization header to wherever the redirect points


def server_root(base_url: str) -> str:
    """The server's root URL: base_url without trailing slashes or a final /v1."""
    root = base_url.rstrip("/")
    return root[: -len("/v1")] if root.endswith("/v1") else root


class JsonClient:
    """JSON requests to one server; an HTTP error status or a body that is not JSON reads as None."""

    def __init__(self, base_url: str, api_key: Secret | str | None = None, timeout: float = 3.0) -> None:
        self.root = server_root(base_url)
        self._key = api_key
        self._timeout = timeout
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
        self._memo: dict[tuple[str, str, str], Any] = {}

    def get(self, path: str) -> Any:
        """GET root+path, asked at most once per client."""
        return self._remembered("GET", path, None)

    def post(self, path: str, body: Any, remember: bool = False) -> Any:
        """POST a JSON body to root+path."""
        return self._remembered("POST", path, body) if remember else self._fetch("POST", path, body)

    def _remembered(self, method: str, path: str, body: Any) -> Any:
        key = (method, path, json.dumps(body, sort_keys=True))
        if key not in self._memo:
            self._memo[key] = self._fetch(method, path, body)
        return self._memo[key]

    def _fetch(self, method: str, path: str, body: Any) -> Any:
        headers = {"Accept": "application/json"}
        if self._key:
            key = self._key.reveal() if isinstance(self._key, Secret) else self._key
            headers["Authorization"] = f"Bearer {key}"
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            request = urllib.request.Request(self.root + path, data, headers, method=method)
            with self._opener.open(request, timeout=self._timeout) as response:
                raw = response.read(_MAX_ANSWER_BYTES)
        except urllib.error.HTTPError as exc:
            exc.close()
            return None
        except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError):
            raise Unreachable(self.root) from None  # refused, reset, timed out or not a URL at all
        try:
            return json.loads(raw)
        except ValueError:
            return None
