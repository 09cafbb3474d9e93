"""The soak: the real daemon (`daemon.app.App`, headless) answers N questions from a seeded faulty LLM.

    .venv/bin/python bench/soak.py --questions 200                  # the CI soak (tests/test_soak.py)
    .venv/bin/python bench/soak.py --minutes 15 --json soak.json    # the long soak (figures in README.md)
    .venv/bin/python bench/soak.py --questions 100 --xtts           # with the tiny random-weight XTTS too
    .venv/bin/python bench/soak.py --quick                          # seconds: 8 questions, both protocols (CI)

What runs: `App.start()` exactly as `python -m daemon run --headless` does (the speech stack with the system voice:
espeak-ng as a child process per sentence; the assistant, LLM client and health poller, the VRAM watcher; without a
display the hotkeys are off) and questions go to the daemon's Assistant, as the question box's do.
The LLM is `bench/faulty_llm.py`: the test stand-ins (Ollama NDJSON and OpenAI SSE, loopback only, ephemeral ports)
in a child process, one fault per question drawn by a seeded RNG (stalls, HTTP 500, cuts, garbled lines,
keep-alives, byte dribble, blank and code-only answers, redirects, long and endless answers). Every
`--switch-every` questions the daemon is pointed at the other protocol (settings.json is updated and
`Commands.reload_settings()` re-reads it, as after `connect`). The bounds (first word, gap between words, total time and
length) are set short so that a faulty question costs well under a second.

The audio sink: no sound card here, so `App`'s Player is replaced by `PacedSink`, a null sink that consumes the
audio on its own clock at `--sink-speed` times real time (20x by default: a 5 s sentence "plays" in 0.25 s; the
pipeline waits for it like for a device) and counts the samples of each question, so a question that ended in
silence is seen. (ALSA's `null` PCM would take the real Player but spins a CPU at 100 %; `--sink device` uses the
real Player on the default output device where one exists, in real time.) `--xtts` adds the tiny random-weight
XTTS (tests/fixtures/xtts.py, built on first use) on the CPU in front of the system voice.

Every `--report-every` questions one line: questions, RSS, OS threads (Python threads), file descriptors, child
processes, files in the daemon's temp folder, elapsed time. At the end: per fault kind, how the questions ended
(spoken answer / spoken error sentence / cut at a bound and spoken / silent / not ended in time), the longest
question against its bound, escaped exceptions (sys/threading/unraisable hooks) and ERROR log records that
carry a traceback (the daemon's unexpected-exception paths). The baseline is measured after `--warmup`
questions. Exit code 1 when a limit is broken:
  RSS more than --max-rss-growth-mb (50) over the baseline; any growth of OS threads, file descriptors, child
  processes or temp files over the baseline; a question not ended within its bound + --slack; a question that
  ended in silence; any escaped exception or unexpected-exception log record.
The end sample is the minimum over at least ~1 s and, while a count is above the baseline, up to END_WAIT_S (3 s),
so a connection closing as the soak ends is not counted; what stays open that long is a leak. When fds grew, the
failure names the new descriptors (a TCP socket by its ports and state) and says whether gc.collect() closed them
(a socket left to the garbage collector instead of being closed: issue #22, LLM error replies).
A question's bound: llm_connect_timeout_s + llm_max_answer_s (the answer's own bound) + --speech-bound (speaking at
most speak_max_chars characters and one error sentence).
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.faulty_llm import EXPECT, KIND_NAMES, Fault, FaultPlan, FaultyLLM  # noqa: E402

OUTCOMES = ("answer", "error", "cut", "silent", "hung")
QUESTIONS = ("Why is the sky blue?", "How far away is the moon?", "What is a prime number?",
             "Why do cats purr?", "How does a rainbow form?", "What makes bread rise?")
BOUNDS: dict[str, Any] = {  # settings for a fast soak (the defaults are minutes: see settings.py)
    "llm_connect_timeout_s": 2.0, "llm_first_token_timeout_s": 0.5, "llm_idle_timeout_s": 0.3,
    "llm_max_answer_s": 1.5, "llm_max_answer_chars": 4000, "speak_max_chars": 400,
}
LOUD = 1e-3  # a sample above this is sound
END_WAIT_S = 3.0  # the end sample waits up to this long for a count above the baseline's to come down


class PacedSink:
    """An AudioSink without a device: audio "plays" on a clock `speed` times faster than real time.

    play() never blocks (the Player only blocks beyond 30 s queued); drain() waits until the queued audio has
    played; stop() drops it. Counts every sample and the loud ones, nothing is kept.
    """

    output_rate = 48000
    device_name = "paced (no device)"
    device_open = True  # as a running stream: LiveSink never re-scans devices for it
    paused = False

    def __init__(self, speed: float = 20.0) -> None:
        self.speed = speed
        self.samples = 0
        self.loud = 0
        self.volume = 1.0
        self.on_lost: object = None  # LiveSink's hook for a device that went away: never called here
        self._until = 0.0  # time.monotonic() when everything queued has played
        self._lock = threading.Lock()

    @property
    def idle(self) -> bool:
        with self._lock:
            return self._until <= time.monotonic()

    def pause(self) -> None:
        pass

    def resume(self) -> None:
        pass

    def move_to(self, device: object, *, rescan: bool = True) -> None:
        pass

    def play(self, samples: np.ndarray, rate: int) -> None:
        data = np.asarray(samples, dtype=np.float32).reshape(-1)
        with self._lock:
            self.samples += data.size
            self.loud += int(np.count_nonzero(np.abs(data) > LOUD))
            self._until = max(self._until, time.monotonic()) + data.size / float(rate) / self.speed

    def end_source(self) -> None:
        pass

    def stop(self) -> None:
        with self._lock:
            self._until = 0.0

    def drain(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                left = self._until - time.monotonic()
            if left <= 0:
                return True
            if deadline is not None and time.monotonic() + min(left, 0.05) > deadline:
                time.sleep(max(0.0, deadline - time.monotonic()))
                return False
            time.sleep(min(left, 0.05))

    def warm(self, timeout: float | None = None) -> bool:
        return True

    def close(self) -> None:
        self.stop()


class Watch:
    """Escaped exceptions (sys/threading/unraisable hooks) and ERROR log records, counted."""

    def __init__(self) -> None:
        self.escaped: list[str] = []
        self.errors = 0  # ERROR/CRITICAL records: expected ones too (a failing LLM is logged at ERROR)
        self.unexpected: list[str] = []  # ... of which carry a traceback: the unexpected-exception paths
        self._lock = threading.Lock()

    def install(self) -> None:
        def thread_hook(args: threading.ExceptHookArgs) -> None:
            name = args.thread.name if args.thread is not None else "?"
            self._escaped(f"thread {name}: {args.exc_type.__name__}: {args.exc_value}")

        def sys_hook(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
            self._escaped(f"main: {exc_type.__name__}: {exc}")
            sys.__excepthook__(exc_type, exc, tb)

        def unraisable_hook(info: Any) -> None:
            self._escaped(f"unraisable ({info.object!r}): {info.exc_type.__name__}: {info.exc_value}")

        threading.excepthook = thread_hook
        sys.excepthook = sys_hook
        sys.unraisablehook = unraisable_hook
        watch = self

        class Counter(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                with watch._lock:
                    watch.errors += 1
                    if record.exc_info and len(watch.unexpected) < 1000:
                        watch.unexpected.append(f"{record.name}: {record.getMessage()[:200]}")

        handler = Counter(level=logging.ERROR)
        logging.getLogger().addHandler(handler)

    def _escaped(self, text: str) -> None:
        with self._lock:
            self.escaped.append(text[:300])
        print(f"ESCAPED EXCEPTION {text}", file=sys.stderr, flush=True)


@dataclass
class Sample:
    questions: int
    elapsed_s: float
    rss_mb: float
    threads: int  # OS threads of the process
    py_threads: int
    fds: int
    children: int
    tmp_files: int

    def line(self) -> str:
        return (f"q {self.questions:5d}  rss {self.rss_mb:7.1f} MB  threads {self.threads:3d} (py {self.py_threads:2d})"
                f"  fds {self.fds:3d}  children {self.children}  tmp {self.tmp_files}  {self.elapsed_s:7.1f} s")


@dataclass
class Question:
    n: int
    kind: str
    expect: str
    outcome: str
    duration_s: float
    bound_s: float
    samples: int
    error_kind: str = ""


@dataclass
class Summary:
    seed: int
    questions: int = 0
    minutes: float = 0.0
    xtts: bool = False
    bound_s: float = 0.0
    slack_s: float = 0.0
    warmup: int = 0
    baseline: Sample | None = None
    end: Sample | None = None
    peak_rss_mb: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)  # kind -> outcome -> count
    unexpected_outcomes: dict[str, int] = field(default_factory=dict)  # "kind: expected -> got" -> count
    max_duration_s: float = 0.0
    max_duration_kind: str = ""
    max_over_bound_s: float = -1e9  # the largest (duration - bound): negative when every question was within it
    escaped: list[str] = field(default_factory=list)
    error_records: int = 0
    unexpected_records: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    engines: dict[str, int] = field(default_factory=dict)
    fd_detail: str = ""  # when fds grew: which descriptors are new (see new_fds)


def measure(n: int, t0: float, tmp: Path, settle: bool = False, until: Sample | None = None) -> Sample:
    """One sample; `settle`: the minimum of a few over ~1 s, so a thread that is just ending is not counted.

    `until` (the end sample): the minimum over at least ~1 s and, while a count is still above `until`'s (the
    baseline), over up to END_WAIT_S, so a connection or thread that is closing as the soak ends (a health check
    the last failed question asked for) is not counted; what stays open that long is a leak.
    """
    proc = psutil.Process()

    def one() -> Sample:
        try:
            tmp_files = sum(len(files) + len(dirs) for _, dirs, files in os.walk(tmp))
        except OSError:
            tmp_files = -1
        return Sample(n, time.monotonic() - t0, proc.memory_info().rss / 2**20, proc.num_threads(),
                      threading.active_count(), proc.num_fds() if hasattr(proc, "num_fds") else proc.num_handles(),
                      len(proc.children()), tmp_files)

    if not settle:
        return one()
    samples: list[Sample] = []
    deadline = time.monotonic() + END_WAIT_S
    while True:
        samples.append(one())
        time.sleep(0.25)
        if len(samples) < 5:
            continue
        if until is None or time.monotonic() > deadline or not _above(samples, until):
            break
    last = samples[-1]
    return Sample(n, last.elapsed_s, last.rss_mb, min(s.threads for s in samples), min(s.py_threads for s in samples),
                  min(s.fds for s in samples), min(s.children for s in samples), min(s.tmp_files for s in samples))


def _above(samples: list[Sample], base: Sample) -> bool:
    """Whether any count's minimum over `samples` is still above the baseline's."""
    return any(min(getattr(x, name) for x in samples) > getattr(base, name)
               for name in ("threads", "py_threads", "fds", "children", "tmp_files"))


def fd_targets() -> dict[int, str]:
    """This process's file descriptors and what each is (Linux: /proc; {} elsewhere); a TCP socket is named by
    its ports and state, e.g. "tcp 127.0.0.1:41230 -> 127.0.0.1:38901 ESTABLISHED"."""
    fds: dict[int, str] = {}
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return fds
    for name in names:
        try:
            fds[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue  # closed since (the listing's own descriptor among them)
    sockets: dict[str, str] = {}
    for table in ("tcp", "tcp6"):
        try:
            rows = Path(f"/proc/net/{table}").read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            f = row.split()
            if len(f) > 9:
                sockets[f[9]] = f"{table} {_addr(f[1])} -> {_addr(f[2])} {TCP_STATES.get(f[3], f[3])}"
    out = {}
    for fd, target in fds.items():
        if target.startswith("socket:["):
            target = sockets.get(target[8:-1], target)
        out[fd] = target
    return out


TCP_STATES = {"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2",
              "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING"}


def _addr(hexed: str) -> str:
    host, port = hexed.split(":")
    if len(host) == 8:  # IPv4, little-endian
        host = ".".join(str(b) for b in reversed(bytes.fromhex(host)))
    return f"{host}:{int(port, 16)}"


def new_fds(before: dict[int, str]) -> str:
    """The descriptors open now that were not at `before` (the baseline), described; then whether the garbage
    collector frees them: a socket it frees was left to it by its owner instead of being closed (the issue #22
    leak: an LLM reply that was an error kept its connection open in a reference cycle)."""
    import gc

    now = fd_targets()
    extra = sorted(t for fd, t in now.items() if before.get(fd) != t)
    if not extra:
        return ""
    counts = collections.Counter(extra)
    text = "new: " + "; ".join(f"{t}" + (f" x{n}" if n > 1 else "") for t, n in counts.items())
    gc.collect()
    freed = len(now) - len(fd_targets())
    if freed > 0:
        text += f"; gc.collect() closed {freed} of them: left to the garbage collector, never closed"
    return text


def classify(timings: Any, question: str) -> tuple[str, str]:
    """(answer | error | cut, error kind) from the assistant's AnswerTimings of `question`."""
    if timings is None or timings.question != question:
        return "error", "no timings for the question"
    kind = timings.error_kind
    if kind in ("LLMAnswerCutError", "LLMTimeoutError") or (timings.truncated and not kind):
        return "cut", kind or "speak_max_chars"
    if timings.error:
        return "error", kind or timings.error[:80]
    return "answer", ""


