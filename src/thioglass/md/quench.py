"""Melt-quench replicas of a glass composition, in parallel through Dask, and their 300 K density.

Layout of ``out_dir``::

    job.json                  composition, potential and settings (a rerun must match them)
    replica_<r>/glass.extxyz  random-packed start (seed = settings.seed + r)
    replica_<r>/NN_stage/     the engine's stage folders (see thioglass.md.lammps / ase_engine); with
                              ``anneal_max_ps`` also NN_anneal_2, NN_anneal_3, ... until the density converged
    replica_<r>/final.extxyz  the quenched glass
    replica_<r>/replica.json  per-replica results; its presence marks the replica finished
    quench.json               all replicas, density mean and spread
    summary.json              RunSummary (inputs, versions, timings, outputs)

Each replica is one Dask task. A rerun skips finished replicas without touching their files and
resumes unfinished ones from their checkpoints. The density of a replica is the mean of the
``density`` column of the last (NPT, ``final_k``) stage's ``thermo.dat`` after its first
:data:`DENSITY_SKIP_FRACTION` (equilibration); the spread over replicas is their sample standard
deviation. With ``settings.anneal_max_ps`` the anneal goes on, one more stage of ``anneal_ps`` at a
time, while the density over that window has not converged (:func:`density_converged`); the
decision is read from finished stages only, so a rerun after a kill takes the same path.
"""

from __future__ import annotations

import json
import time
from dataclasses import KW_ONLY, asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from thioglass.analysis.density import density_drift
from thioglass.errors import ThioglassError
from thioglass.locking import locked_folder
from thioglass.io.atomic import write_json
from thioglass.md.jobs import (StepProgress, check_job_file, position_at, appended_stages, run_jobs,
                               run_position, stage_folder, stage_progress)
from thioglass.md.protocol import Protocol, QuenchSettings, Stage, melt_quench

ReplicaProgress = Callable[[int, str, int, int], None]
DENSITY_SKIP_FRACTION = 0.2  # share of the final NPT stage left out of the density as equilibration


@dataclass(frozen=True)
class QuenchJob:
    """One replica, in plain values so that it travels to a Dask worker.

    ``potential`` as for :func:`~thioglass.md.engine.make_engine`; ``out_dir`` is the quench
    folder (the replica runs in ``out_dir/replica_<replica>``).
    """

    composition: str
    settings: QuenchSettings
    potential: str | None
    out_dir: str
    replica: int
    _: KW_ONLY
    threads: int = 2
    checkpoint_every_steps: int = 1000
    density_skip_fraction: float = DENSITY_SKIP_FRACTION
    ensemble: tuple[str, ...] | None = None

    @property
    def folder(self) -> Path:
        return Path(self.out_dir) / f"replica_{self.replica}"

    @property
    def seed(self) -> int:
        return self.settings.seed + self.replica

    @property
    def protocol(self) -> Protocol:
        """The replica's protocol, with the anneal stages it has already appended."""
        return replica_protocol(self.folder, replace(self.settings, seed=self.seed))

    @property
    def name(self) -> str:
        return f"replica_{self.replica}"

    def run(self, progress: StepProgress | None = None) -> dict[str, Any]:
        """Build (or reload) the glass, run the protocol, return and store the replica's results.

        ``progress(steps_done, total_steps)`` over the whole protocol, about once a second.
        """
        done = self.folder / "replica.json"
        if done.exists():
            return json.loads(done.read_text())
        from thioglass.io import write_structure
        from thioglass.md.engine import engine_kind, make_engine

        start = time.perf_counter()
        glass = self.start_structure()
        engine = make_engine(self.potential, self.threads, checkpoint_every_steps=self.checkpoint_every_steps,
                             ensemble=self.ensemble)
        protocol = self.protocol
        while True:
            report = stage_progress(protocol, progress) if progress is not None else None
            result = engine.run(glass, protocol, self.folder, progress=report)
            window = anneal_averages(result.stages[-1].thermo_table(), self.density_skip_fraction,
                                     timestep_fs=protocol.timestep_fs)
            converged = density_converged(window, self.settings.density_tolerance_g_cm3)
            extensions = len(protocol.stages) - len(melt_quench(self.settings).stages)
            if converged is not False or extensions >= self.settings.max_extensions:
                break
            protocol = melt_quench(replace(self.settings, seed=self.seed), extensions + 1)
        final = write_structure(result.final_atoms(), self.folder / "final.extxyz")
        record = {"replica": self.replica, "seed": self.seed, "n_atoms": len(glass),
                  "formula": glass.get_chemical_formula(), "folder": str(self.folder), "final_structure": str(final),
                  "engine": engine_kind(self.potential), "wall_s": round(time.perf_counter() - start, 3),
                  **window, "density_converged": converged, "anneal_extensions": extensions,
                  "anneal_total_ps": self.settings.anneal_ps * (1 + extensions)}
        write_json(done, record)
        return record

    def start_structure(self):
        """The replica's random-packed glass, built once and kept in its folder (``glass.extxyz``)."""
        from thioglass.build import BuildSettings, build_glass
        from thioglass.io import read_frame, write_structure

        path = self.folder / "glass.extxyz"
        if path.exists():
            return read_frame(path)
        glass = build_glass(self.composition, settings=BuildSettings(n_atoms=self.settings.n_atoms, seed=self.seed))
        write_structure(glass, path)
        return glass

    def read_progress(self) -> tuple[int, int]:
        """(steps done, total steps) of the protocol, read from the replica's files."""
        position = run_position(self.folder, self.protocol)
        return position.steps_done, position.total_steps


