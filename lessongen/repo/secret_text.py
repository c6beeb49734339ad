"""Our secret rules (secret_rules.py) run over one text, with as few passes over it as they allow.

Each search over a whole text costs about as much as any other, whatever it looks for, so every
literal our rules look for (the name stems of STEMS, and each word a rule needs) is found in one
pass: an Aho-Corasick automaton (ahocorasick-rs, in Rust) over a case-folded copy gives every place
of each, and those places serve every anchored rule and every word (checked as written at them).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from ahocorasick_rs import BytesAhoCorasick

from lessongen.repo.secret_checks import Rule, placeholder
from lessongen.repo.secret_rules import BARE, CONTEXT, ENDS_BARE, FORMATS, NAMED, STEMS, WIDEST

# In these languages an unquoted right-hand side is an expression, not a literal.
_CODE_SUFFIXES = (
    ".py", ".pyi", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".java", ".kt", ".scala", ".go", ".rs",
    ".rb", ".php", ".cs", ".c", ".h", ".cc", ".cpp", ".hpp", ".m", ".swift", ".dart", ".lua", ".pl", ".vue",
)  # fmt: skip

# A run of unquoted-value characters longer than a value and its name: no named rule matches in it
# (except near its end), and trying each anchor inside would scan thousands of characters each.
_OVERLONG_RUN = WIDEST + 256
_OVERLONG = re.compile(rf"(?<!{BARE}){BARE}{{{_OVERLONG_RUN},}}")
_VALUE_END = re.compile(rf"[{ENDS_BARE}]")

# A value this long is not matched again from an anchor inside it, by the same rule: every anchor of
# a hostile line (`key=key=key=...`) would otherwise scan and check a window of thousands of
# characters. A shorter value is: a secret can be assigned inside a value that is not one.
_LONG_VALUE = 256

# A word is checked at the places of its folded form while they are at most one in this many
# characters; a text crowded with them (`key=key=...`) is searched instead, which is then cheaper.
_SPARSE = 64

_K8S_WORD = "Secret"


@cache
def _literals() -> tuple[str, ...]:
    """Every literal looked for, case folded: the stems and each rule's words."""
    words = {w for rules in (FORMATS, CONTEXT, NAMED) for rule in rules for w in rule.words}
    return tuple(sorted({*STEMS, *(w.lower() for w in (*words, _K8S_WORD))}))


@cache
def _literal_set() -> frozenset[str]:
    return frozenset(_literals())


@cache
def _automaton() -> BytesAhoCorasick:
    """The automaton over every literal, built once per process on first use."""
    return BytesAhoCorasick([w.encode("ascii") for w in _literals()])


def _fold(text: str) -> bytes:
    """One byte per character: ASCII letters in lower case, every character outside Latin-1 as `?`."""
    return text.encode("latin-1", "replace").lower()