def verdict(s: Summary, max_rss_growth_mb: float, growth: bool = True) -> list[str]:
    """The limits the soak enforces; each broken one is one line (empty: the soak passed).

    `growth=False` (--quick: too few questions for counts to settle) skips the resource-growth limits.
    """
    out: list[str] = []
    b, e = s.baseline, s.end
    if b is None or e is None:
        return [f"the soak ended before its baseline was measured ({s.questions} questions, warm-up {s.warmup})"]
    if growth and e.rss_mb - b.rss_mb > max_rss_growth_mb:
        out.append(f"RSS grew {e.rss_mb - b.rss_mb:.1f} MB over the baseline ({b.rss_mb:.1f} -> {e.rss_mb:.1f} MB; "
                   f"limit {max_rss_growth_mb:g} MB)")
    for name in ("threads", "fds", "children", "tmp_files") if growth else ():
        before, after = getattr(b, name), getattr(e, name)
        if after > before:
            detail = f"; {s.fd_detail}" if name == "fds" and s.fd_detail else ""
            out.append(f"{name} grew over the baseline: {before} -> {after} (still after waiting up to "
                       f"{END_WAIT_S:g} s for closing ones){detail}")
    hung = sum(o.get("hung", 0) for o in s.outcomes.values())
    if hung:
        out.append(f"{hung} question(s) did not end within their bound ({s.bound_s:g} s + {s.slack_s:g} s slack)")
    elif s.max_over_bound_s > s.slack_s:
        out.append(f"a question took {s.max_duration_s:.1f} s, over its bound {s.bound_s:g} s + {s.slack_s:g} s")
    silent = sum(o.get("silent", 0) for o in s.outcomes.values())
    if silent:
        out.append(f"{silent} question(s) ended in silence")
    if s.escaped:
        out.append(f"{len(s.escaped)} escaped exception(s): {s.escaped[:3]}")
    if s.unexpected_records:
        out.append(f"{len(s.unexpected_records)} unexpected-exception log record(s): {s.unexpected_records[:3]}")
    return out


