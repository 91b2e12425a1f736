"""Run independent MD jobs here or on Dask workers, with progress read from their run folders.

An engine (:class:`~thioglass.md.lammps.LammpsEngine` or the ASE engine) runs one protocol in one
folder and skips the stages that already finished there, so a job list rerun after a kill only
does the missing work. Progress of jobs on Dask workers is read from the folders the engines
write (``NN_<stage>/thermo.dat`` and ``done.json``), so no callback has to cross processes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from ase import Atoms

from thioglass.errors import ThioglassError
from thioglass.md.protocol import Protocol
from thioglass.md.lammps import last_step
from thioglass.md.results import MDResult

#: ``progress(job_name, steps_done, total_steps)``.
JobProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class MDJob:
    """One protocol to run from one structure in its own folder."""

    name: str
    atoms: Atoms
    protocol: Protocol
    workdir: str

    @property
    def total_steps(self) -> int:
        return sum(s.steps(self.protocol.timestep_fs) for s in self.protocol.stages)

    def stage_offsets(self) -> dict[str, int]:
        """Steps done before each stage starts."""
        offsets, done = {}, 0
        for stage in self.protocol.stages:
            offsets[stage.name] = done
            done += stage.steps(self.protocol.timestep_fs)
        return offsets

    def steps_done(self) -> int:
        """Steps finished so far, read from the stage folders (finished stages count in full)."""
        done = 0
        for k, stage in enumerate(self.protocol.stages):
            folder = Path(self.workdir) / f"{k:02d}_{stage.name}"
            steps = stage.steps(self.protocol.timestep_fs)
            if (folder / "done.json").exists():
                done += steps
                continue
            done += min(steps, last_step(folder / "thermo.dat"))
            break
        return done


def run_jobs(engine: Any, jobs: Iterable[MDJob], client: Any = None, progress: JobProgress | None = None,
             poll_s: float = 1.0) -> dict[str, MDResult]:
    """Run every job with ``engine``; here one after another, or in parallel on a Dask ``client``.

    Parameters
    ----------
    engine:
        Object with ``run(atoms, protocol, workdir, progress=...) -> MDResult`` (picklable for Dask).
    jobs:
        Jobs with unique names.
    client:
        A ``dask.distributed.Client`` or None to run in this process.
    progress:
        Called with (job name, steps done, total steps) about every ``poll_s`` seconds.

    Returns
    -------
    dict
        MDResult of each job, by name. The first failure is raised as it happened in the job
        (a :class:`ThioglassError` for a run that blew up); the other jobs keep their folders.
    """
    jobs = list(jobs)
    names = [j.name for j in jobs]
    if len(set(names)) != len(names):
        raise ThioglassError(f"job names must be unique, got {names}")
    if client is None:
        return {job.name: _run_here(engine, job, progress) for job in jobs}
    return dict(_run_on_dask(engine, jobs, client, progress, poll_s))


def _run_here(engine: Any, job: MDJob, progress: JobProgress | None) -> MDResult:
    report: Callable[[str, int, int], None] | None = None
    if progress is not None:
        offsets, total = job.stage_offsets(), job.total_steps
        progress(job.name, job.steps_done(), total)
        report = lambda stage, step, _stage_total: progress(job.name, offsets[stage] + step, total)  # noqa: E731

    result = engine.run(job.atoms, job.protocol, job.workdir, progress=report)
    if progress is not None:
        progress(job.name, job.total_steps, job.total_steps)
    return result


def _run_on_dask(engine: Any, jobs: list[MDJob], client: Any, progress: JobProgress | None,
                 poll_s: float) -> Iterator[tuple[str, MDResult]]:
    futures = {
        job.name: client.submit(engine.run, job.atoms, job.protocol, job.workdir, pure=False, key=f"md-{job.name}-{id(job)}")
        for job in jobs
    }
    try:
        while not all(f.done() for f in futures.values()):
            failed = [f for f in futures.values() if f.status == "error"]
            if failed:
                failed[0].result()  # raises the job's own exception
            if progress is not None:
                for job in jobs:
                    progress(job.name, job.steps_done(), job.total_steps)
            time.sleep(poll_s)
        results = {name: f.result() for name, f in futures.items()}
    except BaseException:
        client.cancel(list(futures.values()))
        raise
    for job in jobs:
        if progress is not None:
            progress(job.name, job.total_steps, job.total_steps)
        yield job.name, results[job.name]
