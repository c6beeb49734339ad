"""Stage 2, the files: token counters, parallel counting, splitting, remembered counts, remote tokenizers."""
