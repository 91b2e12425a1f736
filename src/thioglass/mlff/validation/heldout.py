"""Check 1: held-out frames made by MD driven by the reference itself (the analogue of the paper's AIMD).

Every frame the reference's MD writes carries the energy, forces and stress the reference computed for
that step (``AseSettings(write_labels=True)``); they go into the label store under the frame's hash as each
run finishes, so nothing is computed twice and a rerun finds them there. The model is then compared with
those labels per system and per family (the parity code of :mod:`thioglass.mlff.evaluate`).

Runs (NVT, fixed cell): each crystal, in a supercell wider than twice the model's cutoff, at every
held-out temperature from the crystal; each glass family first at the melt temperature (the last one) from
a randomly packed cell, then at the other temperatures from the melt's last frame.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
from ase import Atoms

from thioglass.io.atomic import write_json
from thioglass.md.protocol import Protocol, Stage
from thioglass.mlff.evaluate import ParityData
from thioglass.mlff.validation.settings import ValidationSettings
from thioglass.mlff.validation.subject import (
    Subject,
    crystal_cell,
    crystal_list,
    glass_cell,
)
from thioglass.reference.label import Label, LabelStore, frame_key

Log = Callable[[str], None]


def reference_protocol(temperature_k: float, settings: ValidationSettings) -> Protocol:
    stage = Stage("nvt", "nvt", settings.reference_md_ps, temperature_k, tdamp_ps=settings.tdamp_ps,
                  dump_every_ps=settings.dump_every_ps)
    return Protocol((stage,), timestep_fs=settings.timestep_fs, seed=settings.seed, thermo_every_steps=10)


def run_name(system: str, temperature_k: float) -> str:
    return f"{system}-{temperature_k:g}K"


def reference_jobs(systems: dict[str, Atoms], temperatures_k: tuple[float, ...], subject: Subject,
                   settings: ValidationSettings, out: Path, threads: int) -> list:
    """One reference MD job per system and temperature, in ``out/md/reference/<system>-<T>K``."""
    from thioglass.md.ase_engine import AseEngine, AseSettings
    from thioglass.md.jobs import MDJob

    # A checkpoint at every labelled frame: a reference step costs seconds, so a killed run loses at most one
    # frame's worth of them (the engine's default, every 1000 steps, is longer than the whole run).
    every = max(1, round(settings.dump_every_ps * 1000 / settings.timestep_fs))
    engine = AseEngine(AseSettings(subject.reference, threads=threads, write_labels=True, checkpoint_every_steps=every))
    return [MDJob(run_name(name, t), atoms, reference_protocol(t, settings),
                  str(out / "md" / "reference" / run_name(name, t)), engine)
            for name, atoms in systems.items() for t in temperatures_k]


def store_run_labels(job_name: str, result: Any, store: LabelStore, out: Path) -> None:
    """Put the labelled frames of a finished reference run into ``store``; list their keys in
    ``out/heldout/<run>.json`` (the marker that this run's labels are stored)."""
    from ase.io import iread

    marker = out / "heldout" / f"{job_name}.json"
    if marker.exists():
        return
    keys = []
    stage = result.stages[0]
    for frame in iread(stage.trajectory, index=":", format="extxyz"):
        stress = frame.get_stress(voigt=False)
        label = Label(float(frame.get_potential_energy()), np.array(frame.get_forces()),
                      -np.asarray(stress) * frame.get_volume())
        plain = Atoms(frame.numbers, positions=frame.positions, cell=frame.cell, pbc=True)
        key = frame_key(plain)
        store.save(key, plain, label)
        keys.append(key)
    write_json(marker, {"run": job_name, "trajectory": stage.trajectory, "keys": keys})


def run_reference_md(jobs: list, store: LabelStore, out: Path, client: Any, log: Log) -> dict[str, Any]:
    """Run (or resume) reference MD jobs, storing each run's labels as it finishes; failures are kept."""
    from thioglass.md.jobs import run_jobs

    if not jobs:
        return {"results": {}, "failures": {}}
    log(f"reference MD: {len(jobs)} runs")

    def finished(name: str, result: Any) -> None:
        store_run_labels(name, result, store, out)
        log(f"  reference {name} done, its frames labelled")

    outcome = run_jobs(jobs, client, on_done=finished)
    outcome.raise_unexpected()
    for name, message in outcome.messages().items():
        log(f"reference MD {name} failed: {message}")
    return {"results": outcome.results, "failures": outcome.messages()}


def heldout_systems(subject: Subject, settings: ValidationSettings) -> dict[str, Atoms]:
    crystals = {name: crystal_cell(name, subject) for name in crystal_list(settings.heldout_crystals, subject)}
    return crystals | {name: glass_cell(name, subject, settings) for name in settings.glasses}


def run_heldout(subject: Subject, settings: ValidationSettings, out: Path, *, threads: int, client: Any,
                log: Log) -> dict:
    """Check 1 (cached in ``out/heldout.json``): reference MD, labels, and the model's errors."""
    import json

    path = out / "heldout.json"
    if path.exists():
        return json.loads(path.read_text())
    store = LabelStore(out / "labels")
    systems = heldout_systems(subject, settings)
    glasses = {name: systems[name] for name in settings.glasses}
    crystals = {name: atoms for name, atoms in systems.items() if name not in glasses}
    melt_k, others = settings.heldout_temperatures_k[-1], settings.heldout_temperatures_k[:-1]
    melts = reference_jobs(glasses, (melt_k,), subject, settings, out, threads)
    first = run_reference_md(melts + reference_jobs(crystals, settings.heldout_temperatures_k, subject,
                                                    settings, out, threads), store, out, client, log)
    quenched = {name: first["results"][run_name(name, melt_k)].final_atoms() for name in glasses
                if run_name(name, melt_k) in first["results"]}
    second = run_reference_md(reference_jobs(quenched, others, subject, settings, out, threads),
                              store, out, client, log)
    failures = first["failures"] | second["failures"]
    result = evaluate_heldout(subject, settings, store, out, systems)
    result["failed_runs"] = failures
    write_json(path, result)
    return result


def frames_by_system(store: LabelStore, out: Path, systems: dict[str, Atoms]) -> dict[str, list]:
    """Labelled frames of every stored run, by system (run markers name the system)."""
    import json

    keys: dict[str, dict[str, None]] = {}
    for marker in sorted((out / "heldout").glob("*.json")):
        record = json.loads(marker.read_text())
        system = record["run"].rsplit("-", 1)[0]
        if system in systems:
            # The starting crystal is the first frame of every temperature's run: count it once.
            keys.setdefault(system, {}).update(dict.fromkeys(record["keys"]))
    return {system: [store.load(key) for key in unique] for system, unique in keys.items()}


def model_parity(subject: Subject, frames: list, threads: int = 1) -> ParityData:
    """The model against labelled frames: DeePMD models through :func:`thioglass.mlff.evaluate.parity`,
    other potentials through their ASE calculator."""
    from thioglass.mlff.evaluate import parity

    if subject.is_deepmd:
        return parity(subject.model, frames)
    from thioglass.mlff.validation.subject import calculator

    data = ParityData([], [], [], [], [], [])
    for atoms, label in frames:
        work = atoms.copy()
        work.calc = calculator(subject.model, threads)
        n = len(work)
        data.energy_ref.append(label.energy_ev / n)
        data.energy_pred.append(work.get_potential_energy() / n)
        data.force_ref.append(np.asarray(label.forces_ev_per_angstrom))
        data.force_pred.append(work.get_forces())
        data.virial_ref.append(np.asarray(label.virial_ev).ravel() / n)
        data.virial_pred.append(-work.get_stress(voigt=False).ravel() * work.get_volume() / n)
    return data


def _metrics(part: ParityData) -> dict:
    bias = float(np.mean(np.array(part.energy_pred) - np.array(part.energy_ref)) * 1000)
    return {**part.metrics(), "mean_energy_error_mev_per_atom": bias}


def evaluate_heldout(subject: Subject, settings: ValidationSettings, store: LabelStore, out: Path,
                     systems: dict[str, Atoms]) -> dict:
    """Errors per system, per family and overall, with the per-family targets."""
    by_system = {name: model_parity(subject, frames) for name, frames in frames_by_system(store, out, systems).items()}
    families: dict[str, list[ParityData]] = {}
    for name, part in by_system.items():
        families.setdefault(systems[name].info["family"], []).append(part)
    by_family = {name: _metrics(ParityData.merged(parts)) for name, parts in sorted(families.items())}
    for entry in by_family.values():
        entry["passed"] = bool(entry["rmse_energy_mev_per_atom"] <= settings.energy_target_mev_per_atom
                               and entry["rmse_force_ev_per_angstrom"] <= settings.force_target_ev_per_angstrom)
    overall = _metrics(ParityData.merged(by_system.values())) if by_system else {}
    return {"by_system": {name: {**_metrics(part), "family": systems[name].info["family"], "atoms": len(systems[name])}
                          for name, part in by_system.items()},
            "by_family": by_family, "overall": overall,
            "targets": {"rmse_energy_mev_per_atom": settings.energy_target_mev_per_atom,
                        "rmse_force_ev_per_angstrom": settings.force_target_ev_per_angstrom}}
