"""Scanning for secrets in a forked worker process while the walk reads on.

Our own rules are Python regexes: over a large repository they cost about as much as the walk itself,
so the texts go to one worker process and the parent collects what it found once the walk is done.
The worker is forked before any thread exists (as the counting workers are), loads the provider
scanner's rules at once (half a second of CPU, spent while this process resolves the model and walks),
and ends when the parent closes its pipe. Where it cannot be forked, or it fails, everything is scanned
in this process instead: the result is the same.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import signal
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Any, BinaryIO

from lessongen.repo.secrets import PathNames, Redaction, SecretScanner, redact, redact_paths
from lessongen.shared.data import SourceFile

_BATCH_CHARS = 1 << 18  # texts are sent in batches of about this many characters
_BATCH_FILES = 256  # or of this many files: thousands of tiny files must not reach the worker all at the end
_PIPE_BYTES = 1 << 20  # a roomy pipe, so the walk seldom waits for the worker to take a batch
Found = dict[str, Redaction]  # by path: the files that hold a secret


def _serve(scanner: SecretScanner, requests: BinaryIO, replies: BinaryIO) -> None:
    """The worker: redact every text it is sent, then the paths; answer once the parent is done."""
    scanner.provider.load()  # before the first texts arrive, so they never wait for it
    found: Found = {}
    names: PathNames = {}
    # The end is a message, not the pipe's end: processes forked later (the counting workers) hold
    # copies of the parent's end of the pipe.
    with contextlib.suppress(EOFError):
        while (message := pickle.load(requests))[0] != "end":
            kind, items = message
            if kind == "paths":
                names = redact_paths(items, scanner)
                continue
            for path, text in items:
                if (result := redact(text, path, scanner))[1]:
                    found[path] = result
    pickle.dump((found, dict(names)), replies, protocol=pickle.HIGHEST_PROTOCOL)
    replies.flush()


class BackgroundScanner:
    """Redacts the texts it is given in a worker process; `finish` returns what it found."""

    def __init__(self, scanner: SecretScanner, enabled: bool = True) -> None:
        self.scanner = scanner
        self._enabled = enabled  # False: nothing will be scanned (secrets off), so no worker starts
        self._pid = 0
        self._requests: BinaryIO | None = None
        self._replies: BinaryIO | None = None
        self._pending: list[tuple[str, str]] = []
        self._pending_chars = 0
        self._sent: list[SourceFile] = []

    def __enter__(self) -> BackgroundScanner:
        forkable = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
        if self._enabled and forkable and not self._pid:  # entered again (an outer `with`): one worker
            self._fork()
        return self

    def _fork(self) -> None:
        child_in, parent_out = os.pipe()
        parent_in, child_out = os.pipe()
        with contextlib.suppress(OSError, AttributeError, ImportError):  # Linux only; a small pipe works too
            import fcntl

            fcntl.fcntl(parent_out, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        pid = os.fork()
        if pid == 0:  # the worker; it never returns into the parent's code
            code = 1
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
                os.close(parent_out)
                os.close(parent_in)
                with os.fdopen(child_in, "rb") as requests, os.fdopen(child_out, "wb") as replies:
                    _serve(self.scanner, requests, replies)
                code = 0
            finally:
                os._exit(code)
        os.close(child_in)
        os.close(child_out)
        self._pid = pid
        self._requests = os.fdopen(parent_out, "wb")
        self._replies = os.fdopen(parent_in, "rb")

    def add(self, file: SourceFile) -> None:
        """Have `file`'s text scanned."""
        self._sent.append(file)
        if self._requests is not None:
            self._pending.append((file.path, file.text))
            self._pending_chars += len(file.text)
            if self._pending_chars >= _BATCH_CHARS or len(self._pending) >= _BATCH_FILES:
                self._send("texts", self._pending)
                self._pending, self._pending_chars = [], 0

    def _send(self, kind: str, items: Sequence[Any]) -> None:
        if self._requests is not None:
            try:
                pickle.dump((kind, items), self._requests, protocol=pickle.HIGHEST_PROTOCOL)
            except OSError:  # the worker is gone: everything is scanned here
                self._stop()

    def finish(self, paths: Sequence[str]) -> tuple[Found, PathNames]:
        """The files added that hold a secret, with their redaction, and each of `paths` redacted."""
        if self._requests is not None:
            self._send("texts", self._pending)
            self._send("paths", list(paths))
        answer = self._answer()
        self._stop()
        if answer is not None:
            return answer
        found = {f.path: r for f in self._sent if (r := redact(f.text, f.path, self.scanner))[1]}
        return found, redact_paths(paths, self.scanner)

    def _answer(self) -> tuple[Found, PathNames] | None:
        if self._requests is None or self._replies is None:
            return None
        try:
            pickle.dump(("end", None), self._requests)
            self._requests.close()
            self._requests = None
            found, names = pickle.load(self._replies)
        except (OSError, EOFError, pickle.UnpicklingError):
            return None
        return found, names

    def _stop(self) -> None:
        if self._pid and self._requests is not None:  # never asked (all was known): no need to wait for it
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
        for stream in (self._requests, self._replies):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._requests = self._replies = None
        if self._pid:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._pid, 0)
            self._pid = 0

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._pid and kind is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
        self._stop()