def soak_settings(args: argparse.Namespace, url: str) -> dict[str, Any]:
    values: dict[str, Any] = {
        **BOUNDS, "remote_llm_url": url, "llm_api": "auto", "llm_model": "", "engine": "auto",
        "engine_order": ["system"], "use_local_cloning": False, "system_rate": 300, "notifications": False,
        "llm_health_interval_s": 5.0, "stt_preload": False, "llm_headers": {},
    }
    if args.xtts:
        import torch

        from tests.fixtures.xtts import ensure_tiny_xtts

        torch.set_num_threads(1)  # as the tests do: one intra-op thread, on a small shared CPU

        values.update(
            use_local_cloning=True, engine_order=["xtts", "system"], xtts_model_path=str(ensure_tiny_xtts()),
            xtts_device="cpu", xtts_allow_cpu=True, cloning_reference_file=str(ROOT / "voices" / "sample.wav"),
            xtts_first_chunk_tokens=4, xtts_chunk_tokens=8, xtts_max_rtf=1000.0, first_chunk_deadline_s=30.0,
        )
    return values


def start_app(args: argparse.Namespace, work: Path, url: str, sink: PacedSink | None) -> Any:
    """The daemon as `run --headless` builds it, on the soak's own settings.json, with the paced sink."""
    from daemon import app as app_mod
    from daemon import settings as settings_mod
    from daemon.logs import setup_logging

    setup_logging(level="INFO")
    path = work / "settings.json"
    settings_mod.save(settings_mod.Settings(**soak_settings(args, url)), path)
    if sink is not None:
        app_mod.Player = lambda *_a, **_k: sink  # type: ignore[assignment,misc]
    app = app_mod.App(settings_mod.load(path), path, headless=True)
    app.start()
    if args.xtts:
        xtts = app.parts.speech.engines.get("xtts")
        deadline = time.monotonic() + 300
        while xtts is not None and not xtts.ready() and time.monotonic() < deadline:
            time.sleep(0.2)
        print(f"XTTS {'ready' if xtts is not None and xtts.ready() else 'NOT ready'}", flush=True)
    return app


