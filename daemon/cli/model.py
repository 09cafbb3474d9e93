"""`model status | get [--accept-license] | remove`: the XTTS v2 model (the cloned voice) from the command line."""

from __future__ import annotations

import argparse
import sys
import textwrap
from typing import TextIO

from daemon import paths
from daemon.cli.common import fail, load_settings, settings_path
from daemon.download import DownloadProgress


def get_hint() -> str:
    return f"{paths.command()} model get"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "model",
        help="the cloned voice's model (XTTS v2): status, download, remove",
        description="Show, download (resumable, verified) or remove the XTTS v2 model that speaks in the cloned "
        "voice. The tray's 'Get the cloned voice (XTTS v2)…' does the same download.",
    )
    msub = p.add_subparsers(dest="model_cmd", metavar="COMMAND", required=True)
    st = msub.add_parser("status", help="where the model is, whether it is there, a partial download, the licence")
    st.set_defaults(func=run_status)
    get = msub.add_parser(
        "get", help="download the model (about 1.9 GB; resumes a partial download)",
        description="Download XTTS v2 into VoxTray's model folder: the disk space is checked first, a dropped "
        "connection resumes, every file is verified before the model is used. Ctrl+C stops and keeps what "
        "arrived; run it again to resume.",
    )
    get.add_argument("--accept-license", action="store_true",
                     help="accept the Coqui Public Model License (non-commercial) without being asked")
    get.set_defaults(func=run_get)
    rm = msub.add_parser("remove", help="delete the downloaded model and any partial download")
    rm.set_defaults(func=run_remove)


def run_status(args: argparse.Namespace) -> int:
    from daemon.download import LICENSE_NAME, LICENSE_URL, human_bytes, model_folder, model_status

    status = model_status(load_settings(args, check=False))
    kind = "" if status.folder == model_folder() else " (not VoxTray's download: xtts_model_path or coqui's cache)"
    print(f"XTTS v2 (the cloned voice): {'present' if status.present else 'not downloaded'}")
    print(f"  folder:   {status.folder}{kind}")
    if status.total_bytes is not None:
        print(f"  {'size:    ' if status.present else 'download:'} {human_bytes(status.total_bytes)}")
    if status.partial_bytes and not status.present:
        pct = f" ({status.partial_bytes * 100 // status.total_bytes} %)" if status.total_bytes else ""
        print(f"  partial:  {human_bytes(status.partial_bytes)} downloaded{pct}; `{get_hint()}` resumes it")
    accepted = "accepted" if status.license_accepted else f"not accepted (`{get_hint()}` asks)"
    print(f"  licence:  {LICENSE_NAME}, {LICENSE_URL}: {accepted}")
    print(f"  source:   {status.source}")
    if not status.present:
        print(f"Get it with: {get_hint()}  (or the tray: Get the cloned voice (XTTS v2)…)")
    return 0


def _ask_licence(size: str, where: str) -> bool:
    from daemon.download import LICENSE_NAME, LICENSE_SUMMARY, LICENSE_URL

    print(f"{LICENSE_NAME} ({LICENSE_URL}):")
    print(textwrap.fill(LICENSE_SUMMARY, width=100, initial_indent="  ", subsequent_indent="  "))
    try:
        answer = input(f"Accept the licence and download about {size} to {where}? [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


class _Printer:
    """Progress on one updating line on a terminal; elsewhere a line every 10 % and at each state change."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.last_state = ""
        self.last_decile = -1
        self.width = 0

    def __call__(self, p: DownloadProgress) -> None:
        if self.tty:
            line = p.message[:119]
            self.stream.write("\r" + line.ljust(self.width) + ("\n" if p.finished else ""))
            self.width = len(line)
            self.stream.flush()
            return
        decile = (p.percent or 0) // 10
        if p.state != self.last_state or (p.state == "downloading" and decile != self.last_decile):
            if not p.finished:  # the final line is printed by the verb
                print(p.message, file=self.stream, flush=True)
            self.last_state, self.last_decile = p.state, decile


def run_get(args: argparse.Namespace) -> int:
    from daemon import settings as settings_mod
    from daemon.download import (
        XTTS_APPROX_BYTES,
        ModelDownload,
        RefusedError,
        human_bytes,
        license_accepted,
        model_status,
    )

    settings = load_settings(args, check=False)
    status = model_status(settings)
    if status.present:
        print(f"The cloned voice is already here: {status.folder}")
        return 0
    if not license_accepted(settings):
        if not args.accept_license:
            if not (sys.stdin is not None and sys.stdin.isatty()):
                fail(f"the XTTS v2 licence is not accepted: run `{get_hint()} --accept-license` after reading "
                     "https://coqui.ai/cpml (non-commercial use only). Nothing was downloaded.")
                return 2
            if not _ask_licence(human_bytes(status.total_bytes or XTTS_APPROX_BYTES), str(status.folder)):
                fail("licence not accepted; nothing was downloaded.")
                return 2
        settings = settings_mod.update(settings_path(args), xtts_license_accepted=True)
        print(f"licence accepted (saved in {settings_path(args)})")
    printer = _Printer(sys.stderr)
    download = ModelDownload(settings, on_progress=printer)
    download.start()
    try:
        while download.running:
            download.join(0.2)
    except KeyboardInterrupt:
        download.cancel()
        final = download.join(10)
        if printer.tty:
            sys.stderr.write("\n")
        print(final.message, file=sys.stderr)
        raise
    final = download.progress
    if final.state == "done":
        print(final.message)
        return 0
    if final.state == "cancelled":
        print(final.message, file=sys.stderr)
        return 130
    fail(final.message)
    return 2 if isinstance(download.error, RefusedError) else 1


def run_remove(args: argparse.Namespace) -> int:
    from daemon.download import human_bytes, installed_folder, license_accepted, model_folder, remove_model

    settings = load_settings(args, check=False)
    freed = remove_model(settings)
    if freed:
        print(f"removed the downloaded cloned voice from {model_folder()} ({human_bytes(freed)} freed)")
    else:
        print(f"nothing to remove in {model_folder()}")
    kept = installed_folder(settings)
    if kept is not None and kept != model_folder():
        print(f"left alone: {kept} (not VoxTray's download; delete it yourself if you want it gone)")
    elif freed and settings.use_local_cloning and license_accepted(settings):
        print(f"note: the tray downloads it again when it next starts (the licence is accepted and the cloned voice "
              f"is on); to keep it gone, set \"use_local_cloning\": false in {settings_path(args)}")
    return 0
