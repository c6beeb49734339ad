"""The output formats a lesson renders to: the one list, light enough for config/ to import."""

from __future__ import annotations

from enum import Enum


class Format(Enum):
    """An output format; the value is its name on the command line and in config."""

    HTML = "html"
    TOUR = "tour"
    VTT = "vtt"
    MP4 = "mp4"  # the narrated video: needs the video extra, so never a default


DEFAULT_FORMATS = (Format.HTML, Format.TOUR, Format.VTT)


def parse_formats(value: object) -> tuple[Format, ...]:
    """Formats from 'html,tour', a list, or 'none' / an empty list for no rendering."""
    if isinstance(value, str):
        names = [part.strip().lower() for part in value.split(",")]
    elif isinstance(value, list | tuple):
        names = [(v.value if isinstance(v, Format) else str(v)).strip().lower() for v in value]
    else:
        raise ValueError("expected a list of formats")
    names = [n for n in names if n and n != "none"]
    known = {f.value: f for f in Format}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown format {unknown[0]!r}; expected html, tour, vtt, mp4 or none")
    return tuple(dict.fromkeys(known[n] for n in names))
