"""MD throughput: a DeePMD model in LAMMPS (frozen and compressed) against its reference through ASE,
and ns/day of the melt-quench presets, measured in one run."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from thioglass.bench.common import machine_info
from thioglass.errors import ThioglassError

_LOOP = re.compile(r"Loop time of ([0-9.eE+-]+) on \d+ procs for (\d+) steps with (\d+) atoms")


@dataclass(frozen=True)
class MDBenchSettings:
    """What to time. ``model=None`` uses the shipped model, or else a speed-only model of the paper's
    architecture (weights barely trained: the cost per step does not depend on them)."""

    model: str | None = None
    composition: str = "75Li2S-25P2S5"
    sizes: tuple[int, ...] = (300, 4500)
    steps: int = 300
    threads: int = 2
    reference: str | None = "sevennet-mf-0-r2scan"
    reference_calls: int = 3
    seed: int = 0
    #: Single-thread runs timed side by side at the smallest size (0: skip); independent jobs
    #: (temperatures, strained cells, replicas) run this way on a small machine.
    concurrent_runs: int = 2

    @classmethod
    def quick(cls, **changes: Any) -> "MDBenchSettings":
        return replace(cls(sizes=(100,), steps=50, reference_calls=1, concurrent_runs=0), **changes)


def loop_rate(log: Path) -> dict[str, float]:
    """Steps, atoms and seconds of the last ``run`` in a LAMMPS log, as katom-step/s and ns/day (1 fs)."""
    matches = _LOOP.findall(log.read_text(errors="replace"))
    if not matches:
        raise ThioglassError(f"no 'Loop time' in {log}; the LAMMPS run did not finish")
    seconds, steps, atoms = float(matches[-1][0]), int(matches[-1][1]), int(matches[-1][2])
    return {"seconds": seconds, "steps": steps, "atoms": atoms,
            "katom_steps_per_s": steps * atoms / seconds / 1000, "ns_per_day_1fs": steps * 1e-6 / seconds * 86400}


def speed_only_model(folder: Path, architecture: str = "paper") -> Path:
    """A model with the requested architecture trained for a few steps on Lennard-Jones labels."""
    from thioglass.build.crystals import load_crystal
    from thioglass.elements import TYPE_MAP
    from thioglass.mlff.config import Schedule, TrainSettings
    from thioglass.mlff.config import architecture as named
    from thioglass.mlff.dataset import write_training_sets
    from thioglass.mlff.train import neighbour_sel, train_model
    from thioglass.reference.label import LabelStore, label_frames

    frames = []
    for k, name in enumerate(("beta-Li3PS4", "Li10SiP2S12", "Li2S", "SiS2")):
        atoms = load_crystal(name)
        atoms.rattle(0.05, seed=k)
        frames.append(atoms)
    store = LabelStore(folder / "labels")
    label_frames(frames, "ase:ase.calculators.lj:LennardJones", store)
    data = write_training_sets(store, folder / "data")
    arch = named(architecture)
    # Generous sel: the paper's total of about 180 neighbours within 6 Å, so speed matches production.
    sel = tuple(max(s, t) for s, t in zip(neighbour_sel(data["train"], arch.rcut_angstrom, TYPE_MAP), (60, 12, 20, 88)))
    settings = TrainSettings(architecture=arch, sel=sel, schedule=Schedule(steps=10, disp_freq=10, save_freq=10))
    return Path(train_model(folder / "model", settings, data["train"], compress=False).frozen_model)


def _variants(model: Path, folder: Path) -> dict[str, Path]:
    """The model as given and its compressed form; a model shipped compressed is timed as such."""
    from thioglass.mlff.train import _dp

    folder.mkdir(parents=True, exist_ok=True)
    try:
        _dp(["compress", "-i", str(model.resolve()), "-o", "compressed.pb"], folder, "compress.log", None)
    except ThioglassError:
        log = (folder / "compress.log").read_text(errors="replace") if (folder / "compress.log").exists() else ""
        # dp refuses to compress twice; any other failure is an architecture that cannot be tabulated.
        return {"compressed" if "already been compressed" in log else "frozen": model}
    return {"frozen": model, "compressed": folder / "compressed.pb"}


def _lammps_rate(model: Path, atoms, steps: int, threads: int, folder: Path, timestep_fs: float) -> dict[str, float]:
    from thioglass.md.lammps import LammpsEngine, LammpsSettings
    from thioglass.md.protocol import Protocol, Stage

    duration_ps = steps * timestep_fs / 1000
    protocol = Protocol((Stage("bench", "nvt", duration_ps, 300.0, dump_every_ps=duration_ps),), timestep_fs=timestep_fs)
    # A timing run, not physics: only a real explosion (atoms on top of each other) may stop it.
    settings = LammpsSettings((str(model),), threads=threads, restart_every_steps=10 * steps, runaway_factor=100.0,
                              min_distance_angstrom=0.1)
    LammpsEngine(settings).run(atoms, protocol, folder)
    return loop_rate(folder / "00_bench" / "log.lammps")


def _concurrent_rate(model: Path, atoms, settings: MDBenchSettings, root: Path, timestep_fs: float) -> dict:
    """Aggregate throughput of ``concurrent_runs`` single-thread runs started together."""
    from concurrent.futures import ThreadPoolExecutor

    runs = settings.concurrent_runs
    with ThreadPoolExecutor(runs) as pool:
        rates = list(pool.map(lambda k: _lammps_rate(model, atoms, settings.steps, 1, root / f"concurrent_{k}",
                                                     timestep_fs), range(runs)))
    return {"runs": runs, "atoms": len(atoms), "threads_per_run": 1, "per_run": rates,
            "katom_steps_per_s": sum(r["katom_steps_per_s"] for r in rates)}


def _reference_rate(reference: str, atoms, calls: int) -> dict[str, float]:
    from thioglass.bench.common import time_calls
    from thioglass.reference.calculators import get_calculator

    work = atoms.copy()
    work.calc = get_calculator(reference)
    work.get_forces()  # first call pays for model loading and compilation

    def one() -> None:
        work.rattle(1e-3)
        work.get_potential_energy(), work.get_forces(), work.get_stress()

    timing = time_calls(one, calls)
    return {"atoms": len(atoms), **timing, "atom_steps_per_s": len(atoms) / timing["best_s"]}


def run_md_benchmark(settings: MDBenchSettings, on_stage: Callable[[str], None] = lambda m: None) -> dict:
    """Every measurement of ``thioglass bench md`` as a JSON-ready dict."""
    from thioglass.build import BuildSettings, build_glass
    from thioglass.md.protocol import PRESETS, melt_quench

    with tempfile.TemporaryDirectory(prefix="thioglass-bench-md-") as scratch:
        root = Path(scratch)
        model, speed_only = _resolve_model(settings, root, on_stage)
        # Barely trained weights cannot hold a glass together at 1 fs; at 0.1 fs atoms hardly move in a
        # timing run, and the cost of a step does not depend on the timestep.
        timestep_fs = 0.1 if speed_only else 1.0
        on_stage("compressing the model")
        variants = _variants(model, root)
        record: dict[str, Any] = {"benchmark": "md", "settings": asdict(settings), "machine": machine_info(),
                                  "model": str(settings.model or model), "speed_only_model": speed_only,
                                  "gpu": None, "timing_timestep_fs": timestep_fs, "lammps": {}, "reference": None}
        cells = {n: build_glass(settings.composition, settings=BuildSettings(n_atoms=n, seed=settings.seed))
                 for n in settings.sizes}
        for n, atoms in cells.items():
            for name, path in variants.items():
                on_stage(f"LAMMPS {name} model, {len(atoms)} atoms")
                rate = _lammps_rate(path, atoms, settings.steps, settings.threads, root / f"{name}_{n}", timestep_fs)
                record["lammps"].setdefault(name, {})[str(len(atoms))] = rate
        best_name = "compressed" if "compressed" in variants else "frozen"
        if settings.threads != 1:
            for n, atoms in cells.items():
                on_stage(f"LAMMPS {best_name} model, {len(atoms)} atoms, 1 thread")
                rate = _lammps_rate(variants[best_name], atoms, settings.steps, 1, root / f"one_{n}", timestep_fs)
                record.setdefault("lammps_1_thread", {})[str(len(atoms))] = rate
        if settings.concurrent_runs > 1:
            on_stage(f"{settings.concurrent_runs} single-thread LAMMPS runs at once")
            record["concurrent"] = _concurrent_rate(variants[best_name], cells[min(cells)], settings, root,
                                                    timestep_fs)
        if settings.reference:
            # Every size: the per-step overhead of LAMMPS weighs most in small cells, so the ratio depends on size.
            by_size = {}
            for atoms in cells.values():
                on_stage(f"reference {settings.reference}, {len(atoms)} atoms")
                by_size[str(len(atoms))] = _reference_rate(settings.reference, atoms, settings.reference_calls)
            smallest = by_size[str(len(cells[min(cells)]))]
            record["reference"] = {"name": settings.reference, **smallest, "by_size": by_size}
        record["presets"] = _preset_estimates(record, PRESETS, melt_quench)
        record["speedup_over_reference"] = _speedup(record)
    return record


def _resolve_model(settings: MDBenchSettings, root: Path, on_stage: Callable[[str], None]) -> tuple[Path, bool]:
    if settings.model:
        return Path(settings.model), False
    try:
        from thioglass.potential import default_model

        return default_model(), False
    except ThioglassError:
        on_stage("training a speed-only model (paper architecture)")
        return speed_only_model(root / "speed_only"), True


def _best_variant(record: dict) -> dict:
    return record["lammps"].get("compressed") or record["lammps"]["frozen"]


def _preset_estimates(record: dict, presets: dict, protocol_of: Callable) -> dict:
    best = _best_variant(record)
    out = {}
    for name, preset in presets.items():
        size = min(best, key=lambda n: abs(int(n) - preset.n_atoms))
        rate = best[size]["katom_steps_per_s"] * 1000 / preset.n_atoms  # steps/s at the preset's size
        protocol = protocol_of(preset)
        steps = sum(s.steps(protocol.timestep_fs) for s in protocol.stages)
        out[name] = {"atoms": preset.n_atoms, "measured_at_atoms": int(size),
                     "ns_per_day": rate * protocol.timestep_fs * 1e-6 * 86400,
                     "hours_per_replica": steps / rate / 3600, "replicas": preset.replicas}
    return out


def _speedup(record: dict) -> float | None:
    """Best DeePMD variant over the reference at the smallest size (``speedup_by_size`` has every size)."""
    if not record["reference"]:
        return None
    best = _best_variant(record)
    record["speedup_by_size"] = {n: best[n]["katom_steps_per_s"] * 1000 / ref["atom_steps_per_s"]
                                 for n, ref in record["reference"]["by_size"].items() if n in best}
    one = record.get("lammps_1_thread", {})
    # One run each, each at its faster thread count: small cells run faster on one thread.
    record["speedup_best_threads_by_size"] = {
        n: max(best[n]["katom_steps_per_s"], one.get(n, {}).get("katom_steps_per_s", 0.0)) * 1000
        / ref["atom_steps_per_s"] for n, ref in record["reference"]["by_size"].items() if n in best}
    return record["speedup_by_size"].get(str(record["reference"]["atoms"]))
