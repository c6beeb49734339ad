"""The narrated video: frames of the anchored code, an offline voice, one MP4 with chapters and subtitles."""
