"""The machine and process being measured: resident memory (Linux /proc) and the CPU's name."""
from __future__ import annotations

import platform
from pathlib import Path


def proc_status_bytes(key: str) -> int:
    """A memory field of /proc/self/status (``VmRSS``, ``VmHWM``) in bytes; -1 where it is missing."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return -1


def gb(nbytes: float) -> float:
    return round(nbytes / 1e9, 3)


def rss() -> dict[str, float]:
    """Current and peak resident memory of this process, GB."""
    return {"rss_gb": gb(max(proc_status_bytes("VmRSS"), 0)), "peak_gb": gb(max(proc_status_bytes("VmHWM"), 0))}


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo, else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"
