"""Exploration for concurrent learning: start structures, MD tasks, and candidate selection."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms

from thioglass.errors import ThioglassError
from thioglass.learn.config import ExplorationPlan, InitialData, Selection
from thioglass.mlff.ensemble import read_deviation


def start_structure(system: str, seed: int) -> Atoms:
    """``crystal:NAME[:AxBxC]`` or ``glass:COMPOSITION:ATOMS`` as an ASE cell."""
    kind, _, rest = system.partition(":")
    if kind == "crystal" and rest:
        from thioglass.build.crystals import load_crystal, parse_supercell

        name, _, supercell = rest.partition(":")
        return load_crystal(name, parse_supercell(supercell) if supercell else (1, 1, 1))
    if kind == "glass" and rest.count(":") == 1:
        from thioglass.build import BuildSettings, build_glass

        composition, atoms = rest.split(":")
        return build_glass(composition, settings=BuildSettings(n_atoms=int(atoms), seed=seed))
    raise ThioglassError(f"system '{system}' is not crystal:NAME[:AxBxC] or glass:COMPOSITION:ATOMS")


def strained(atoms: Atoms, strain: float) -> Atoms:
    """Isotropic linear strain (``0.1`` stretches every cell vector by 10 %), atoms scaled along."""
    out = atoms.copy()
    out.set_cell(np.asarray(atoms.cell) * (1 + strain), scale_atoms=True)
    return out


def initial_frames(plan: InitialData) -> list[Atoms]:
    """Rattled, randomly strained copies of the seed crystals and glasses (the paper's start)."""
    rng = np.random.default_rng(plan.seed)
    systems = [f"crystal:{c}" for c in plan.crystals] + [f"glass:{g}:{plan.glass_atoms}" for g in plan.glasses]
    frames = []
    for k, system in enumerate(systems):
        base = start_structure(system, seed=plan.seed + k)
        for _ in range(plan.copies):
            deformation = np.eye(3) + rng.uniform(-plan.max_strain, plan.max_strain, (3, 3))
            atoms = base.copy()
            atoms.set_cell(np.asarray(base.cell) @ deformation, scale_atoms=True)
            atoms.rattle(plan.rattle_angstrom, seed=int(rng.integers(2**31)))
            frames.append(atoms)
    return frames


@dataclass(frozen=True)
class ExploreTask:
    """One MD run of the exploration plan."""

    name: str
    system: str
    temperature_k: float
    pressure_bar: float
    strain: float
    ensemble: str


def exploration_tasks(plan: ExplorationPlan) -> list[ExploreTask]:
    """The Cartesian product of systems, temperatures, pressures, strains and ensembles.

    NVT runs keep the strained cell; NPT ignores the strain except as a starting point, so an NPT
    task is made only once per (system, T, P) at zero strain plus the strained starts.
    """
    tasks = []
    for system, t, p, eps, ens in itertools.product(plan.systems, plan.temperatures_k, plan.pressures_bar,
                                                    plan.strains, plan.ensembles):
        if ens == "nvt" and p != plan.pressures_bar[0]:
            continue  # pressure is meaningless at fixed volume
        name = f"{len(tasks):03d}_{system.replace(':', '_')}_{ens}_{t:g}K_{p:g}bar_{eps:+g}"
        tasks.append(ExploreTask(name, system, float(t), float(p), float(eps), ens))
    return tasks


@dataclass(frozen=True)
class SelectionResult:
    """Counts of explored frames by trust window and the chosen frames (``chosen_failed`` of them failed)."""

    accurate: int
    candidate: int
    failed: int
    chosen: list[Atoms]
    per_run: tuple[tuple[int, int, int], ...] = ()  # (accurate, candidate, failed) of each run, in order
    chosen_failed: int = 0

    @property
    def total(self) -> int:
        return self.accurate + self.candidate + self.failed

    def fractions(self) -> dict[str, float]:
        n = max(self.total, 1)
        return {"accurate": self.accurate / n, "candidate": self.candidate / n, "failed": self.failed / n}


def select_candidates(runs: list[tuple[str, str]], selection: Selection, seed: int) -> SelectionResult:
    """Classify every explored frame by sigma_f_max and pick at most ``max_candidates`` frames: failed ones
    below ``sigma_cap`` up to ``failed_share`` of them (each run's earliest first), candidates for the rest.

    ``runs``: (trajectory, model_devi.out) pairs whose frames share timesteps.
    """
    pools: list[list[Atoms]] = []
    failed_pools: list[list[Atoms]] = []
    per_run = []
    for trajectory, deviation_file in runs:
        counts = [0, 0, 0]  # accurate, candidate, failed
        pools.append([])
        failed_pools.append([])
        per_run.append(counts)
        for window, sigma, atoms in _classified(trajectory, deviation_file, selection):
            counts[window] += 1
            if window == 1:
                pools[-1].append(_kept(atoms, sigma))
            elif window == 2 and sigma < selection.sigma_cap:
                failed_pools[-1].append(_kept(atoms, sigma))  # in time order: the onset of failure first
    failed_budget = round(selection.failed_share * selection.max_candidates)
    failed = _spread(failed_pools, failed_budget, seed, earliest=True) if failed_budget else []
    chosen = failed + _spread(pools, selection.max_candidates - len(failed), seed)
    accurate, candidate, n_failed = (sum(c[k] for c in per_run) for k in range(3))
    return SelectionResult(accurate, candidate, n_failed, chosen, tuple(tuple(c) for c in per_run), len(failed))


def by_system(tasks: list[ExploreTask], result: SelectionResult) -> dict[str, dict[str, int]]:
    """The explored frames of each system by trust window (``tasks`` in the order the runs were given)."""
    out: dict[str, dict[str, int]] = {}
    for task, counts in zip(tasks, result.per_run):
        row = out.setdefault(task.system, {"accurate": 0, "candidate": 0, "failed": 0})
        for key, n in zip(("accurate", "candidate", "failed"), counts):
            row[key] += n
    return out


def most_failed(systems: dict[str, dict[str, int]], count: int = 3) -> str:
    """The ``count`` systems with the largest failed share, as text (``crystal:P2S5 98 %, ...``)."""
    shares = {name: row["failed"] / max(sum(row.values()), 1) for name, row in systems.items()}
    worst = sorted((s for s in shares if shares[s] > 0), key=lambda s: -shares[s])[:count]
    return ", ".join(f"{name} {shares[name]:.0%}" for name in worst)


def _classified(trajectory: str, deviation_file: str, selection: Selection):
    """(window, sigma_f_max, frame) of each sampled frame of one run: window 0 accurate, 1 candidate, 2 failed."""
    from thioglass.io import iter_frames

    if not (Path(deviation_file).is_file() and Path(trajectory).is_file()):
        return  # an exploration that died before its first sample
    deviation = read_deviation(deviation_file)
    for atoms in iter_frames(trajectory):
        sigma = deviation.get(int(atoms.info.get("timestep", -1)))
        if sigma is not None:
            yield (0 if sigma < selection.sigma_low else 1 if sigma < selection.sigma_high else 2), sigma, atoms


def _kept(atoms: Atoms, sigma: float) -> Atoms:
    """A frame chosen to label: wrapped, without the dump's extras, its ``sigma_f_max`` in ``info`` (only frames
    that may be labelled are copied: most explored frames are accurate and dropped)."""
    clean = Atoms(atoms.get_chemical_symbols(), positions=atoms.get_positions(wrap=True), cell=atoms.cell, pbc=True)
    clean.info["sigma_f_max"] = sigma
    return clean


def _spread(pools: list[list[Atoms]], limit: int, seed: int, earliest: bool = False) -> list[Atoms]:
    """At most ``limit`` frames drawn evenly across runs (as DP-GEN caps each system), so a system with few
    frames is not crowded out by one with many: at random within a run, or its earliest first."""
    rng = np.random.default_rng(seed)
    queues = [pool[::-1] if earliest else [pool[i] for i in rng.permutation(len(pool))] for pool in pools]
    chosen: list[Atoms] = []
    while len(chosen) < limit and any(queues):
        for queue in queues:
            if queue and len(chosen) < limit:
                chosen.append(queue.pop())
    return chosen
