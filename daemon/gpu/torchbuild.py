"""Which PyTorch build fits this machine: the NVIDIA driver picks the CUDA index as setup.bat does, and the card's
compute capability (sm_XY) must be one the installed build has kernels for."""

from __future__ import annotations

import logging
import re
import subprocess
import sys

log = logging.getLogger(__name__)

TORCH_VERSION = "2.11.0"  # setup.bat's TORCH
INDEX_URL = "https://download.pytorch.org/whl/"
# (oldest driver major version, CUDA index), newest first: setup.bat's choice (a driver below all: the CPU build).
DRIVER_INDEXES = ((570, "cu128"), (528, "cu126"))
DRIVERS_URL = "https://www.nvidia.com/drivers"


def _no_window() -> int:
    if sys.platform == "win32":
        return subprocess.CREATE_NO_WINDOW  # no console flash under pythonw
    return 0


def driver_version() -> str | None:
    """The NVIDIA driver's version ("572.16"), from NVML else nvidia-smi; None when there is none."""
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            v = pynvml.nvmlSystemGetDriverVersion()
            return v.decode() if isinstance(v, bytes) else str(v)
        finally:
            pynvml.nvmlShutdown()
    except Exception as exc:
        log.debug("NVML has no driver version: %s", exc)
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10, check=True,
                             creationflags=_no_window()).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("nvidia-smi has no driver version: %s", exc)
        return None
    lines = out.strip().splitlines()
    return lines[0].strip() if lines and re.match(r"\d+", lines[0].strip()) else None


def driver_major(version: str) -> int:
    """572 for "572.16" (0 when unreadable)."""
    m = re.match(r"\s*(\d+)", version)
    return int(m.group(1)) if m else 0


def index_for_driver(version: str) -> str | None:
    """The CUDA index setup.bat picks for this driver ("cu128", "cu126"), None when it is too old for CUDA 12."""
    return next((index for oldest, index in DRIVER_INDEXES if driver_major(version) >= oldest), None)


def oldest_driver(index: str) -> int:
    """The oldest driver major version the build from this CUDA index runs with."""
    return dict((ix, oldest) for oldest, ix in DRIVER_INDEXES)[index]


def install_command(index: str) -> str:
    """The pip command that replaces torch + torchaudio with the build from this index (as setup.bat does: pip
    keeps an installed 2.11.0+cpu as "already satisfied" for torch==2.11.0, hence --force-reinstall)."""
    return (f"pip install --force-reinstall --no-deps torch=={TORCH_VERSION} torchaudio=={TORCH_VERSION} "
            f"--index-url {INDEX_URL}{index}")


def index_for_capability(major: int, minor: int) -> str | None:
    """The build that has kernels for this card: cu126 for cards older than Turing (sm_75; the cu128 build dropped
    them), cu128 for Blackwell (sm_100 and newer); None when either does."""
    if (major, minor) < (7, 5):
        return "cu126"
    if major >= 10:
        return "cu128"
    return None


def runs_on(capability: tuple[int, int], arch_list: list[str]) -> bool:
    """Whether a build with these architectures (torch.cuda.get_arch_list()) runs on a card of this capability:
    its sm_XY is listed, or PTX for an older compute_XY is (the driver compiles that at first use)."""
    major, minor = capability
    if f"sm_{major}{minor}" in arch_list:
        return True
    own = major * 10 + minor
    ptx = [int(a.removeprefix("compute_")) for a in arch_list if re.fullmatch(r"compute_\d+", a)]
    return any(p <= own for p in ptx)
