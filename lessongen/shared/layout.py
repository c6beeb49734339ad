"""The names lessongen gives what it writes into an output folder: one home, for the writers and the walk."""

from __future__ import annotations

STATE_DIR = ".lessongen"  # the saved run; a folder holding one is a lesson folder wherever it sits
LESSON_FILES = ("script.md", "script.json", "run.json")
SITE_DIR = "site"
TOURS_DIR = ".tours"
CAPTIONS_DIR = "captions"
VIDEO_DIR = "video"
VIDEO_CACHE = f"{STATE_DIR}/video"  # per-scene audio and frames, by content hash
RENDERED_DIRS = (SITE_DIR, TOURS_DIR, CAPTIONS_DIR, VIDEO_DIR)