class TextRules:
    """Our rules over one text: the places of every literal, and which words it holds, are found once."""

    def __init__(self, text: str, path: str, ascii_bytes: bytes | None = None) -> None:
        self.text = text
        self._ascii = ascii_bytes  # the text encoded, when it is all ASCII: folded without encoding again
        self.code = path.lower().endswith(_CODE_SUFFIXES)
        self._places: dict[str, list[int]] | None = None
        self._present: frozenset[str] = frozenset()  # the literals that occur (folded), with _places
        self._anchors: dict[tuple[str, ...], list[int]] = {}
        self._holds: dict[str, bool] = {}
        self._runs: list[tuple[int, int]] | None = None

    def places(self, literal: str) -> list[int]:
        """Where a literal of `_literals()` starts in the case-folded text (every literal, one pass)."""
        if self._places is None:
            literals = _literals()
            found: dict[str, list[int]] = {w: [] for w in literals}
            # Overlapping: a stem inside a word (auth in authorization), a word inside itself, all count.
            folded = self._ascii.lower() if self._ascii is not None else _fold(self.text)
            for index, start, _ in _automaton().find_matches_as_indexes(folded, overlapping=True):
                found[literals[index]].append(start)
            self._places = found
            self._present = frozenset(w for w, at in found.items() if at)
        return self._places[literal]

    def may_match(self, rule: Rule) -> bool:
        """False when none of the rule's words occurs in any case, so it cannot match (cheap: one pass
        found every literal)."""
        if not rule.folded or not _literal_set().issuperset(rule.folded):  # a rule from elsewhere: tried
            return True
        if self._places is None:
            self.places(rule.folded[0])
        return not self._present.isdisjoint(rule.folded)

    def holds(self, word: str) -> bool:
        """Whether the text holds `word` (as written); each word is looked for once."""
        if word not in self._holds:
            self._holds[word] = self._find(word)
        return self._holds[word]

    def _find(self, word: str) -> bool:
        text = self.text
        if word.lower() not in _literals():  # not one of the rules' words: searched on its own
            return word in text
        places = self.places(word.lower())
        if len(places) * _SPARSE <= len(text):
            return any(text.startswith(word, at) for at in places)
        return word in text

    def _overlong(self) -> list[tuple[int, int]]:
        """The runs of unquoted-value characters too long to hold a named value, found once."""
        if self._runs is None:
            # Such a run covers a whole aligned block of half its length: look for those first, cheaply.
            text, half = self.text, _OVERLONG_RUN // 2
            blocks = range(0, len(text) - half + 1, half)
            any_run = any(_VALUE_END.search(text, i, i + half) is None for i in blocks)
            self._runs = [m.span() for m in _OVERLONG.finditer(text)] if any_run else []
        return self._runs

    def anchors(self, stems: tuple[str, ...]) -> list[int]:
        """Where each of `stems` starts (ASCII case folded), in order."""
        if stems not in self._anchors:
            self._anchors[stems] = sorted(at for stem in stems for at in self.places(stem))
        return self._anchors[stems]

    def _matches(self, rule: Rule, in_runs: bool) -> Iterator[re.Match[str]]:
        """The rule's matches; `in_runs`: none can start deep inside an overlong run (see _OVERLONG)."""
        text = self.text
        if rule.gate is not None and not rule.gate.search(text):
            return
        if rule.anchored:
            skip_to = 0
            runs = iter(self._overlong() if in_runs else ())
            run = next(runs, None)
            for at in self.anchors(rule.words):
                while run is not None and run[1] - _OVERLONG_RUN <= at:
                    run = next(runs, None)
                if at < skip_to or (run is not None and run[0] <= at):
                    continue
                if m := rule.pattern.match(text, at):
                    if m.end("v") - m.start("v") > _LONG_VALUE:
                        skip_to = m.end("v")
                    yield m
        elif not rule.words or any(self.holds(w) for w in rule.words):
            yield from rule.pattern.finditer(text)

    def spans(self, rules: tuple[Rule, ...]) -> list[tuple[int, int, str]]:
        """(start, end, kind) of every value one of `rules` accepts, in order (they may overlap)."""
        found: list[tuple[int, int, str]] = []
        for rule in rules:
            if not self.may_match(rule):
                continue
            for m in self._matches(rule, rules is NAMED):
                if self.code and "q" in rule.pattern.groupindex and not m["q"]:
                    continue  # in code, the right-hand side is an expression
                if rule.accept(m):
                    found.append((m.start("v"), m.end("v"), rule.kind))
        if rules is CONTEXT:
            found += kubernetes_secrets(self)
        return sorted(found)


_K8S_SECRET = re.compile(r"^kind:[ \t]*[\"']?Secret[\"']?[ \t]*$", re.M)
_K8S_DATA = re.compile(r"^([ \t]*)(?:data|stringData):[ \t]*\r?\n", re.M)
_K8S_ENTRY = re.compile(r"[ \t]+[\w.-]+:[ \t]*[\"']?(?P<v>[^\s\"'#][^\s\"']*)")


def kubernetes_secrets(rules: TextRules) -> Iterator[tuple[int, int, str]]:
    """Every value under `data:` or `stringData:` of a Kubernetes Secret (base64 or plain)."""
    text = rules.text
    if not rules.holds(_K8S_WORD) or not _K8S_SECRET.search(text):
        return
    covered = 0  # a block nested in one already read: its entries were read with the outer one's
    for block in _K8S_DATA.finditer(text):
        indent, at = len(block[1]), block.end()
        if at <= covered:
            continue
        while at < len(text):
            end = text.find("\n", at)
            end = len(text) if end < 0 else end + 1
            line = text[at:end]
            if line.strip() and len(line) - len(line.lstrip(" \t")) <= indent:
                break
            entry = _K8S_ENTRY.match(line)
            if entry and not placeholder(entry["v"], 4) and "{{" not in line:
                yield at + entry.start("v"), at + entry.end("v"), "kubernetes-secret"
            at = end
        covered = at
