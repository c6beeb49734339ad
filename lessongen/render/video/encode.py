"""Encoding the MP4 with the ffmpeg binary imageio-ffmpeg ships. The only module importing imageio_ffmpeg."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lessongen.errors import OutputError

FRAME_RATE = 5  # the pictures are stills: a low rate keeps encoding far faster than real time


@dataclass(frozen=True)
class Shot:
    """A frame shown for a number of seconds."""

    image: Path
    seconds: float


@dataclass(frozen=True)
class Chapter:
    """A chapter marker: its title and span in milliseconds."""

    title: str
    start: int
    end: int


def ffmpeg() -> str:
    """The path of the ffmpeg binary inside the imageio-ffmpeg package."""
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "'\\''") + "'"


def _metadata_value(text: str) -> str:
    # ffmetadata escapes =, ;, #, \ and newlines with a backslash.
    for char in "\\=;#":
        text = text.replace(char, "\\" + char)
    return text.replace("\n", " ")


def chapters_file(title: str, chapters: Sequence[Chapter]) -> str:
    """An ffmetadata file with the video's title and chapter markers."""
    out = [";FFMETADATA1", f"title={_metadata_value(title)}", ""]
    for chapter in chapters:
        out += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={chapter.start}", f"END={chapter.end}"]
        out += [f"title={_metadata_value(chapter.title)}", ""]
    return "\n".join(out)


def encode(
    shots: Sequence[Shot], audio: Path, subtitles: Path, metadata: Path, work: Path, out: Path
) -> None:
    """One MP4: H.264 stills, AAC narration, a mov_text subtitle track and chapters from `metadata`."""
    listing = ["ffconcat version 1.0"]
    for shot in shots:
        listing += [f"file {_quoted(shot.image)}", f"duration {shot.seconds:.3f}"]
    listing.append(f"file {_quoted(shots[-1].image)}")  # the concat demuxer needs the last frame once more
    frames = work / "frames.ffconcat"
    frames.write_text("\n".join(listing) + "\n", "utf-8")
    command = [
        ffmpeg(), "-hide_banner", "-loglevel", "error", "-y",
        "-f", "concat", "-safe", "0", "-i", str(frames),
        "-i", str(audio), "-i", str(subtitles), "-i", str(metadata),
        "-map", "0:v", "-map", "1:a", "-map", "2:s", "-map_metadata", "3", "-map_chapters", "3",
        "-c:v", "libx264", "-preset", "veryfast", "-tune", "stillimage", "-pix_fmt", "yuv420p",
        # Constant-rate frames, the last one held so that no frame falls off before the audio ends.
        "-vf", f"fps={FRAME_RATE},tpad=stop_mode=clone:stop_duration=2", "-c:a", "aac", "-b:a", "96k", "-c:s", "mov_text",
        "-metadata:s:s:0", "language=eng", "-metadata:s:a:0", "language=eng",
        # The repeated last frame would outlast the narration: cut at the scenes' total.
        "-t", f"{sum(shot.seconds for shot in shots):.3f}", "-movflags", "+faststart", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise OutputError(
            f"ffmpeg could not encode {out.name}: {last}", "check free disk space, then render again"
        )


def describe(media: Path) -> str:
    """What `ffmpeg -i` says about a file: its streams, duration and chapters (for checks and tests)."""
    done = subprocess.run(
        [ffmpeg(), "-hide_banner", "-i", str(media)], capture_output=True, text=True, check=False
    )
    return done.stderr


def mean_volume(media: Path) -> float:
    """The audio's mean level in dB, measured by ffmpeg's volumedetect filter (-91 dB is silence)."""
    command = [
        ffmpeg(),
        "-hide_banner",
        "-i",
        str(media),
        "-map",
        "0:a",
        "-af",
        "volumedetect",
        "-f",
        "null",
        "-",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    for line in done.stderr.splitlines():
        if "mean_volume:" in line:
            return float(line.split("mean_volume:")[1].split()[0])
    return -91.0
