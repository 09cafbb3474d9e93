"""Memory at rest: what the running daemon's resident memory is made of, in the order the daemon loads it.

    .venv/bin/python bench/memory.py                    # at rest (tray on a private Xvfb desktop where one can
                                                        # start, else headless) + what loads later, on demand
    .venv/bin/python bench/memory.py --headless         # no desktop (as `python -m daemon run --headless`)
    .venv/bin/python bench/memory.py --first-question   # + the first question's time to first audio, with the
                                                        # language detector loaded at start vs on demand
    .venv/bin/python bench/memory.py --quick            # seconds: headless, at rest only (CI)

One child process is the real daemon (`App.run()`: the tray on its main thread where a desktop exists, the parts
built behind it, cloning off, the LLM a loopback stand-in, edge-tts pointed at a loopback port nobody listens on);
before starting it the child imports what the daemon will import, one group at a time in the daemon's order, and
reads its own memory after each group (/proc/self/smaps_rollup: RSS; USS = private pages, what quitting the
process would give back). Then the daemon starts and rests `--settle` seconds ("at rest"), and what loads only
on demand is added on top: the language detector's model (at the first question), the recogniser (first
push-to-talk), torch + coqui + a tiny random-weight XTTS (cloning on). A second child starts the daemon with no
steps before it, as a check that the steps add up to the same total. Linux only (/proc).

Printed: a markdown table (each step's RSS and USS added, the running RSS, the step's time) and one JSON line
  {"bench": "memory", "desktop": ..., "at_rest_rss_mb": ..., "plain_rss_mb": ..., "steps": [...], ...}
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AT_REST = "daemon started, at rest (threads, engines, tray)"


def memory() -> dict[str, float]:
    """This process's RSS, PSS and USS (private clean + dirty) in MB."""
    fields: dict[str, float] = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[-1] == "kB":
            fields[name] = int(parts[0]) / 1024
    return {"rss": fields["Rss"], "pss": fields["Pss"],
            "uss": fields["Private_Clean"] + fields["Private_Dirty"]}


# ---- the child: the daemon, loaded one group at a time ---------------------------------------------------------
def _imports(*names: str) -> Callable[[], None]:
    def step() -> None:
        import importlib

        for name in names:
            importlib.import_module(name)
    return step


def _keyring() -> None:
    from daemon.brain import secrets

    secrets.keyring_name()  # finds the usable backend, as reading the LLM token at start does


def _tray() -> None:
    import daemon.desktop.tray  # noqa: F401

    if os.environ.get("DISPLAY"):
        from daemon.desktop.traybackend import load_pystray

        load_pystray()


def _language_model() -> None:
    from daemon.speech import language

    language._model()


def _recogniser(folder: Path | None) -> Callable[[], None]:
    def step() -> None:
        from daemon.listen.recognizer import Recognizer

        assert folder is not None
        Recognizer(str(folder), cpu_threads=1).load()
    return step


def _xtts() -> None:
    from daemon.settings import Settings
    from daemon.speech.xtts.engine import XttsEngine
    from tests.fixtures.xtts import ensure_tiny_xtts

    voices = Path(tempfile.mkdtemp(prefix="voxtray-memory-voices-"))
    shutil.copy(ROOT / "voices" / "sample.wav", voices / "sample.wav")
    settings = Settings(xtts_model_path=str(ensure_tiny_xtts()), xtts_device="cpu", xtts_allow_cpu=True,
                        voices_dir=str(voices), cloning_reference_file=str(voices / "sample.wav"))
    XttsEngine(settings).load()  # loads and warms up with one sentence


def before_start() -> list[tuple[str, Callable[[], None]]]:
    """What the daemon imports before its parts run, grouped, in the order it imports them."""
    return [
        ("settings, logging, status (pydantic, platformdirs)",
         _imports("pydantic", "platformdirs", "daemon.settings", "daemon.logs", "daemon.status", "daemon.live")),
        ("numpy", _imports("numpy")),
        ("icons (PIL)", _imports("PIL.Image", "PIL.ImageDraw", "daemon.desktop.icons")),
        ("tray (pystray; GTK 3 via gi with a display)", _tray),
        ("audio out (sounddevice + PortAudio, soxr)", _imports("sounddevice", "soxr", "daemon.speech.player")),
        ("GPU watch (pynvml, psutil)", _imports("pynvml", "psutil", "daemon.gpu.vram", "daemon.gpu.ollama")),
        ("edge-tts's MP3 decoder (PyAV)", _imports("av")),
        ("edge-tts (aiohttp, edge_tts)", _imports("aiohttp", "edge_tts", "daemon.speech.engines.edge")),
        ("LLM token store (keyring, secretstorage, D-Bus)", _keyring),
        ("LLM client", _imports("daemon.brain.current", "daemon.brain.health", "daemon.brain.conversation")),
        ("language detector code (py3langid)", _imports("py3langid.langid", "daemon.speech.language")),
        ("the rest of the daemon's modules", _imports("daemon.app", "daemon.runner", "daemon.assistant",
                                                      "daemon.speech.stack", "daemon.listen.talk",
                                                      "daemon.modelsetup", "daemon.desktop.ask_flow")),
    ]


