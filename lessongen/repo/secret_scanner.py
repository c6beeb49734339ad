"""The maintained provider scanner (kingfisher-secret-scanner): the only module that imports it.

Kingfisher runs the betterleaks (gitleaks-style) and veles provider rule sets in Rust, offline, and
gives exact byte offsets. Compiling its rules takes seconds, so the compiled rules are kept in a
folder and loaded from there on later runs; nothing is downloaded.
"""

from __future__ import annotations

import threading
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import kingfisher_sdk

Span = tuple[int, int, str]  # start, end (character offsets) and kind

RULES_FOLDER = "scanner-rules"  # under lessongen's cache folder: the compiled rules, kept between runs
_PREFIXES = ("betterleaks.", "veles.secrets/", "kingfisher.", "custom.")


def library_version() -> str:
    """The scanner's version, part of the key under which clean files are remembered."""
    try:
        return metadata.version("kingfisher-secret-scanner")
    except metadata.PackageNotFoundError:
        return "missing"


@cache
def _kind(rule_id: str) -> str:
    """A rule's id without its rule set's prefix: `betterleaks.github-pat` -> `github-pat`."""
    for prefix in _PREFIXES:
        if rule_id.startswith(prefix):
            rule_id = rule_id[len(prefix) :]
    return rule_id.lower()


class ProviderScanner:
    """Provider tokens by their format, with positions; the rules are loaded on first use."""

    def __init__(self, rules_dir: Path | None = None) -> None:
        self._rules_dir = rules_dir
        self._scanner: kingfisher_sdk.Scanner | None = None
        self._lock = threading.Lock()

    @classmethod
    def in_cache(cls, cache_dir: Path | None) -> ProviderScanner:
        """A scanner keeping its compiled rules in lessongen's cache folder (compiled every run without one)."""
        return cls(cache_dir / RULES_FOLDER if cache_dir else None)

    def _loaded(self) -> kingfisher_sdk.Scanner:
        with self._lock:
            if self._scanner is None:
                self._scanner = _process_scanner(self._rules_dir)
            return self._scanner

    def load(self) -> None:
        """Compile or load the rules now rather than on the first scan."""
        self._loaded()

    def spans(self, text: str, data: bytes | None = None) -> list[Span]:
        """(start, end, kind) of every provider token in `text` (as UTF-8 `data`, when given), in
        character offsets."""
        data = text.encode("utf-8", "surrogatepass") if data is None else data
        found = [f for f in self._loaded().scan(data) if f.visible]
        if not found:
            return []
        ascii_only = len(data) == len(text)
        out: list[Span] = []
        for finding in found:
            where = finding.location
            start, end = where["start_offset"], where["end_offset"]
            if not ascii_only:
                start = len(data[:start].decode("utf-8", "surrogatepass"))
                end = start + len(data[where["start_offset"] : end].decode("utf-8", "surrogatepass"))
            out.append((start, end, _kind(finding.rule_id)))
        return out


_PROCESS_LOCK = threading.Lock()
_process: list[kingfisher_sdk.Scanner] = []  # the rules this process has loaded, once it has


def _process_scanner(rules_dir: Path | None) -> kingfisher_sdk.Scanner:
    """The process's scanner, its rules compiled or loaded (from `rules_dir`) the first time only.

    The rules are the library's, the same whichever folder keeps them compiled, and loading them costs
    about half a second of CPU: a process that makes several plans or runs (the tests, a benchmark's
    warm rounds) pays it once; forked workers inherit the loaded rules.
    """
    with _PROCESS_LOCK:
        if not _process:
            import kingfisher_sdk

            if rules_dir is not None:
                rules_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            rules = kingfisher_sdk.Rules(
                cache=rules_dir is not None, cache_dir=None if rules_dir is None else str(rules_dir)
            )
            # base64=False: a base64 run is redacted where it stands, by our own rules.
            _process.append(kingfisher_sdk.Scanner(rules, base64=False))
        return _process[0]
