"""Run a :class:`~thioglass.md.protocol.Protocol` with ASE molecular dynamics and any ASE calculator.

The same protocol as :mod:`thioglass.md.lammps`, integrated by ASE:

* NVT: :class:`ase.md.nose_hoover_chain.NoseHooverChainNVT` (chain of 3, ``tdamp``);
* NPT: :class:`ase.md.nose_hoover_chain.IsotropicMTKNPT` (MTK, isotropic cell, ``tdamp``,
  ``pdamp``; the stage pressure in bar is converted with ``ase.units.bar``);
* NVE: :class:`ase.md.verlet.VelocityVerlet`.

A temperature ramp (``t_start_k`` -> ``t_end_k``) runs as a staircase of short plateaus of
``ramp_plateau_steps`` steps; each plateau targets the ramp's temperature at its midpoint, and the
thermostat and barostat momenta carry over from one plateau to the next (see
:func:`plateau_schedule`). With 100-step plateaus the paper's cooling (1400 K in 280 ps) moves in
0.5 K steps. ASE's thermostats count 3N degrees of freedom, while the momentum is zero and fixed,
so the target handed to ASE is scaled by (3N-3)/3N: the temperature written to ``thermo.dat``
(3N-3 degrees of freedom, as LAMMPS counts them) then averages to the protocol's temperature.

Output per stage folder ``NN_name/`` (the LAMMPS layout with extxyz files):

* ``traj.extxyz``: frames every ``dump_every_ps``, ``info["timestep"]`` = step in the stage,
  positions wrapped into the cell and a per-atom ``unwrapped`` column (read back as
  ``atoms.arrays["unwrapped"]``) holding ASE's continuous positions: unwrapped fractional
  coordinates times the current cell, the convention of LAMMPS ``xu yu zu``. MSD code should read
  ``atoms.positions`` and the cell of each frame and unwrap them with
  :mod:`thioglass.analysis.unwrap` (exact under NPT box changes); the ``unwrapped`` column is
  there for tools that want LAMMPS-style coordinates.
* ``thermo.dat``: :data:`~thioglass.md.jobs.THERMO_COLUMNS` in LAMMPS metal units (eV, K, bar,
  Å, Å^3, g/cm^3); pressures include the kinetic term and ``pxy`` = -stress_xy.
* ``final.extxyz`` (positions, ``unwrapped`` and momenta: the next stage continues from them),
  ``done.json``; ``checkpoint.npz`` while the stage runs.
* ``model_devi.out`` when a DeePMD model runs with ensemble members (``AseSettings.ensemble``): every
  ``deviation_every_steps`` the members are evaluated through DeePMD's Python API beside the production
  forces, in the format LAMMPS writes (:mod:`thioglass.mlff.ensemble`).

Every ``checkpoint_every_steps`` the positions, momenta, cell, step and thermostat/barostat state
are saved atomically; a killed run continues from the checkpoint and first cuts ``traj.extxyz``
and ``thermo.dat`` back to the steps before it, so no frame is written twice
(:mod:`thioglass.md.ase_checkpoint`). Blow-ups (temperature
above ``runaway_factor`` x the protocol's maximum + 500 K, NaN, atoms closer than
``min_distance_angstrom``) stop the run with a one-line :class:`ThioglassError` and the last frame
that passed the checks in ``last_good.extxyz``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from ase import Atoms, units

from thioglass.errors import ThioglassError
from thioglass.md.ase_checkpoint import (dynamics_state, load_checkpoint, restore_dynamics_state, save_checkpoint,
                                         truncate_extxyz, truncate_thermo)
from thioglass.md.jobs import THERMO_COLUMNS, check_protocol_file, mark_stage_done, stage_done, stage_folders
from thioglass.md.integrity import check_stage_trajectory
from thioglass.md.protocol import Protocol, Stage
from thioglass.md.results import MDResult, StageResult, check_frame
from thioglass.mlff.ensemble import (DEVIATION_EVERY_STEPS, DEVIATION_FILE, ase_deviation_row, format_deviation_row,
                                     trim_deviation, write_deviation_header)

Progress = Callable[[str, int, int], None]

_AMU_PER_A3_TO_G_CM3 = 1.66053906660


@dataclass(frozen=True)
class AseSettings:
    """How ASE MD runs.

    Parameters
    ----------
    calculator
        Potential name for :func:`thioglass.potential.make_calculator`
        (``"sevennet-0"``, ``"ase:ase.calculators.emt:EMT"``, ...).
    threads
        torch threads for calculators built on torch.
    checkpoint_every_steps
        Steps between checkpoints.
    ramp_plateau_steps
        Length of each constant-temperature plateau of a ramp.
    runaway_factor, min_distance_angstrom
        Blow-up checks, as in :class:`~thioglass.md.lammps.LammpsSettings`.
    chain_length
        Nose-Hoover chain length of thermostat and barostat.
    write_labels
        Also write each frame's energy, forces and stress (computed anyway by the step) into
        ``traj.extxyz``, so frames of MD driven by a reference are labelled as they are made.
    ensemble, deviation_every_steps
        Member model files evaluated beside a DeePMD ``calculator`` and their sampling interval.
    """

    calculator: str
    threads: int = 2
    checkpoint_every_steps: int = 1000
    ramp_plateau_steps: int = 100
    runaway_factor: float = 3.0
    min_distance_angstrom: float = 0.6
    chain_length: int = 3
    write_labels: bool = False
    ensemble: tuple[str, ...] = ()
    deviation_every_steps: int = DEVIATION_EVERY_STEPS

    def __post_init__(self) -> None:
        if self.threads < 1 or self.checkpoint_every_steps < 1 or self.ramp_plateau_steps < 1:
            raise ThioglassError("threads, checkpoint_every_steps and ramp_plateau_steps must be at least 1")
        if self.deviation_every_steps < 1:
            raise ThioglassError(f"deviation_every_steps {self.deviation_every_steps} must be at least 1")
        if self.ensemble:
            from thioglass.mlff.ensemble import ensemble_for

            ensemble_for(self.calculator, self.ensemble)  # members checked before any MD


def plateau_schedule(stage: Stage, timestep_fs: float, plateau_steps: int) -> list[tuple[int, int, float]]:
    """``(first_step, end_step, target_k)`` of each plateau; one plateau when T is constant.

    Plateau k covers steps ``[k P, min((k+1) P, n))`` and targets the linear ramp at its midpoint,
    so the staircase has the ramp's mean temperature and ends half a plateau from ``t_end_k``.
    """
    n = stage.steps(timestep_fs)
    t0, t1 = stage.t_start_k, stage.final_temperature_k
    if t0 == t1:
        return [(0, n, t0)]
    edges = list(range(0, n, plateau_steps)) + [n]
    return [(lo, hi, t0 + (t1 - t0) * (lo + hi) / (2 * n)) for lo, hi in zip(edges[:-1], edges[1:])]


def temperature_k(atoms: Atoms) -> float:
    """Kinetic temperature with 3N-3 degrees of freedom (total momentum is zero), as LAMMPS."""
    dof = 3 * len(atoms) - 3
    return float(2 * atoms.get_kinetic_energy() / (dof * units.kB))


def initial_velocities(atoms: Atoms, temperature: float, seed: int) -> None:
    """Maxwell-Boltzmann momenta from ``numpy.random.default_rng(seed)``, zero total momentum,
    scaled to exactly ``temperature`` (K)."""
    from ase.md.velocitydistribution import Stationary, thermalize_momenta

    thermalize_momenta(atoms, temperature, rng=np.random.default_rng(seed))
    Stationary(atoms)
    atoms.set_momenta(atoms.get_momenta() * np.sqrt(temperature / temperature_k(atoms)))


def thermo_row(atoms: Atoms, step: int) -> list[float]:
    """One ``thermo.dat`` row (:data:`THERMO_COLUMNS`, LAMMPS metal units)."""
    pe = atoms.get_potential_energy()
    ke = atoms.get_kinetic_energy()
    # ASE Voigt order xx yy zz yz xz xy, in eV/Å^3; LAMMPS pressure = -stress, in bar.
    s = -atoms.get_stress(voigt=True, include_ideal_gas=True) / units.bar
    volume = atoms.get_volume()
    density = atoms.get_masses().sum() / volume * _AMU_PER_A3_TO_G_CM3
    lx, ly, lz = atoms.cell.lengths()
    return [step, temperature_k(atoms), pe, ke, pe + ke, s[:3].mean(), volume, density, lx, ly, lz,
            s[0], s[1], s[2], s[5], s[4], s[3]]


def trajectory_frame(atoms: Atoms, step: int, timestep_fs: float, momenta: bool = False) -> Atoms:
    """A copy for ``traj.extxyz``: wrapped positions, ``unwrapped`` column, step and time."""
    frame = Atoms(atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=True)
    frame.arrays["unwrapped"] = atoms.positions.copy()
    if momenta:
        frame.set_momenta(atoms.get_momenta())
    frame.wrap()
    frame.info.update(timestep=int(step), time_ps=step * timestep_fs / 1000)
    return frame


def _make_dynamics(stage: Stage, atoms: Atoms, timestep_fs: float, target_k: float, chain: int):
    from ase.md.nose_hoover_chain import IsotropicMTKNPT, NoseHooverChainNVT
    from ase.md.verlet import VelocityVerlet

    dt = timestep_fs * units.fs
    ase_target = target_k * (3 * len(atoms) - 3) / (3 * len(atoms))  # see module docstring
    tdamp = stage.tdamp_ps * 1000 * units.fs
    if stage.ensemble == "nvt":
        return NoseHooverChainNVT(atoms, dt, temperature_K=ase_target, tdamp=tdamp, tchain=chain)
    if stage.ensemble == "npt":
        return IsotropicMTKNPT(atoms, dt, temperature_K=ase_target, pressure_au=stage.pressure_bar * units.bar,
                               tdamp=tdamp, pdamp=stage.pdamp_ps * 1000 * units.fs, tchain=chain, pchain=chain)
    return VelocityVerlet(atoms, dt)


def _read_start(path: Path) -> Atoms:
    # Continue from unwrapped positions (and momenta, if stored) so that unwrapped
    # coordinates run on across stages, as LAMMPS image flags do.
    from ase.io import read

    stored = read(path, format="extxyz")
    atoms = Atoms(stored.numbers, positions=stored.arrays.get("unwrapped", stored.positions),
                  cell=stored.cell, pbc=True)
    if "momenta" in stored.arrays:
        atoms.set_momenta(stored.arrays["momenta"])
    return atoms


def _attach_labels(frame: Atoms, atoms: Atoms) -> None:
    """Give ``frame`` the energy, forces and stress of ``atoms`` (the calculator's cached results at
    this step; wrapping changes none of them), which ``ase.io.write`` then puts into the extxyz."""
    from ase.calculators.singlepoint import SinglePointCalculator

    frame.calc = SinglePointCalculator(frame, energy=atoms.get_potential_energy(), forces=atoms.get_forces(),
                                       stress=atoms.get_stress(voigt=True))


class AseEngine:
    """Runs protocols with any ASE calculator (see the module docstring for the files)."""

    def __init__(self, settings: AseSettings) -> None:
        self.settings = settings
        self._calculator = None
        self._members: list | None = None

    def calculator(self):
        """The calculator, made once per engine (threads set for torch-based ones)."""
        if self._calculator is None:
            from thioglass.potential import make_calculator

            self._calculator = make_calculator(self.settings.calculator, threads=self.settings.threads)
        return self._calculator

    def members(self) -> list:
        """The ensemble members as DeePMD ``DeepPot`` objects, loaded once (empty without an ensemble)."""
        if self._members is None:
            self._members = []
            if self.settings.ensemble:
                from thioglass.potential import make_calculator

                make_calculator(self.settings.calculator, threads=self.settings.threads)  # thread settings first
                from deepmd.infer import DeepPot

                self._members = [DeepPot(path) for path in self.settings.ensemble]
        return self._members

    def run(self, atoms: Atoms, protocol: Protocol, workdir: str | Path, progress: Progress | None = None) -> MDResult:
        """Run ``protocol`` from ``atoms`` in ``workdir``; resumes whatever was left unfinished.

        ``progress(stage_name, step, total_steps)`` is called about once a second.
        """
        from ase.io import write

        if len(atoms) < 2 or atoms.cell.rank != 3:
            raise ThioglassError("MD needs a periodic cell with a 3D box and at least two atoms")
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        check_protocol_file(workdir, protocol)
        start = workdir / "initial.extxyz"
        if not start.exists():
            write(start, trajectory_frame(atoms, 0, protocol.timestep_fs), format="extxyz")
        results = []
        for k, (stage, folder) in enumerate(stage_folders(workdir, protocol)):
            total = stage.steps(protocol.timestep_fs)
            report = (lambda step, name=stage.name, n=total: progress(name, step, n)) if progress else None
            if not stage_done(folder):
                folder.mkdir(parents=True, exist_ok=True)
                _StageRun(self, stage, protocol, folder, first=k == 0).run(_read_start(start), report)
            results.append(StageResult.from_folder(folder, stage))
            start = folder / "final.extxyz"
        return MDResult(str(workdir), tuple(results))


class _StageRun:
    """One stage: integrate, write thermo/frames/checkpoints, check for blow-ups."""

    def __init__(self, engine: AseEngine, stage: Stage, protocol: Protocol, folder: Path, first: bool) -> None:
        self.settings, self.stage, self.protocol = engine.settings, stage, protocol
        self.folder, self.first = folder, first
        self.calculator = engine.calculator()
        self.n_steps = stage.steps(protocol.timestep_fs)
        self.dump_every = stage.dump_every_steps(protocol.timestep_fs)
        self.thermo_every = min(protocol.thermo_every_steps, self.n_steps)
        self.t_max = self.settings.runaway_factor * protocol.max_temperature_k + 500
        self.last_good: Atoms | None = None
        self.members = engine.members()
        self.deviation_every = min(self.settings.deviation_every_steps, self.n_steps) if self.members else None

    def run(self, atoms: Atoms, report: Callable[[int], None] | None) -> None:
        step, state = self._resume(atoms)
        atoms.calc = self.calculator
        with open(self.folder / "traj.extxyz", "a") as traj, open(self.folder / "thermo.dat", "a") as thermo:
            if thermo.tell() == 0:
                thermo.write("# " + " ".join(THERMO_COLUMNS) + "\n")
            self._record(atoms, step, traj, thermo)
            plateaus = plateau_schedule(self.stage, self.protocol.timestep_fs, self.settings.ramp_plateau_steps)
            last_report = time.monotonic()
            for _, end, target in plateaus:
                if end <= step:
                    continue
                dynamics = _make_dynamics(self.stage, atoms, self.protocol.timestep_fs, target,
                                          self.settings.chain_length)
                restore_dynamics_state(dynamics, state)
                while step < end:
                    following = self._next_event(step, end)
                    dynamics.run(following - step)
                    step, state = following, dynamics_state(dynamics)
                    self._record(atoms, step, traj, thermo)
                    if step % self.settings.checkpoint_every_steps == 0 and step < self.n_steps:
                        save_checkpoint(self.folder, step, atoms, state)
                    if report is not None and (time.monotonic() - last_report > 1.0 or step == self.n_steps):
                        report(step)
                        last_report = time.monotonic()
        self._finish(atoms, step)

    def _next_event(self, step: int, end: int) -> int:
        """The next step with a frame, thermo row or checkpoint due (or the plateau's end)."""
        intervals = (self.dump_every, self.thermo_every, self.settings.checkpoint_every_steps,
                     *([self.deviation_every] if self.deviation_every else []))
        return min(end, *(step + every - step % every for every in intervals))

    def _finish(self, atoms: Atoms, step: int) -> None:
        from ase.io import write

        self._check(lambda: check_frame(trajectory_frame(atoms, step, 1.0), self.settings.min_distance_angstrom))
        check_stage_trajectory(self.folder / "traj.extxyz", self.n_steps, self.dump_every)
        temporary = self.folder / "final.extxyz.tmp"
        write(temporary, trajectory_frame(atoms, step, self.protocol.timestep_fs, momenta=True), format="extxyz")
        os.replace(temporary, self.folder / "final.extxyz")
        mark_stage_done(self.folder, self.stage, self.n_steps, engine="ase", calculator=self.settings.calculator)
        (self.folder / "checkpoint.npz").unlink(missing_ok=True)

    def _resume(self, atoms: Atoms) -> tuple[int, dict[str, np.ndarray]]:
        loaded = load_checkpoint(self.folder, atoms)
        if loaded is None:
            for stale in ("traj.extxyz", "thermo.dat", DEVIATION_FILE):
                (self.folder / stale).unlink(missing_ok=True)
            if self.first or not atoms.get_momenta().any():
                initial_velocities(atoms, self.stage.t_start_k, self.protocol.seed)
            return 0, {}
        step, state = loaded
        truncate_extxyz(self.folder / "traj.extxyz", before_step=step)
        truncate_thermo(self.folder / "thermo.dat", before_step=step)
        trim_deviation(self.folder / DEVIATION_FILE, before_step=step)
        return step, state

    def _record(self, atoms: Atoms, step: int, traj, thermo) -> None:
        """Checks at every event; thermo row and frame when they are due."""
        from ase.io import write

        temperature = temperature_k(atoms)
        if not np.isfinite(atoms.positions).all() or not np.isfinite(temperature):
            self._fail(f"positions or velocities became NaN at step {step}: the MD blew up")
        if temperature > self.t_max:
            self._fail(f"temperature runaway ({temperature:.0f} K > {self.t_max:.0f} K) at step {step}: the MD blew up")
        if step % self.thermo_every == 0 or step == self.n_steps:
            row = thermo_row(atoms, step)
            if not np.isfinite(row).all():
                self._fail(f"energy or pressure became NaN at step {step}: the MD blew up")
            thermo.write(" ".join(f"{v:.10g}" for v in row) + "\n")
            thermo.flush()
        if step % self.dump_every == 0:
            frame = trajectory_frame(atoms, step, self.protocol.timestep_fs)
            if self.settings.write_labels:
                _attach_labels(frame, atoms)
            self._check(lambda: check_frame(frame, self.settings.min_distance_angstrom))
            write(traj, frame, format="extxyz")
            traj.flush()
            self.last_good = frame
        if self.deviation_every and step % self.deviation_every == 0:
            self._record_deviation(atoms, step)

    def _record_deviation(self, atoms: Atoms, step: int) -> None:
        path = self.folder / DEVIATION_FILE
        if not path.exists():
            write_deviation_header(path)
        with open(path, "a") as handle:
            handle.write(format_deviation_row(ase_deviation_row(step, atoms, self.members)))

    def _check(self, check: Callable[[], None]) -> None:
        try:
            check()
        except ThioglassError as err:
            self._fail(str(err))

    def _fail(self, message: str) -> None:
        from ase.io import write

        kept = self.folder / "last_good.extxyz"
        if self.last_good is not None:
            write(kept, self.last_good, format="extxyz")
        else:
            StageResult.save_last_good(self.folder)
        raise ThioglassError(f"{message} in {self.folder}; last good frame kept in {kept}")