def inject_leak(kinds: list[str], keep: list[Any]) -> None:
    """--inject-leak (tests/test_soak.py proves the checker fails): one leaked thread / fd / exception per call."""
    for kind in kinds:
        _leak(kind, keep)


def _leak(kind: str, keep: list[Any]) -> None:
    if kind == "thread":
        stop = threading.Event()
        keep.append(stop)
        threading.Thread(target=stop.wait, name="leaked-by-soak", daemon=True).start()
    elif kind == "fd":
        keep.append(open(os.devnull, "rb"))  # noqa: SIM115 - leaked on purpose
    elif kind == "exception":
        threading.Thread(target=lambda: 1 / 0, name="raises-by-soak", daemon=True).start()
    else:
        raise ValueError(f"--inject-leak: unknown kind {kind!r} (thread, fd, exception)")


def isolate() -> tuple[Path, Path]:
    """A private work folder (settings, logs, data) and temp folder; no display (headless: no tray, no hotkeys)."""
    work = Path(tempfile.mkdtemp(prefix="voxtray-soak-"))
    tmp = work / "tmp"
    tmp.mkdir()
    for var, sub in (("VOXTRAY_LOG_DIR", "logs"), ("VOXTRAY_DATA_DIR", "data"), ("XDG_CACHE_HOME", "cache")):
        os.environ[var] = str(work / sub)
    os.environ["TMPDIR"] = str(tmp)  # the system voice's folders and WAVs: counted as tmp files
    tempfile.tempdir = None
    for var in ("DISPLAY", "WAYLAND_DISPLAY"):
        os.environ.pop(var, None)
    return work, tmp


