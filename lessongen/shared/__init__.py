"""Plain types and small helpers every stage uses: the frozen data values, atomic writes, JSON over HTTP."""
