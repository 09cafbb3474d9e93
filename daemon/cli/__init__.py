"""Command-line verbs: one module per verb, each with `register(subparsers)` that sets `func`.

A verb's `func(args) -> int` returns the exit code: 0 ok, 1 runtime failure, 2 bad input or settings.
To add a verb, write `daemon/cli/<verb>.py` and add its module name to `VERBS`.
"""

from __future__ import annotations

VERBS = ["run", "say", "read", "ask", "transcribe", "doctor", "gpu", "connect", "voices", "model", "autostart"]