def on_demand(quick: bool, whisper: Path | None) -> list[tuple[str, Callable[[], None]]]:
    """What loads later: at the first question, the first push-to-talk, or with cloning on."""
    steps = [("language detector model (first question)", _language_model)]
    if quick:
        return steps
    steps.append(("recogniser code (faster-whisper, CTranslate2)", _imports("faster_whisper", "ctranslate2")))
    if whisper is not None:
        steps.append(("Whisper base int8 loaded + warm (first push-to-talk)", _recogniser(whisper)))
    steps += [("torch", _imports("torch")), ("coqui TTS + transformers (XTTS code)", _imports("TTS.tts.models.xtts")),
              ("tiny XTTS loaded + warm (random weights, CPU)", _xtts)]
    return steps


def emit(step: str, t0: float) -> None:
    print(json.dumps({"step": step, "s": round(time.monotonic() - t0, 3), **memory()}), flush=True)


def child(args: argparse.Namespace) -> int:
    """The daemon in this process: steps, App.run() (tray or headless), at rest, then the on-demand steps."""
    import logging

    logging.basicConfig(level=logging.WARNING)
    emit("Python", time.monotonic())
    steps = before_start() if not args.plain else []
    for name, step in steps:
        t0 = time.monotonic()
        step()
        emit(name, t0)
    import edge_tts.communicate
    import edge_tts.voices

    edge_tts.communicate.WSS_URL = "ws://127.0.0.1:9/edge/v1"  # type: ignore[attr-defined]  # nobody listens
    edge_tts.voices.VOICE_LIST = "http://127.0.0.1:9/voices"  # type: ignore[attr-defined]
    from daemon.app import App
    from daemon.settings import load

    app = App(load(args.settings, check=False), args.settings, headless=not os.environ.get("DISPLAY"))
    failed: list[BaseException] = []

    def measure() -> None:
        try:
            t0 = time.monotonic()
            while app.parts is None and not app.stopping.is_set():
                time.sleep(0.05)
            time.sleep(args.settle)
            emit(AT_REST, t0)
            if not args.plain:
                for name, step in on_demand(args.quick, args.whisper):
                    t0 = time.monotonic()
                    step()
                    emit(name, t0)
        except BaseException as exc:  # reported by the parent through the exit code
            failed.append(exc)
            raise
        finally:
            app.quit()

    threading.Thread(target=measure, name="bench-measure", daemon=True).start()
    app.run()
    sys.stdout.flush()
    # every figure is out; skip the interpreter's teardown, where Tk (the question box's thread) can abort with
    # "Tcl_AsyncDelete: async handler deleted by the wrong thread" when quit() came from this bench's thread
    os._exit(1 if failed else 0)


# ---- the first question: language detector at start vs on demand ----------------------------------------------
def first_question(args: argparse.Namespace) -> int:
    """One fresh daemon answers one question; prints its question -> first audio time as a JSON line."""
    import logging

    logging.basicConfig(level=logging.WARNING)
    import edge_tts.communicate

    from bench.soak import PacedSink
    from daemon import app as app_mod
    from daemon.settings import load

    edge_tts.communicate.WSS_URL = "ws://127.0.0.1:9/edge/v1"  # type: ignore[attr-defined]
    app_mod.Player = lambda *_a, **_k: PacedSink(50.0)  # type: ignore[assignment,misc]
    app = app_mod.App(load(args.settings, check=False), args.settings, headless=True)
    app.start()
    try:
        assert app.parts is not None
        if args.mode == "preloaded":  # as the daemon did before: loaded in the background at start
            from daemon.speech import language

            language.preload()
        time.sleep(args.settle)
        t_hotkey = time.monotonic()
        if args.mode == "hotkey":  # the question box opens (prepare), the user types for a second
            app.parts.speech.warm_audio()
            time.sleep(1.0)
        app.parts.assistant.ask("Comment allez-vous aujourd'hui ?", t_hotkey=t_hotkey if args.mode == "hotkey" else None)
        app.parts.assistant.wait_idle(60)
        t = app.parts.assistant.last_timings
        assert t is not None and t.first_audio is not None, t
        print(json.dumps({"mode": args.mode, "first_audio_s": round(t.first_audio - t.submitted, 3),
                          "rss_mb": round(memory()["rss"], 1)}), flush=True)
    finally:
        app.shutdown()
    return 0


# ---- the parent ------------------------------------------------------------------------------------------------
def _run_child(argv: list[str], env: dict[str, str], timeout: float) -> list[dict[str, Any]]:
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), *argv], env=env, capture_output=True,
                          text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0:
        raise SystemExit(f"bench/memory.py child {argv} exited {done.returncode}:\n{done.stdout[-3000:]}"
                         f"\n{done.stderr[-3000:]}")
    return rows


def _whisper_folder(cache: Path) -> Path | None:
    try:
        from tests.fixtures.whisper import assemble

        return assemble("base", cache / "whisper-base")
    except (ImportError, FileNotFoundError):
        return None


