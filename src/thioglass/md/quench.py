"""Melt-quench replicas of a glass composition, in parallel through Dask, and their 300 K density.

Layout of ``out_dir``::

    job.json                  composition, potential and settings (a rerun must match them)
    replica_<r>/glass.extxyz  random-packed start (seed = settings.seed + r)
    replica_<r>/NN_stage/     the engine's stage folders (see thioglass.md.lammps / ase_engine)
    replica_<r>/final.extxyz  the quenched glass
    replica_<r>/replica.json  per-replica results; its presence marks the replica finished
    quench.json               all replicas, density mean and spread
    summary.json              RunSummary (inputs, versions, timings, outputs)

Each replica is one Dask task. A rerun skips finished replicas without touching their files and
resumes unfinished ones from their checkpoints. The density of a replica is the mean of the
``density`` column of the last (NPT, ``final_k``) stage's ``thermo.dat`` after its first
:data:`DENSITY_SKIP_FRACTION` (equilibration); the spread over replicas is their sample standard
deviation.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from thioglass.errors import ThioglassError
from thioglass.io.atomic import write_json
from thioglass.md.protocol import Protocol, QuenchSettings, melt_quench

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
    threads: int = 2
    checkpoint_every_steps: int = 1000
    density_skip_fraction: float = DENSITY_SKIP_FRACTION

    @property
    def folder(self) -> Path:
        return Path(self.out_dir) / f"replica_{self.replica}"

    @property
    def seed(self) -> int:
        return self.settings.seed + self.replica

    @property
    def protocol(self) -> Protocol:
        return melt_quench(replace(self.settings, seed=self.seed))

    def run(self, progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
        """Build (or reload) the glass, run the protocol, return and store the replica's results."""
        done = self.folder / "replica.json"
        if done.exists():
            return json.loads(done.read_text())
        from thioglass.io import write_structure
        from thioglass.md.engine import engine_kind, make_engine

        start = time.perf_counter()
        glass = self.start_structure()
        engine = make_engine(self.potential, self.threads, self.checkpoint_every_steps)
        result = engine.run(glass, self.protocol, self.folder, progress=progress)
        final = write_structure(result.final_atoms(), self.folder / "final.extxyz")
        record = {"replica": self.replica, "seed": self.seed, "n_atoms": len(glass),
                  "formula": glass.get_chemical_formula(), "folder": str(self.folder), "final_structure": str(final),
                  "engine": engine_kind(self.potential), "wall_s": round(time.perf_counter() - start, 3),
                  **anneal_averages(result.stages[-1].thermo_table(), self.density_skip_fraction)}
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

    def position(self) -> tuple[str, int, int]:
        """(stage, step, stage steps) reached so far, read from the replica's files."""
        from thioglass.md.lammps import last_step

        stages = self.protocol.stages
        for k, stage in enumerate(stages):
            folder = self.folder / f"{k:02d}_{stage.name}"
            total = stage.steps(self.settings.timestep_fs)
            if not (folder / "done.json").exists():
                return stage.name, last_step(folder / "thermo.dat") if folder.exists() else 0, total
        return stages[-1].name, stages[-1].steps(self.settings.timestep_fs), stages[-1].steps(self.settings.timestep_fs)


def anneal_averages(thermo: dict[str, np.ndarray], skip_fraction: float) -> dict[str, float]:
    """Density (g/cm^3), temperature and pressure averaged over a stage after its first ``skip_fraction``."""
    steps = thermo["step"]
    if not len(steps):
        raise ThioglassError("the final stage wrote no thermo output; rerun the quench to redo it")
    window = steps >= skip_fraction * steps[-1]
    density = thermo["density"][window]
    return {"density_g_cm3": float(density.mean()), "density_time_std_g_cm3": float(density.std()),
            "density_samples": int(window.sum()), "temperature_k": float(thermo["temp"][window].mean()),
            "pressure_bar": float(thermo["press"][window].mean())}


@dataclass(frozen=True)
class QuenchResult:
    """Replica records (see :meth:`QuenchJob.run`), failures, and the density over replicas."""

    composition: str
    potential: str | None
    settings: QuenchSettings
    replicas: tuple[dict[str, Any], ...]
    failed: dict[int, str]

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
                "replicas": list(self.replicas), "failed": {str(k): v for k, v in self.failed.items()}}


def run_quench(composition: str, settings: QuenchSettings, potential: str | None, out_dir: str | Path,
               client: Any = None, *, threads: int = 2, checkpoint_every_steps: int = 1000,
               progress: ReplicaProgress | None = None) -> QuenchResult:
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

    Raises
    ------
    ThioglassError
        Bad composition or potential, a folder holding another job, or replicas that blew up
        (after ``quench.json`` has recorded the others).
    """
    from thioglass.runinfo import RunSummary

    label, potential = check_inputs(composition, potential, settings)
    out_dir = Path(out_dir).resolve()
    _check_job_file(out_dir, label, settings, potential)
    jobs = [QuenchJob(label, settings, potential, str(out_dir), r, threads, checkpoint_every_steps)
            for r in range(settings.replicas)]
    summary = RunSummary(command="quench", inputs={"composition": label, "potential": potential,
                                                   "settings": asdict(settings), "threads": threads})
    with summary.stage("replicas"):
        records, failed = (_run_here(jobs, progress) if client is None else _run_on(client, jobs, progress))
    result = QuenchResult(label, potential, settings, tuple(records), failed)
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


def _check_job_file(out_dir: Path, label: str, settings: QuenchSettings, potential: str | None) -> None:
    # The replica count may grow on a rerun; anything else must match what is on disk.
    record = {"composition": label, "potential": potential,
              "settings": {k: v for k, v in asdict(settings).items() if k != "replicas"}}
    path = out_dir / "job.json"
    if path.exists() and json.loads(path.read_text()) != json.loads(json.dumps(record)):
        raise ThioglassError(f"{out_dir} holds a quench with another composition, potential or settings; "
                             "use a new --out folder or delete it")
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(path, record)


def _run_here(jobs: list[QuenchJob], progress: ReplicaProgress | None) -> tuple[list[dict], dict[int, str]]:
    records, failed = [], {}
    for job in jobs:
        report = (lambda stage, step, total, r=job.replica: progress(r, stage, step, total)) if progress else None
        try:
            records.append(job.run(report))
        except ThioglassError as err:
            failed[job.replica] = str(err)
    return records, failed


def _run_on(client: Any, jobs: list[QuenchJob], progress: ReplicaProgress | None) -> tuple[list[dict], dict[int, str]]:
    # Workers report nothing back while they run: progress is read from the replicas' files.
    futures = {job.replica: client.submit(job.run, pure=False) for job in jobs}
    while not all(future.done() for future in futures.values()):
        if progress is not None:
            for job in jobs:
                progress(job.replica, *job.position())
        time.sleep(1.0)
    records, failed = [], {}
    for job in jobs:
        try:
            records.append(futures[job.replica].result())
        except ThioglassError as err:
            failed[job.replica] = str(err)
        if progress is not None:
            progress(job.replica, *job.position())
    return records, failed
