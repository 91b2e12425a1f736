"""Pieces every benchmark shares: machine description, timing, memory sampling, JSON output."""

from __future__ import annotations

import gc
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from thioglass.runinfo import package_versions

_BENCH_PACKAGES = ("thioglass", "numpy", "scipy", "ase", "vesin", "freud-analysis", "matplotlib", "psutil")
_MB = 1024.0 * 1024.0


def machine_info() -> dict[str, Any]:
    """CPU, memory, OS and the versions of the packages that set the speed."""
    versions = package_versions(_BENCH_PACKAGES)
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu_model": _cpu_model(),
        "cpu_count_logical": psutil.cpu_count(logical=True),
        "cpu_count_physical": psutil.cpu_count(logical=False),
        "cpus_usable": len(affinity) if affinity is not None else os.cpu_count(),
        "memory_total_gb": round(psutil.virtual_memory().total / 1e9, 2),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "versions": versions,
        "thread_env": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS") if k in os.environ},
    }


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def time_calls(function: Callable[[], Any], repeats: int) -> dict[str, float]:
    """Wall time of ``repeats`` calls: ``best_s``, ``median_s``, ``mean_s`` (seconds per call).

    The best is the least disturbed by other processes on a shared machine; the median shows spread.
    """
    times = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return {
        "best_s": float(np.min(times)),
        "median_s": float(np.median(times)),
        "mean_s": float(np.mean(times)),
        "repeats": len(times),
    }


@dataclass
class RSSSampler:
    """Peak resident memory above a baseline, sampled whenever :meth:`sample` is called.

    The kernel's own peak (``ru_maxrss``) only ever grows within a process, so separate runs in one
    process are told apart by sampling the current RSS during each run instead.
    """

    baseline_bytes: int = 0
    peak_bytes: int = 0
    _process: psutil.Process = field(default_factory=psutil.Process, repr=False)

    def start(self) -> None:
        gc.collect()
        self.baseline_bytes = self._process.memory_info().rss
        self.peak_bytes = self.baseline_bytes

    def sample(self) -> None:
        self.peak_bytes = max(self.peak_bytes, self._process.memory_info().rss)

    @property
    def peak_above_baseline_mb(self) -> float:
        return (self.peak_bytes - self.baseline_bytes) / _MB

    @property
    def baseline_mb(self) -> float:
        return self.baseline_bytes / _MB


def slope_per_1000(x: list[float], y: list[float]) -> float:
    """Least-squares slope of ``y`` against ``x``, times 1000 (e.g. MB per 1000 frames)."""
    if len(x) < 2:
        return 0.0
    return float(np.polyfit(np.asarray(x, float), np.asarray(y, float), 1)[0] * 1000.0)


def write_json(record: dict[str, Any], path: Path | str) -> Path:
    """Write a benchmark record as indented JSON (parents created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, default=_json_default))
    return path


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