class Soak:
    """One soak run: the daemon, the faulty LLM, the questions and the tallies."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work, self.tmp = isolate()
        self.watch = Watch()
        self.watch.install()
        self.s = Summary(seed=args.seed, xtts=args.xtts, slack_s=args.slack, warmup=args.warmup)
        self.s.bound_s = BOUNDS["llm_connect_timeout_s"] + BOUNDS["llm_max_answer_s"] + args.speech_bound
        self.sink = PacedSink(args.sink_speed) if args.sink == "null" else None
        self.plan = FaultPlan(args.seed)
        self.outcomes: dict[str, collections.Counter[str]] = {k: collections.Counter() for k in KIND_NAMES}
        self.surprises: collections.Counter[str] = collections.Counter()
        self.engines: collections.Counter[str] = collections.Counter()
        self.leaks: list[Any] = []
        self.baseline_fds: dict[int, str] = {}
        self.apis = ["ollama", "openai"]
        self.llm: FaultyLLM | None = None
        self.app: Any = None
        self.t0 = time.monotonic()

    def run(self) -> Summary:
        args, s = self.args, self.s
        self.llm = FaultyLLM.start()
        n = 0
        try:
            self.app = start_app(args, self.work, self.llm.urls[self.apis[0]], self.sink)
            print(self.header(), flush=True)
            self.t0 = time.monotonic()
            deadline = self.t0 + args.minutes * 60 if args.minutes else None
            while (n < args.questions) if deadline is None else (time.monotonic() < deadline):
                n += 1
                if not self.ask(n):
                    break
                self.after(n)
        finally:
            s.questions = n
            s.minutes = (time.monotonic() - self.t0) / 60
            if s.baseline is not None:
                s.end = measure(n, self.t0, self.tmp, settle=True, until=s.baseline)
                s.peak_rss_mb = max(s.peak_rss_mb, s.end.rss_mb)
                if s.end.fds > s.baseline.fds:
                    s.fd_detail = new_fds(self.baseline_fds)
            if self.app is not None:
                self.app.shutdown()
            self.llm.close()
        s.outcomes = {k: dict(v) for k, v in self.outcomes.items() if v}
        s.unexpected_outcomes = dict(self.surprises)
        s.engines = dict(self.engines)
        s.escaped = list(self.watch.escaped)
        s.error_records = self.watch.errors
        s.unexpected_records = list(self.watch.unexpected)
        s.failures += verdict(s, args.max_rss_growth_mb, growth=not args.quick)
        return s

    def header(self) -> str:
        args, s = self.args, self.s
        length = f"{args.minutes:g} minutes" if args.minutes else f"{args.questions} questions"
        sink = f"null x{args.sink_speed:g}" if self.sink is not None else "the default output device"
        return (f"soak: seed {args.seed}, {length}, bound {s.bound_s:g} s + {args.slack:g} s slack per question, "
                f"sink {sink}, engines {list(self.app.parts.speech.engines)}; work folder {self.work}")

    def ask(self, n: int) -> bool:
        """Question n against its fault, tallied; False when it could not be stopped (the soak ends)."""
        args, s, app = self.args, self.s, self.app
        assert self.llm is not None
        if args.switch_every and n > 1 and (n - 1) % args.switch_every == 0:
            from daemon import settings as settings_mod

            self.apis.reverse()  # the other protocol, as after `connect` to another server
            settings_mod.update(app.live.path, remote_llm_url=self.llm.urls[self.apis[0]])
            app.commands.reload_settings()
        fault: Fault = self.plan.next()
        self.llm.serve(fault)
        question = f"Question {n}: {QUESTIONS[n % len(QUESTIONS)]}"
        before = self.sink.loud if self.sink is not None else 0
        q0 = time.monotonic()
        assistant = app.parts.assistant
        assistant.ask(question)
        ended = assistant.wait_idle(s.bound_s + args.slack)
        duration = time.monotonic() - q0
        if ended:
            outcome, error_kind = classify(assistant.last_timings, question)
            if self.sink is not None and self.sink.loud == before:
                outcome = "silent"
        else:
            outcome, error_kind = "hung", ""
            print(f"question {n} ({fault.kind}) did not end within {s.bound_s + args.slack:g} s", flush=True)
            app.commands.stop_speaking()
            if not assistant.wait_idle(30):
                s.failures.append(f"question {n} ({fault.kind}) could not be stopped either; soak aborted")
                return False
        self.outcomes[fault.kind][outcome] += 1
        if outcome in EXPECT and outcome != fault.expect:
            self.surprises[f"{fault.kind}: {fault.expect} -> {outcome} ({error_kind})"] += 1
        self.engines.update(_engines(app))
        if duration > s.max_duration_s:
            s.max_duration_s, s.max_duration_kind = duration, fault.kind
        s.max_over_bound_s = max(s.max_over_bound_s, duration - s.bound_s)
        return True

    def after(self, n: int) -> None:
        """Leaks on request, the baseline after warm-up, a report line every --report-every questions."""
        args, s = self.args, self.s
        if args.inject_leak and n > args.warmup:
            inject_leak(args.inject_leak, self.leaks)
        if n == args.warmup:
            s.baseline = measure(n, self.t0, self.tmp, settle=True)
            self.baseline_fds = fd_targets()
            print(f"baseline after {n} warm-up questions: {s.baseline.line()}", flush=True)
        if n % args.report_every == 0:
            sample = measure(n, self.t0, self.tmp)
            s.samples.append(sample)
            s.peak_rss_mb = max(s.peak_rss_mb, sample.rss_mb)
            print(sample.line(), flush=True)


def _engines(app: Any) -> list[str]:
    """The engine of the last spoken sentence per question is not kept by the assistant; the router's is."""
    active = getattr(app.parts.speech.router, "_active", None)
    return [active.name] if active is not None else []


