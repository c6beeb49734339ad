"""Stage 5, the script: scenes parsed from replies, anchors checked against files, the assembled lesson and its outputs."""
