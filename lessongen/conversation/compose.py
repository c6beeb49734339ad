"""Chat messages built from templates and batches, each tokenized exactly once."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

from lessongen.conversation.prompts import PromptSet
from lessongen.shared.data import Batch, FilePart
from lessongen.tokens.counter import Counter, message_overhead

SYSTEM, USER, ASSISTANT = "system", "user", "assistant"
_TAG_SLACK = 4  # a content id can take a few more tokens than the sample's
_JOINS_TAG = ("\n", "/", "\r")  # a tag's closing `>` and newline merge with these in tiktoken's splits


@dataclass(frozen=True)
class Message:
    """One chat message and its prompt tokens (content plus the message's framing)."""

    role: str
    content: str
    tokens: int

    def as_dict(self) -> dict[str, str]:
        """The message as the chat API takes it."""
        return {"role": self.role, "content": self.content}


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def file_open(part: FilePart) -> str:
    """The tag that opens a file in a batch message; it starts a line and ends with a newline."""
    where = (
        f' part="{part.part} of {part.parts}" lines="{part.start_line}-{part.end_line}"'
        if part.parts > 1
        else ""
    )
    return f'<file path="{_attr(part.path)}"{where} id="{part.digest[:12]}">\n'


def file_close(part: FilePart) -> str:
    """The tag that closes a file; the id makes it impossible for file text to fake the end."""
    return f'</file id="{part.digest[:12]}">\n'


def tag_joins(head: str, ends_with_newline: bool) -> bool:
    """Whether a file's opening tag must be counted together with its text (see Composer): the text
    starts with a character the tag's last token merges with, or it lacks its final newline."""
    return head.startswith(_JOINS_TAG) or not ends_with_newline


def file_body(part: FilePart) -> str:
    """A part's text, ending with a newline so the next tag starts a fresh line."""
    return part.text if part.text.endswith("\n") else part.text + "\n"


class Composer:
    """Builds every message of the conversation and counts each one once.

    A batch message is a sequence of segments that each end with a newline and start with a
    character that tiktoken's split patterns never join to a preceding newline (anything but a newline
    or a slash), so the message's tokens are the sum of the segments' tokens and file texts are never
    re-tokenized. A file that starts with a newline or a slash is counted together with its tag.
    """

    def __init__(self, prompts: PromptSet, counter: Counter) -> None:
        self.prompts = prompts
        self.counter = counter
        self._overhead = {role: message_overhead(counter, role) for role in (SYSTEM, USER, ASSISTANT)}
        self._last_batch: tuple[tuple[int, int, int], Message] | None = None  # the policy asks for it twice
        # A plan simulates the run three times (assumed, half and twice the replies): each batch's
        # tokens and each small message are counted once, in the first. Keyed by the batch object.
        self._batch_tokens: dict[tuple[int, int, int], tuple[Batch, int]] = {}
        self._small: dict[tuple[str, tuple[int | str, ...]], Message] = {}
        self._tag_tokens: int | None = None
        self._label_tokens: dict[str, int] = {}  # packing asks for a part's overhead several times
        self._stand_ins = False  # see projecting()

    def projecting(self) -> Composer:
        """This composer for a dry run, sharing its counts: a batch message's content is a short stand-in.

        Its tokens are the real message's and two stand-ins are equal exactly when the real messages
        would be (same batch, count and scenes), so a projection is unchanged; it never builds the
        text of every file three times per plan.
        """
        twin = copy.copy(self)  # shallow: the counts made by either are known to both
        twin._stand_ins = True
        return twin

    def prompt_tokens(self, messages: Sequence[Message]) -> int:
        """Prompt tokens of a chat: its messages and the reply priming of the counter's chat format."""
        return sum(m.tokens for m in messages) + self.counter.framing.reply_priming

    def _message(self, role: str, content: str, content_tokens: int | None = None) -> Message:
        tokens = self.counter.count(content) if content_tokens is None else content_tokens
        return Message(role, content, tokens + self._overhead[role])

    def system(self) -> Message:
        """The system prompt."""
        return self._message(SYSTEM, self.prompts.render("system"))

    def framing(self, role: str) -> int:
        """Tokens a message of this role costs besides its content."""
        return self._overhead[role]

    def batch(self, batch: Batch, count: int, scenes: int) -> Message:
        """The user message that carries a batch's files and asks for `scenes` scenes (built once)."""
        if self._stand_ins:
            stand_in = f"<batch {batch.index + 1} of {count}, {scenes} scenes: {len(batch.parts)} parts>"
            return self._message(USER, stand_in, self._content_tokens(batch, count, scenes))
        key = (batch.index, count, scenes)
        if self._last_batch is None or self._last_batch[0] != key:
            self._last_batch = (key, self._build_batch(batch, count, scenes))
        return self._last_batch[1]

    def _header(self, batch: Batch, count: int, scenes: int) -> str:
        labels = ", ".join(part.label for part in batch.parts)
        return self.prompts.render(
            "batch", number=batch.index + 1, count=count, file_list=labels, scenes=scenes
        )

    def _build_batch(self, batch: Batch, count: int, scenes: int) -> Message:
        header = self._header(batch, count, scenes)
        pieces = [header]
        for part in batch.parts:
            # A plan's unread part (its tag never joins its text) stands in by its digest, in the tag.
            pieces += [file_open(part), "" if part.unread else file_body(part), file_close(part)]
        return self._message(USER, "".join(pieces), self._content_tokens(batch, count, scenes, header))

    def _content_tokens(self, batch: Batch, count: int, scenes: int, header: str | None = None) -> int:
        """A batch message's content tokens, counted once per batch object, count and scenes."""
        key = (id(batch), count, scenes)
        known = self._batch_tokens.get(key)
        if known is None or known[0] is not batch:
            header = self._header(batch, count, scenes) if header is None else header
            known = self._batch_tokens[key] = (batch, self._count_batch(batch, header))
        return known[1]

    def _count_batch(self, batch: Batch, header: str) -> int:
        """A batch message's content tokens: the header, each file's tags, and the files' own counts."""
        tokens = self.counter.count(header)
        tags: list[str] = []
        for part in batch.parts:
            opening = file_open(part)
            body = "" if part.unread else file_body(part)
            tags.append(file_close(part))
            if not part.unread and tag_joins(body[:1], part.text.endswith("\n")):
                # The tag's last token would merge with a leading newline or slash: count them together.
                tokens += self.counter.count(opening + body)
            else:
                tags.append(opening)
                tokens += part.tokens
        joined = "".join(tags)
        # Each tag starts with `<` and ends with its only newline, so with a line-additive counter the
        # tags count the same joined as one by one (one call instead of two per file).
        if self.counter.line_additive and joined.count("\n") == len(tags):
            return tokens + self.counter.count(joined)
        return tokens + sum(self.counter.count(tag) for tag in tags)

    def part_overhead(self, part: FilePart) -> int:
        """Tokens a part adds to a batch message besides its text: its tags and its name in the file list.

        An estimate for packing batches (the label is counted; the tags' fixed part is measured once);
        the message itself is counted exactly when it is built.
        """
        if self._tag_tokens is None:
            sample = FilePart("a", "", 0, "0" * 32)
            self._tag_tokens = self.counter.count(file_open(sample) + file_close(sample)) + _TAG_SLACK
        label = self._label_tokens.get(part.label)
        if label is None:
            label = self._label_tokens[part.label] = self.counter.count(part.label)
        return 2 * label + self._tag_tokens

    def _rendered(self, role: str, template: str, **values: int | str) -> Message:
        """A message from a template, rendered and counted once for the same values."""
        key = (template, tuple(values.values()))
        if key not in self._small:
            self._small[key] = self._message(role, self.prompts.render(template, **values))
        return self._small[key]

    def stub(self, batch: Batch, count: int) -> Message:
        """The short note that replaces a batch's source once it has been explained."""
        files = ", ".join(batch.paths)
        return self._rendered(USER, "stub", number=batch.index + 1, count=count, file_list=files)

    def summary_request(self, limit_words: int) -> Message:
        """The request for a rolling summary, sent as a continuation of the history."""
        return self._rendered(USER, "summary", limit=limit_words)

    def summary_context(self, first: int, last: int) -> Message:
        """The note placed before a summary once older turns are folded into it."""
        return self._rendered(USER, "summary_context", first=first, last=last)

    def folded(self, first: int, last: int) -> Message:
        """The note that stands for turns dropped without the model (no summary of them was written)."""
        return self._rendered(ASSISTANT, "folded", first=first, last=last)

    def intro_request(self, count: int) -> Message:
        """The request for the introduction chapter."""
        return self._rendered(USER, "intro", count=count)

    def repair_request(self, problem: str) -> Message:
        """The request to answer again after an unusable reply."""
        return self._message(USER, self.prompts.render("repair", problem=problem))

    def reply(self, text: str) -> Message:
        """A model's answer."""
        return self._message(ASSISTANT, text)

    def projected_reply(self, label: str, tokens: int) -> Message:
        """A stand-in answer of an assumed size, for the dry run."""
        return Message(ASSISTANT, f"<projected reply {label}>", tokens + self._overhead[ASSISTANT])