def anneal_averages(thermo: dict[str, np.ndarray], skip_fraction: float, *,
                    timestep_fs: float = 1.0) -> dict[str, float | int | None]:
    """Density (g/cm^3), temperature and pressure averaged over a stage after its first ``skip_fraction``,
    and the drift of the density over that window (:func:`density_drift`)."""
    steps = thermo["step"]
    if not len(steps):
        raise ThioglassError("the final stage wrote no thermo output; rerun the quench to redo it")
    window = steps >= skip_fraction * steps[-1]
    density = thermo["density"][window]
    return {"density_g_cm3": float(density.mean()), "density_time_std_g_cm3": float(density.std()),
            "density_samples": int(window.sum()), "temperature_k": float(thermo["temp"][window].mean()),
            "pressure_bar": float(thermo["press"][window].mean()),
            **density_drift(steps[window] * timestep_fs / 1000.0, density)}


def density_converged(window: dict[str, Any], tolerance_g_cm3: float) -> bool | None:
    """Whether the density over the averaging window (:func:`anneal_averages`) has converged: its drift is
    not significant at 95 % and at most ``tolerance_g_cm3``. None when the window is too short to say."""
    if window.get("density_drift_significant") is None:
        return None
    return not window["density_drift_significant"] and abs(window["density_drift_g_cm3"]) <= tolerance_g_cm3


def replica_protocol(folder: Path | str, settings: QuenchSettings) -> Protocol:
    """:func:`melt_quench` with as many anneal stages appended as the run in ``folder`` has recorded."""
    return melt_quench(settings, appended_stages(folder, len(melt_quench(settings).stages), settings.max_extensions))


def final_stage(folder: Path | str, settings: QuenchSettings) -> tuple[Stage, Path]:
    """The last stage of a replica's protocol (its density and structure window) and its folder."""
    stages = replica_protocol(folder, settings).stages
    return stages[-1], stage_folder(folder, len(stages) - 1, stages[-1])


@dataclass(frozen=True)
class QuenchResult:
    """Replica records (see :meth:`QuenchJob.run`), failures, and the density over replicas."""

    composition: str
    potential: str | None
    settings: QuenchSettings
    replicas: tuple[dict[str, Any], ...]
    failed: dict[int, str]
    model_deviation: dict[str, dict] = field(default_factory=dict)

    @property
    def densities_g_cm3(self) -> np.ndarray:
        return np.array([r["density_g_cm3"] for r in self.replicas])

    def density_summary(self) -> dict[str, float]:
        """Mean, sample standard deviation (0 for one replica) and standard error over replicas."""
        values = self.densities_g_cm3
        if not len(values):
            return {"mean": float("nan"), "std": float("nan"), "sem": float("nan"), "n_replicas": 0}
        std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        sem = std / float(np.sqrt(len(values)))
        return {"mean": float(values.mean()), "std": std, "sem": sem, "n_replicas": len(values)}

    def to_json(self) -> dict[str, Any]:
        return {"composition": self.composition, "potential": self.potential or "default",
                "settings": asdict(self.settings), "density_g_cm3": self.density_summary(),
                "density_window": f"last (NPT) stage at final_k after its first {DENSITY_SKIP_FRACTION:.0%}",
                "density_converged": _all_converged(self.replicas),
                "replicas": list(self.replicas), "failed": {str(k): v for k, v in self.failed.items()},
                "model_deviation": self.model_deviation}


