"""What can stop a model download; each message says what went wrong and what to do."""

from __future__ import annotations

from daemon.errors import VoxTrayError


class Cancelled(Exception):
    """The user cancelled; what was downloaded so far is kept for a later resume."""


class DownloadError(VoxTrayError):
    """The download failed (network, server, disk or a file that does not verify): exit code 1."""


class TransientError(DownloadError):
    """Worth trying again: a dropped connection, a timeout, a server error (HTTP 5xx / 429)."""


class NotFoundError(DownloadError):
    """The server has no such file (HTTP 404 or 410)."""


class RefusedError(DownloadError):
    """The download may not start (licence not accepted, another download running): exit code 2."""

    exit_code = 2