def _desktop(work: Path, headless: bool) -> Any:
    """A private Xvfb desktop with a tray host (tests/fixtures/x11.py), or None (headless, or tools missing)."""
    if headless:
        return None
    from tests.fixtures.x11 import TOOLS, X11Session

    if any(shutil.which(tool) is None for tool in TOOLS):
        return None
    (work / "x11").mkdir(parents=True, exist_ok=True)
    return X11Session(work / "x11").start()


def table(rows: list[dict[str, Any]]) -> list[str]:
    out = ["| step | + RSS MB | + USS MB | RSS MB | s |", "| --- | ---: | ---: | ---: | ---: |"]
    prev: dict[str, Any] | None = None
    for row in rows:
        d_rss = row["rss"] - (prev["rss"] if prev else 0.0)
        d_uss = row["uss"] - (prev["uss"] if prev else 0.0)
        name = f"**{row['step']}**" if row["step"] == AT_REST else row["step"]
        out.append(f"| {name} | {d_rss:+.1f} | {d_uss:+.1f} | {row['rss']:.1f} | {row['s']:.2f} |")
        prev = row
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--settle", type=float, default=8.0, help="seconds at rest after the parts are built")
    ap.add_argument("--headless", action="store_true", help="no desktop, even where Xvfb and trayer exist")
    ap.add_argument("--first-question", action="store_true",
                    help="also time the first question with the language detector loaded at start vs on demand")
    ap.add_argument("--repeat", type=int, default=3, help="fresh daemons per --first-question mode")
    ap.add_argument("--quick", action="store_true", help="headless, settle 2 s, at rest + the language model (CI)")
    ap.add_argument("--json", type=Path, help="also write the summary here")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--plain", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--mode", help=argparse.SUPPRESS)
    ap.add_argument("--settings", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--whisper", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return first_question(args) if args.mode else child(args)
    if not Path("/proc/self/smaps_rollup").is_file():
        print("bench/memory.py needs Linux (/proc/self/smaps_rollup)", file=sys.stderr)
        return 2
    if args.quick:
        args.headless, args.settle = True, 2.0
    from tests.fixtures.llm_server import start_llm_server

    srv = start_llm_server(api="ollama", tokens=["Très", " bien", ",", " merci", " beaucoup", " !", " Et", " vous",
                                                 " ?"])
    work = Path(tempfile.mkdtemp(prefix="voxtray-memory-"))
    desk = None
    try:
        desk = _desktop(work, args.headless)
        env = dict(desk.env if desk is not None else os.environ)
        if desk is None:
            env.pop("DISPLAY", None)
        env.setdefault("VOXTRAY_DATA_DIR", str(work / "data"))
        env.setdefault("VOXTRAY_LOG_DIR", str(work / "logs"))
        settings = work / "settings.json"
        settings.write_text(json.dumps({"use_local_cloning": False, "remote_llm_url": srv.url, "llm_api": "ollama",
                                        "notifications": desk is not None}))
        base = ["--child", "--settings", str(settings), "--settle", str(args.settle)]
        whisper = None if args.quick else _whisper_folder(work)
        steps = _run_child([*base, *(["--quick"] if args.quick else []),
                            *(["--whisper", str(whisper)] if whisper else [])], env, 600)
        plain = _run_child([*base, "--plain"], env, 120)
        firsts: dict[str, list[float]] = {}
        if args.first_question:
            for _ in range(args.repeat):
                for mode in ("preloaded", "at-ask", "hotkey"):
                    row = _run_child([*base, "--mode", mode], {**env, "DISPLAY": ""}, 120)[-1]
                    firsts.setdefault(mode, []).append(row["first_audio_s"])
    finally:
        if desk is not None:
            desk.stop()
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)
    rest = next(r for r in steps if r["step"] == AT_REST)
    plain_rest = next(r for r in plain if r["step"] == AT_REST)
    where = "tray on Xvfb" if desk is not None else "headless"
    print(f"The daemon's memory, step by step ({where}, cloning off, settle {args.settle:.0f} s):\n")
    print("\n".join(table(steps)))
    print(f"\nAt rest: RSS {rest['rss']:.1f} MB, USS {rest['uss']:.1f} MB (the same daemon started with no steps "
          f"before it: RSS {plain_rest['rss']:.1f} MB, USS {plain_rest['uss']:.1f} MB)")
    if firsts:
        print("\n| language detector | question -> first audio, s (median of "
              f"{args.repeat}) |\n| --- | ---: |")
        for mode, values in firsts.items():
            print(f"| {mode} | {statistics.median(values):.3f} ({', '.join(f'{v:.3f}' for v in values)}) |")
    summary = {"bench": "memory", "desktop": desk is not None, "settle_s": args.settle,
               "at_rest_rss_mb": round(rest["rss"], 1), "at_rest_uss_mb": round(rest["uss"], 1),
               "plain_rss_mb": round(plain_rest["rss"], 1), "plain_uss_mb": round(plain_rest["uss"], 1),
               "steps": [{k: round(v, 1) if isinstance(v, float) else v for k, v in r.items()} for r in steps],
               "first_question_s": {m: statistics.median(v) for m, v in firsts.items()}}
    print(json.dumps(summary))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
