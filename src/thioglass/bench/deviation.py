"""What recording the ensemble's force deviation costs an MD stage in LAMMPS.

One stage is run with the production model alone, then with the ensemble members beside it at
several sampling intervals (``pair_style deepmd ... out_freq N``). Each run reports LAMMPS' loop
time and its CPU share (``% CPU use``), and the whole process' wall time (the difference is the
start: plugin, TensorFlow and every model loaded). The CPU-seconds of the loop (loop time x CPU
share) measure the work itself and stay comparable on a loaded machine, where wall times do not.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from thioglass.errors import ThioglassError

_CPU = re.compile(r"([0-9.]+)% CPU use with")


def _run(models: Sequence[str], atoms, steps: int, every: int | None, folder: Path, threads: int) -> dict:
    from thioglass.bench.md import loop_rate
    from thioglass.md.lammps import LammpsEngine, LammpsSettings
    from thioglass.md.protocol import Protocol, Stage

    duration_ps = steps / 1000
    protocol = Protocol((Stage("bench", "nvt", duration_ps, 300.0, dump_every_ps=duration_ps),), timestep_fs=1.0)
    settings = LammpsSettings(tuple(models), threads=threads, restart_every_steps=10 * steps,
                              deviation_every_steps=every, runaway_factor=100.0, min_distance_angstrom=0.1)
    start = time.perf_counter()
    LammpsEngine(settings).run(atoms, protocol, folder)
    wall_s = time.perf_counter() - start
    log = folder / "00_bench" / "log.lammps"
    rate = loop_rate(log)
    shares = _CPU.findall(log.read_text(errors="replace"))
    cpu_share = float(shares[-1]) / 100 if shares else 1.0
    return {"every_steps": every, "loop_s": rate["seconds"], "cpu_share": cpu_share,
            "loop_cpu_s": rate["seconds"] * cpu_share, "process_wall_s": round(wall_s, 3),
            "start_s": round(wall_s - rate["seconds"], 3), "steps": steps, "atoms": rate["atoms"]}


def deviation_cost(model: str, members: Sequence[str], atoms, *, steps: int = 2000,
                   intervals: Sequence[int] = (20, 50, 100, 200, 500), threads: int = 1, repeats: int = 2,
                   on_stage: Callable[[str], None] = lambda m: None) -> dict:
    """Loop CPU-seconds with and without the members at each interval, as extra fractions of the baseline.

    Baseline and ensemble runs alternate, ``repeats`` times each, so a change of load on a shared
    machine touches both; the fastest of the repeats is kept.
    """
    if not members:
        raise ThioglassError("no ensemble members to time: the shipped model has none yet; give --members m1.pb,m2.pb")
    runs: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="thioglass-bench-devi-") as scratch:
        for r in range(repeats):
            for every in (None, *intervals):
                name = "baseline" if every is None else str(every)
                on_stage(f"repeat {r + 1}: {'production model alone' if every is None else f'ensemble every {every}'}")
                models = (model,) if every is None else (model, *members)
                runs.setdefault(name, []).append(_run(models, atoms, steps, every, Path(scratch) / f"{name}_{r}", threads))
    best = {name: min(rows, key=lambda x: x["loop_cpu_s"]) for name, rows in runs.items()}
    base = best["baseline"]
    extra = {name: {"loop_cpu_extra": row["loop_cpu_s"] / base["loop_cpu_s"] - 1,
                    "start_extra_s": row["start_s"] - base["start_s"]}
             for name, row in best.items() if name != "baseline"}
    return {"atoms": base["atoms"], "steps": steps, "threads": threads, "members": len(members),
            "baseline": base, "best": best, "extra": extra, "runs": runs}
