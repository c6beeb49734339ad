"""What the stages up to the first model call produce, shared by the dry run and the live run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lessongen.config.settings import Settings
from lessongen.conversation.compose import Composer, Message
from lessongen.conversation.history import Policy
from lessongen.conversation.reuse import Reuse
from lessongen.models.backend import Backend
from lessongen.models.catalog import ModelInfo
from lessongen.repo.secrets import SecretFinding
from lessongen.shared.data import Batch, FilePart, RepoScan
from lessongen.tokens.counter import Counter


@dataclass(frozen=True)
class Prepared:
    """The stages up to the first model call, shared by the dry run and the live run."""

    settings: Settings
    backend: Backend
    composer: Composer
    policy: Policy
    scan: RepoScan
    parts: tuple[FilePart, ...]
    batches: tuple[Batch, ...]
    budget: int
    system_tokens: int
    notes: tuple[str, ...] = ()
    secrets: tuple[SecretFinding, ...] = ()  # found in the files (values never kept)
    reuse: Reuse | None = None  # an update or a redo: the previous lesson's chapters taken as history

    @property
    def reused(self) -> Mapping[int, Message]:
        """The answers taken from the previous lesson by batch number (0: the intro); none for a new lesson."""
        return self.reuse.replies if self.reuse else {}

    @property
    def model(self) -> ModelInfo:
        """The model's facts."""
        return self.backend.info

    @property
    def counter(self) -> Counter:
        """The token counter that matches the model."""
        return self.backend.counter
