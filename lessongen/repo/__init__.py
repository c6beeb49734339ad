"""Stage 1, the repository: walking the disk, ignore rules, default exclusions and secrets."""
