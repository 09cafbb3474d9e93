"""Finding and stopping this user's Ollama processes with psutil (configured names only, never others)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass

import psutil

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProcInfo:
    """A process the guard saw: pid, name and owner (as far as psutil could tell)."""

    pid: int
    name: str
    user: str = ""

    def __str__(self) -> str:
        return f"{self.name} (pid {self.pid})"


@dataclass(frozen=True)
class StopResult:
    """What stopping did: exited after terminate(), had to be killed, or could not be stopped."""

    stopped: tuple[ProcInfo, ...] = ()
    killed: tuple[ProcInfo, ...] = ()
    survived: tuple[ProcInfo, ...] = ()


def _current_uid() -> int | None:
    getuid = getattr(os, "getuid", None)
    return int(getuid()) if getuid is not None else None


def _current_username() -> str:
    try:
        return psutil.Process().username()
    except psutil.Error:
        return ""


def is_current_user(proc: psutil.Process, uid: int | None = None, username: str | None = None) -> bool:
    """True only when `proc` certainly belongs to this user (POSIX: real uid; Windows: user name).

    Anything psutil cannot tell (access denied, vanished) counts as another user's: never touched.
    """
    uid = _current_uid() if uid is None else uid
    try:
        if uid is not None and hasattr(proc, "uids"):
            return bool(proc.uids().real == uid)
        me = _current_username() if username is None else username
        return bool(me) and proc.username() == me
    except (psutil.Error, OSError):
        return False


def _name(proc: psutil.Process) -> str:
    try:
        if proc.status() == psutil.STATUS_ZOMBIE:
            return ""
        return proc.name()
    except (psutil.Error, OSError):
        return ""


def _user(proc: psutil.Process) -> str:
    try:
        return proc.username()
    except (psutil.Error, OSError, KeyError):
        return "?"


def find(names: Iterable[str]) -> tuple[list[psutil.Process], list[ProcInfo]]:
    """Running processes whose name equals one of `names` (case-insensitive).

    Returns (this user's processes, other users' matching processes — listed, never touched).
    """
    wanted = {n.casefold() for n in names if n.strip()}
    mine: list[psutil.Process] = []
    others: list[ProcInfo] = []
    if not wanted:
        return mine, others
    me_pid = os.getpid()
    uid, username = _current_uid(), (None if _current_uid() is not None else _current_username())
    for proc in psutil.process_iter():
        if proc.pid == me_pid:
            continue
        name = _name(proc)
        if not name or name.casefold() not in wanted:
            continue
        if is_current_user(proc, uid, username):
            mine.append(proc)
        else:
            others.append(ProcInfo(proc.pid, name, _user(proc)))
    return mine, others


def describe(proc: psutil.Process) -> ProcInfo:
    return ProcInfo(proc.pid, _name(proc) or "?", _user(proc))


def stop(procs: list[psutil.Process], terminate_timeout_s: float = 5.0, kill_timeout_s: float = 3.0) -> StopResult:
    """terminate() each process, wait, then kill() whatever is left, and wait again."""
    if not procs:
        return StopResult()
    infos = {p.pid: describe(p) for p in procs}
    live: list[psutil.Process] = []
    gone_early: list[ProcInfo] = []
    for proc in procs:
        try:
            proc.terminate()
            live.append(proc)
            log.info("sent terminate to %s", infos[proc.pid])
        except psutil.NoSuchProcess:
            gone_early.append(infos[proc.pid])
        except psutil.Error as exc:
            log.warning("cannot terminate %s: %s", infos[proc.pid], exc)
            live.append(proc)
    gone, alive = psutil.wait_procs(live, timeout=terminate_timeout_s)
    stopped = gone_early + [infos[p.pid] for p in gone]
    for proc in alive:
        try:
            proc.kill()
            log.warning("%s ignored terminate; killed it", infos[proc.pid])
        except psutil.NoSuchProcess:
            pass
        except psutil.Error as exc:
            log.warning("cannot kill %s: %s", infos[proc.pid], exc)
    killed_gone, survivors = psutil.wait_procs(alive, timeout=kill_timeout_s)
    return StopResult(
        stopped=tuple(stopped),
        killed=tuple(infos[p.pid] for p in killed_gone),
        survived=tuple(infos[p.pid] for p in survivors),
    )