def report(s: Summary) -> str:
    lines = [f"\n{s.questions} questions in {s.minutes:.1f} min (seed {s.seed}{', with XTTS' if s.xtts else ''})"]
    if s.baseline and s.end:
        b, e = s.baseline, s.end
        lines.append(f"after warm-up ({s.warmup} q) -> end: RSS {b.rss_mb:.1f} -> {e.rss_mb:.1f} MB (peak "
                     f"{s.peak_rss_mb:.1f}), threads {b.threads} -> {e.threads}, fds {b.fds} -> {e.fds}, children "
                     f"{b.children} -> {e.children}, tmp files {b.tmp_files} -> {e.tmp_files}")
    lines.append(f"{'kind':12s} " + " ".join(f"{o:>7s}" for o in OUTCOMES))
    total: collections.Counter[str] = collections.Counter()
    for kind, counts in s.outcomes.items():
        total.update(counts)
        lines.append(f"{kind:12s} " + " ".join(f"{counts.get(o, 0):7d}" for o in OUTCOMES))
    lines.append(f"{'all':12s} " + " ".join(f"{total.get(o, 0):7d}" for o in OUTCOMES))
    if s.unexpected_outcomes:
        lines.append("ended otherwise than the fault's usual way (not a failure): "
                     + "; ".join(f"{k} x{v}" for k, v in sorted(s.unexpected_outcomes.items())))
    lines.append(f"longest question {s.max_duration_s:.2f} s ({s.max_duration_kind}); bound {s.bound_s:g} s "
                 f"+ {s.slack_s:g} s slack")
    lines.append(f"escaped exceptions {len(s.escaped)}; ERROR log records {s.error_records} (with a traceback: "
                 f"{len(s.unexpected_records)}); last engine per question {s.engines}")
    lines.append("SOAK FAILED:\n  " + "\n  ".join(s.failures) if s.failures else "soak passed")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--questions", type=int, default=200, help="how many questions (unless --minutes)")
    p.add_argument("--minutes", type=float, default=0.0, help="ask questions for this long instead")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--report-every", type=int, default=25)
    p.add_argument("--warmup", type=int, default=0,
                   help="questions before the baseline is measured (default 25; 50 with --xtts, whose RSS rises for "
                        "longer before it levels off: measured +30 MB from question 50 to ~275, flat to 375)")
    p.add_argument("--switch-every", type=int, default=50, help="switch Ollama <-> OpenAI every N questions (0: never)")
    p.add_argument("--xtts", action="store_true", help="the tiny random-weight XTTS in front of the system voice")
    p.add_argument("--sink", choices=("null", "device"), default="null")
    p.add_argument("--sink-speed", type=float, default=20.0, help="the null sink plays this many times real time")
    p.add_argument("--speech-bound", type=float, default=0.0,
                   help="seconds allowed for the speaking part of a question (default 8, 40 with --xtts or "
                        "--sink device)")
    p.add_argument("--slack", type=float, default=3.0, help="seconds over a question's bound before it counts as hung")
    p.add_argument("--max-rss-growth-mb", type=float, default=50.0)
    p.add_argument("--json", type=Path, help="write the summary as JSON here")
    p.add_argument("--inject-leak", type=lambda v: v.split(","), default=[], help=argparse.SUPPRESS)  # thread,fd,exception
    p.add_argument("--quick", action="store_true",
                   help="8 questions, 4 of warm-up, switching protocol every 2; every limit but resource growth, which "
                        "needs a longer run to settle (seconds; CI)")
    args = p.parse_args(argv)
    if args.quick:
        args.questions, args.minutes, args.warmup, args.report_every, args.switch_every = 8, 0.0, 4, 4, 2
    if not args.warmup:
        args.warmup = 50 if args.xtts else 25
    if not args.speech_bound:
        args.speech_bound = 40.0 if args.xtts or args.sink == "device" else 8.0
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    soak = Soak(args)
    s = soak.run()
    print(report(s), flush=True)
    if args.json:
        args.json.write_text(json.dumps(asdict(s), indent=1) + "\n", encoding="utf-8")
    if s.failures:
        print(f"the daemon's log and settings are kept in {soak.work}", flush=True)
    else:
        shutil.rmtree(soak.work, ignore_errors=True)
    return 1 if s.failures else 0


if __name__ == "__main__":
    sys.exit(main())