@locked_folder("out_dir", what="quench")
def run_quench(composition: str, settings: QuenchSettings, potential: str | None, out_dir: str | Path,
               client: Any = None, *, threads: int = 2, checkpoint_every_steps: int = 1000,
               progress: ReplicaProgress | None = None, ensemble: tuple[str, ...] | None = None) -> QuenchResult:
    """Melt-quench ``settings.replicas`` glasses of ``composition`` and collect their densities.

    Parameters
    ----------
    composition
        e.g. ``"75Li2S-25P2S5"``.
    settings
        Protocol and system size (:func:`~thioglass.md.protocol.preset`).
    potential
        As for :func:`~thioglass.md.engine.make_engine` (None: the shipped model).
    out_dir
        Output folder (layout in the module docstring); rerunning into it resumes.
    client
        A ``dask.distributed.Client``: each replica becomes one task. None runs them here, one
        after the other.
    threads, checkpoint_every_steps
        Passed to the engine of each replica.
    progress
        ``progress(replica, stage, step, stage_steps)``, called about once a second.
    ensemble
        Ensemble members of a user's model (:func:`~thioglass.md.engine.make_engine`); each stage's
        deviation, frames pooled over replicas, is in ``quench.json`` under ``model_deviation``.

    Raises
    ------
    ThioglassError
        Bad composition or potential, a folder holding another job, or replicas that blew up
        (after ``quench.json`` has recorded the others).
    """
    from thioglass.runinfo import RunSummary

    label, potential = check_inputs(composition, potential, settings)
    out_dir = Path(out_dir).resolve()
    # The replica count may grow on a rerun; anything else must match what is on disk.
    job_record = {"composition": label, "potential": potential,
                  "settings": {k: v for k, v in asdict(settings).items() if k != "replicas"}}
    check_job_file(out_dir, job_record, "quench")
    jobs = [QuenchJob(label, settings, potential, str(out_dir), r, threads=threads,
                      checkpoint_every_steps=checkpoint_every_steps, ensemble=ensemble)
            for r in range(settings.replicas)]
    summary = RunSummary(command="quench", inputs={"composition": label, "potential": potential,
                                                   "settings": asdict(settings), "threads": threads})
    with summary.stage("replicas"):
        outcome = run_jobs(jobs, client, progress=_replica_progress(jobs, progress) if progress else None)
    outcome.raise_unexpected()
    records = list(outcome.results.values())
    failed = {int(name.removeprefix("replica_")): message for name, message in outcome.messages().items()}
    from thioglass.md.results import deviation_by_stage

    result = QuenchResult(label, potential, settings, tuple(records), failed, deviation_by_stage(out_dir, "quench"))
    write_json(out_dir / "quench.json", result.to_json())
    for record in records:
        summary.timings_s[f"replica_{record['replica']}"] = record["wall_s"]
        summary.add_output(f"replica_{record['replica']}", record["final_structure"])
    summary.add_output("quench", out_dir / "quench.json")
    summary.write(out_dir / "summary.json")
    if failed:
        first = min(failed)
        raise ThioglassError(f"{len(failed)} of {len(jobs)} replicas failed; replica {first}: {failed[first]}")
    return result


def _all_converged(replicas: tuple[dict[str, Any], ...]) -> bool | None:
    """True when every replica's density converged, False when one did not, None when one cannot say."""
    flags = [r.get("density_converged") for r in replicas]
    return False if False in flags else (None if None in flags or not flags else True)


def check_inputs(composition: str, potential: str | None, settings: QuenchSettings) -> tuple[str, str | None]:
    """Canonical composition label and potential (model paths made absolute for the workers);
    raises :class:`ThioglassError` here rather than later on a worker."""
    from thioglass.composition import parse_composition
    from thioglass.md.engine import engine_kind, make_engine

    if settings.replicas < 1 or settings.n_atoms < 2:
        raise ThioglassError(f"need at least one replica of at least two atoms, got {settings.replicas} replicas "
                             f"of {settings.n_atoms} atoms")
    label = parse_composition(composition).label
    if engine_kind(potential) == "lammps" and potential is not None:
        potential = str(Path(potential).resolve())
    make_engine(potential)
    return label, potential


def _replica_progress(jobs: list[QuenchJob], progress: ReplicaProgress):
    # The job layer counts steps over the protocol; the quench reports (replica, stage, step, stage steps).
    protocols = {job.name: (job.replica, job.protocol) for job in jobs}

    def report(name: str, done: int, _total: int | None) -> None:
        replica, protocol = protocols[name]
        position = position_at(protocol, done)
        progress(replica, position.stage, position.stage_step, position.stage_steps)

    return report
