"""Narration made speakable: identifiers, paths and symbols read as words, never letter by letter."""

from __future__ import annotations

import re

_SYMBOLS = {
    "==": " equals ",
    "!=": " not equal to ",
    "->": " returns ",
    "=>": " maps to ",
    "<=": " at most ",
    ">=": " at least ",
    "&&": " and ",
    "||": " or ",
    "::": " ",
    "+": " plus ",
    "&": " and ",
    "%": " percent ",
    "=": " equals ",
    "@": " at ",
    "#": " hash ",
    "~": " tilde ",
}
_EXTENSIONS = {"py": "python", "js": "javascript", "ts": "typescript", "md": "markdown", "rs": "rust"}
_ACRONYM = re.compile(r"^[A-Z0-9]{2,5}$")
_FILE_TYPES = "py|js|ts|tsx|md|rs|go|c|h|cpp|java|rb|json|toml|yaml|yml|txt|html|css|sh|cfg|ini|lock"
_PATH = re.compile(rf"(?<![\w/])(?:[\w.-]+/)+[\w.-]+|\b[\w-]+\.(?:{_FILE_TYPES})\b")
_CALL = re.compile(r"\b([A-Za-z_][\w.]*)\(\)")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SYMBOL = re.compile("|".join(re.escape(s) for s in sorted(_SYMBOLS, key=len, reverse=True)))
_MARKUP = re.compile(r"`+|\*{1,3}")
_SPACES = re.compile(r"\s+")


def _identifier(word: str) -> str:
    """snake_case, camelCase and dotted names as separate words (acronyms kept whole)."""
    parts: list[str] = []
    for piece in re.split(r"[._]+", word):
        parts += [p for p in _CAMEL.split(piece) if p]
    return " ".join(
        p if _ACRONYM.match(p) else p.lower() if p[1:].islower() or p.isupper() else p for p in parts
    )


def _path(match: re.Match[str]) -> str:
    text = match.group(0)
    if re.fullmatch(r"[\d.]+", text):  # a version or a decimal number, not a path
        return text
    pieces = [p for p in text.split("/") if p]
    spoken = []
    for piece in pieces:
        stem, dot, ext = piece.rpartition(".")
        if dot and stem and ext.isalpha():
            spoken.append(f"{_identifier(stem)} dot {_EXTENSIONS.get(ext, ext)}")
        else:
            spoken.append(_identifier(piece.strip(".")))
    return " slash ".join(s for s in spoken if s)


def speakable(text: str) -> str:
    """The narration as a voice should read it: markup dropped, paths, calls and names turned into words."""
    text = _MARKUP.sub("", text)
    text = _CALL.sub(lambda m: m.group(1), text)  # 'load()' is read as 'load'; the sentence names it
    text = _PATH.sub(_path, text)
    text = _SYMBOL.sub(lambda m: _SYMBOLS[m.group(0)], text)
    text = _WORD.sub(
        lambda m: _identifier(m.group(0)) if re.search(r"[_.]|[a-z][A-Z]", m.group(0)) else m.group(0), text
    )
    # Brackets and the rest of the code punctuation carry no sound; a voice would read them out or stumble.
    text = re.sub(r"[{}\[\]<>|\\^$]", " ", text)
    return _SPACES.sub(" ", text).strip()
