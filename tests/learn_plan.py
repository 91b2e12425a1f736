"""The tiny learning plan the learn tests share (one crystal, 60 training steps, a wide-open trust window)."""

from __future__ import annotations

from pathlib import Path

import yaml

PLAN = {
    "workdir": "run",
    "reference": "sevennet-0",
    "iterations": 1,
    "converged_accurate_fraction": 1.01,
    "initial": {"crystals": ["beta-Li3PS4"], "copies": 6, "rattle_angstrom": 0.05, "max_strain": 0.03},
    "training": {"architecture": "fast", "steps": 60, "models": 2},
    "exploration": {"systems": ["crystal:beta-Li3PS4"], "temperatures_k": [300], "duration_ps": 0.1,
                    "sample_every_ps": 0.01},
    "selection": {"sigma_low": 0.0, "sigma_high": 100.0, "max_candidates": 3},
}


def write_plan(folder: Path, base: dict = PLAN, **changes) -> Path:
    """``folder/learn.yml``: ``base`` with top-level sections replaced by ``changes``."""
    path = folder / "learn.yml"
    path.write_text(yaml.safe_dump({**base, **changes}))
    return path
