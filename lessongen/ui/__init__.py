"""Terminal rendering: `terminal` is the one module that imports rich; `plan`, `live` and `reports` use it."""
