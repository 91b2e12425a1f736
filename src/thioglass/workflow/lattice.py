"""Lattice of crystalline Li10SiP2S12 at 300 K from NPT MD with a fully flexible cell (the paper's Table 1).

The engines' barostats are isotropic, which would keep c/a at its starting value; a and c are
only tested independently when every cell vector may change, so this runs ASE's MTK integrator
(:class:`ase.md.nose_hoover_chain.MTKNPT`) in-process with the potential's ASE calculator. The
crystal starts from the library's Li10SiP2S12 (the LGPS structure with Ge -> Si at the
experimental lattice) and a, c and the cell volume are averaged per unit cell over the
production part.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np

from thioglass.errors import ThioglassError
from thioglass.mlff.ensemble import ase_deviation_row, deviation_stats, ensemble_for
from thioglass.workflow.settings import LatticeSettings

CRYSTAL = "Li10SiP2S12"


def c_axis(lengths: np.ndarray) -> int:
    """Index of the tetragonal c axis: the lattice vector whose length differs from the other two."""
    return int(np.argmax([abs(lengths[k] - np.mean(np.delete(lengths, k))) for k in range(3)]))


def run_lattice(potential: str | None, settings: LatticeSettings, out_dir: Path | str, threads: int = 2,
                progress: Callable[[int, int], None] | None = None, ensemble: tuple[str, ...] | None = None) -> dict:
    """Mean a, c and unit-cell volume of Li10SiP2S12 at ``settings.temperature_k``.

    The result is stored as ``out_dir/lattice.json``; when that file exists it is returned
    without running again.

    Returns
    -------
    dict
        ``a_angstrom``, ``c_angstrom``, ``volume_angstrom3`` (per unit cell) with ``*_std``
        (standard deviation over the samples), ``temperature_mean_K``, ``n_atoms``,
        ``n_samples``, ``supercell``, ``production_ps``, ``wall_s``, ``settings`` and ``model_deviation``
        (``lattice/npt``: the ensemble's force deviation on every sample, empty without an ensemble;
        ``ensemble`` as for :func:`thioglass.mlff.ensemble.ensemble_for`).
    """
    import time
    from dataclasses import asdict

    from thioglass.io.atomic import write_json

    path = Path(out_dir) / "lattice.json"
    if path.exists():
        return json.loads(path.read_text())
    start = time.perf_counter()
    samples, temperatures, n_atoms, deviation = _sample(potential, settings, threads, progress, ensemble)
    reps = np.array(settings.supercell, dtype=float)
    lengths = samples[:, :3] / reps
    axis = c_axis(lengths[0])
    a = lengths[:, [k for k in range(3) if k != axis]].mean(axis=1)
    volume = samples[:, 3] / np.prod(reps)
    result = {
        "crystal": CRYSTAL, "a_angstrom": float(a.mean()), "a_std_angstrom": float(a.std()),
        "c_angstrom": float(lengths[:, axis].mean()), "c_std_angstrom": float(lengths[:, axis].std()),
        "volume_angstrom3": float(volume.mean()), "volume_std_angstrom3": float(volume.std()),
        "angles_deg": samples[:, 4:].mean(axis=0).tolist(), "temperature_K": settings.temperature_k,
        "temperature_mean_K": float(np.mean(temperatures)), "n_atoms": n_atoms, "n_samples": len(samples),
        "supercell": list(settings.supercell), "production_ps": settings.production_ps,
        "wall_s": round(time.perf_counter() - start, 3), "settings": asdict(settings),
        "model_deviation": {"lattice/npt": deviation_stats(deviation, every_steps=settings.sample_every_steps)}
        if deviation else {},
    }
    write_json(path, result)
    return result


def _sample(potential: str | None, s: LatticeSettings, threads: int, progress: Callable[[int, int], None] | None,
            ensemble: tuple[str, ...] | None = None) -> tuple[np.ndarray, list[float], int, list[float]]:
    """Cell lengths, volume and angles every ``sample_every_steps`` of the production part, and the
    ensemble's max force deviation at each sample (empty without members)."""
    from ase import units
    from ase.md.nose_hoover_chain import MTKNPT

    from thioglass.build.crystals import load_crystal
    from thioglass.md.ase_engine import initial_velocities, temperature_k
    from thioglass.potential import make_calculator

    atoms = load_crystal(CRYSTAL, s.supercell)
    atoms.calc = make_calculator(potential, threads=threads)
    members = _members(potential, ensemble)
    deviation: list[float] = []
    initial_velocities(atoms, s.temperature_k, s.seed)
    dynamics = MTKNPT(atoms, timestep=s.timestep_fs * units.fs, temperature_K=s.temperature_k,
                      pressure_au=s.pressure_bar * units.bar, tdamp=s.tdamp_ps * 1000 * units.fs,
                      pdamp=s.pdamp_ps * 1000 * units.fs)
    n_equilibrate = round(s.equilibrate_ps * 1000 / s.timestep_fs)
    n_total = n_equilibrate + max(1, round(s.production_ps * 1000 / s.timestep_fs))
    samples, temps = [], []
    limit = 3 * s.temperature_k + 500
    for step in range(0, n_total, s.sample_every_steps):
        dynamics.run(min(s.sample_every_steps, n_total - step))
        temperature = temperature_k(atoms)
        if not np.isfinite(atoms.positions).all() or not temperature < limit:
            raise ThioglassError(f"the {CRYSTAL} NPT run blew up at step {step} (T = {temperature:.0f} K); "
                                 "check the potential and the timestep")
        if step + s.sample_every_steps > n_equilibrate:
            samples.append([*atoms.cell.cellpar()[:3], atoms.get_volume(), *atoms.cell.cellpar()[3:]])
            temps.append(temperature)
            if members:
                deviation.append(ase_deviation_row(step, atoms, members)[4])
        if progress is not None:
            progress(min(step + s.sample_every_steps, n_total), n_total)
    return np.array(samples), temps, len(atoms), deviation


def _members(potential: str | None, ensemble: tuple[str, ...] | None) -> list:
    """The ensemble members beside a DeePMD ``potential`` as ``DeepPot`` objects (none for other potentials)."""
    paths = ensemble_for(potential, ensemble)
    if not paths:
        return []
    from deepmd.infer import DeepPot

    return [DeepPot(str(path)) for path in paths]
