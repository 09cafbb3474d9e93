"""The GPU guard: VRAM watcher (NVML), Ollama guard (free VRAM), keep-warm policy for XTTS."""

from daemon.gpu.ollama import GuardReport, OllamaGuard
from daemon.gpu.policy import KeepWarmPolicy, WarmEngine
from daemon.gpu.vram import NO_GPU_NOTE, GpuMemory, VramReading, VramWatcher

__all__ = [
    "NO_GPU_NOTE",
    "GpuMemory",
    "GuardReport",
    "KeepWarmPolicy",
    "OllamaGuard",
    "VramReading",
    "VramWatcher",
    "WarmEngine",
]
