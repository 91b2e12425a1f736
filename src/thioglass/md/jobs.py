"""Run folders and jobs: the one module that knows how a run folder is laid out and how
independent jobs run, here or on Dask workers.

Run folder of one protocol (both engines write it)::

    protocol.json      the protocol; a rerun with another one is refused, one with stages appended
                       extends it (check_protocol_file)
    NN_<stage>/        one folder per stage, NN its index from 00 (stage_folder)
        thermo.dat     THERMO_COLUMNS in LAMMPS metal units
        traj.*         frames (traj.dump from LAMMPS, traj.extxyz from ASE)
        final.*        the last frame, start of the next stage
        done.json      written last: a stage with it is finished and never rerun

Job folders (``thioglass run``, ``thioglass quench``) record their inputs in ``job.json``; a rerun
must match them (:func:`check_job_file`). Folder locks are not here: they live in
:mod:`thioglass.locking`, taken where a command starts and on a LAMMPS stage folder while it runs;
external programs (LAMMPS, ``dp``) start in :mod:`thioglass.md.process`, the one place a process is
launched.

Progress is read from the run files (:func:`run_position`), so a job on a Dask worker needs no
callback across processes. :func:`run_jobs` runs a list of jobs with one failure policy: a job
that raises is recorded in :attr:`JobOutcome.failures` and the others go on; the caller decides
what a failure means (:meth:`JobOutcome.raise_first`, or record it and carry on).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol as TypingProtocol

from thioglass.errors import ThioglassError
from thioglass.io.atomic import write_json, write_text
from thioglass.md.protocol import Protocol, Stage

#: Columns of every ``thermo.dat`` (LAMMPS metal units: K, eV, bar, Å^3, g/cm^3, Å).
THERMO_COLUMNS = ("step", "temp", "pe", "ke", "etotal", "press", "vol", "density",
                  "lx", "ly", "lz", "pxx", "pyy", "pzz", "pxy", "pxz", "pyz")
#: The file whose presence marks a stage finished.
DONE_FILE = "done.json"

#: ``progress(steps_done, total_steps)`` of one job.
StepProgress = Callable[[int, int], None]
#: ``progress(job_name, steps_done, total_steps)``; total is None for jobs that count no steps.
JobProgress = Callable[[str, int, "int | None"], None]


# -- the run folder of one protocol -------------------------------------------------------------

def stage_folder(workdir: Path | str, index: int, stage: Stage) -> Path:
    """Folder of stage ``index`` of a protocol run in ``workdir``."""
    return Path(workdir) / f"{index:02d}_{stage.name}"


def stage_folders(workdir: Path | str, protocol: Protocol) -> list[tuple[Stage, Path]]:
    """Every stage of ``protocol`` with its folder, in order."""
    return [(stage, stage_folder(workdir, k, stage)) for k, stage in enumerate(protocol.stages)]


def stage_done(folder: Path) -> bool:
    return (folder / DONE_FILE).exists()


def mark_stage_done(folder: Path, stage: Stage, steps: int, **extra: Any) -> None:
    """Write ``done.json`` (atomically: a half-written file must not mark a stage finished)."""
    write_json(folder / DONE_FILE, {"stage": asdict(stage), "steps": steps, **extra})


def last_step(path: Path) -> int:
    """First column of the last complete line of a thermo file (0 if none yet)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, path.stat().st_size - 4096))
            data = handle.read()
        lines = data.splitlines()
        if not data.endswith(b"\n"):
            lines = lines[:-1]  # still being written
        for line in reversed(lines):
            parts = line.split()
            if parts and not parts[0].startswith(b"#"):
                return int(float(parts[0]))
    except (OSError, ValueError):
        pass
    return 0


@dataclass(frozen=True)
class RunPosition:
    """How far a protocol run has come: the current stage and the steps done in all."""

    stage: str
    stage_step: int
    stage_steps: int
    steps_done: int
    total_steps: int


def position_at(protocol: Protocol, steps_done: int) -> RunPosition:
    """The stage and stage step of ``steps_done`` steps into ``protocol``."""
    offset = 0
    total = sum(s.steps(protocol.timestep_fs) for s in protocol.stages)
    for stage in protocol.stages:
        steps = stage.steps(protocol.timestep_fs)
        if steps_done < offset + steps or stage is protocol.stages[-1]:
            return RunPosition(stage.name, min(steps, steps_done - offset), steps, steps_done, total)
        offset += steps
    raise ThioglassError("a protocol needs at least one stage")


def run_position(workdir: Path | str, protocol: Protocol) -> RunPosition:
    """Progress of a protocol run read from its folder (finished stages count in full)."""
    done = 0
    for stage, folder in stage_folders(workdir, protocol):
        steps = stage.steps(protocol.timestep_fs)
        if not stage_done(folder):
            done += min(steps, last_step(folder / "thermo.dat"))
            break
        done += steps
    return position_at(protocol, done)


def stage_progress(protocol: Protocol, progress: StepProgress) -> Callable[[str, int, int], None]:
    """An engine callback ``(stage, step, stage_steps)`` that reports steps over the whole protocol."""
    offsets, total = {}, 0
    for stage in protocol.stages:
        offsets[stage.name] = total
        total += stage.steps(protocol.timestep_fs)
    return lambda stage, step, _stage_steps: progress(offsets[stage] + step, total)


# -- input records: a rerun must match ------------------------------------------------------------

def check_record(path: Path, record: dict, mismatch: str) -> None:
    """Raise ``mismatch`` when ``path`` holds another record; write ``record`` there otherwise."""
    current = json.loads(json.dumps(record, default=str))
    if path.exists() and json.loads(path.read_text()) != current:
        raise ThioglassError(mismatch)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        write_text(path, json.dumps(current, sort_keys=True))


def check_protocol_file(workdir: Path, protocol: Protocol) -> None:
    """``protocol.json`` of a run folder: a rerun must use the same protocol, or the same one with stages
    appended (an anneal run on until the density converges); the record then becomes the longer one."""
    path = Path(workdir) / "protocol.json"
    current = json.loads(json.dumps(asdict(protocol), default=str))
    if path.exists():
        recorded = json.loads(path.read_text())
        if _extends(current, recorded):
            write_text(path, json.dumps(current, sort_keys=True))
            return
    check_record(path, current, f"{workdir} holds a run with a different protocol; use a new --out folder or delete it")


def _extends(current: dict, recorded: dict) -> bool:
    """True when ``current`` is ``recorded`` with more stages at its end."""
    head, tail = current.get("stages", []), recorded.get("stages", [])
    return (len(head) > len(tail) and head[:len(tail)] == tail
            and {k: v for k, v in current.items() if k != "stages"} == {k: v for k, v in recorded.items() if k != "stages"})


def appended_stages(workdir: Path | str, base_stages: int, limit: int) -> int:
    """How many stages a run in ``workdir`` appended to its first ``base_stages`` (read from its recorded
    protocol; 0 when none was recorded), at most ``limit``: where a rerun that runs on until converged
    picks up."""
    path = Path(workdir) / "protocol.json"
    recorded = len(json.loads(path.read_text()).get("stages", [])) if path.is_file() else 0
    return min(max(0, recorded - base_stages), limit)


def check_job_file(folder: Path, record: dict, kind: str) -> None:
    """``job.json`` of a job folder (``kind``: run, quench): a rerun must have the same inputs."""
    check_record(Path(folder) / "job.json", record,
                 f"{folder} holds a {kind} with another composition, potential or settings; use a new --out "
                 "folder or delete it")


# -- jobs -----------------------------------------------------------------------------------------

class Job(TypingProtocol):
    """What :func:`run_jobs` runs: a name, ``run(progress)`` and, optionally, ``read_progress()``
    (``(steps_done, total_steps)`` read from the job's files while it runs elsewhere)."""

    name: str

    def run(self, progress: StepProgress | None = None) -> Any: ...


@dataclass(frozen=True)
class MDJob:
    """One protocol run from one structure in its own folder, by ``engine``."""

    name: str
    atoms: Any
    protocol: Protocol
    workdir: str
    engine: Any = None

    @property
    def total_steps(self) -> int:
        return sum(s.steps(self.protocol.timestep_fs) for s in self.protocol.stages)

    def steps_done(self) -> int:
        return run_position(self.workdir, self.protocol).steps_done

    def read_progress(self) -> tuple[int, int]:
        return self.steps_done(), self.total_steps

    def run(self, progress: StepProgress | None = None) -> Any:
        """The engine's :class:`~thioglass.md.results.MDResult`; resumes what was left unfinished."""
        if self.engine is None:
            raise ThioglassError(f"MD job {self.name} has no engine")
        if progress is None:
            return self.engine.run(self.atoms, self.protocol, self.workdir)
        progress(*self.read_progress())  # a resumed job starts where its files say
        result = self.engine.run(self.atoms, self.protocol, self.workdir,
                                 progress=stage_progress(self.protocol, progress))
        progress(self.total_steps, self.total_steps)
        return result


@dataclass(frozen=True)
class CallJob:
    """A function call as a job (training, labelling, relaxations): no progress of its own."""

    name: str
    function: Callable[..., Any]
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)

    def run(self, progress: StepProgress | None = None) -> Any:
        return self.function(*self.args, **self.kwargs)


@dataclass(frozen=True)
class JobOutcome:
    """Results of the jobs that finished and the errors of those that failed, both by job name."""

    results: dict[str, Any]
    failures: dict[str, BaseException]

    def raise_first(self) -> None:
        """Re-raise the first failure (in job order) as it happened in the job."""
        for error in self.failures.values():
            raise error

    def raise_unexpected(self, expected: tuple[type[BaseException], ...] = (ThioglassError,)) -> None:
        """Re-raise the first failure that is not one of ``expected`` (a bug, not a blow-up)."""
        for error in self.failures.values():
            if not isinstance(error, expected):
                raise error

    def messages(self) -> dict[str, str]:
        return {name: str(error) for name, error in self.failures.items()}


def run_jobs(jobs: Iterable[Any], client: Any = None, *, progress: JobProgress | None = None,
             on_done: Callable[[str, Any], None] | None = None, poll_s: float = 1.0) -> JobOutcome:
    """Run every job, here one after another or in parallel on a Dask ``client``.

    Failure policy: a job that raises an ``Exception`` is recorded in the outcome's ``failures``
    and the other jobs go on; nothing is raised here (the caller decides). An interrupt
    (``KeyboardInterrupt``) cancels the jobs on Dask and propagates.

    Parameters
    ----------
    jobs
        Objects with unique ``name`` and ``run(progress)`` (:class:`Job`); picklable for Dask.
    client
        A ``dask.distributed.Client``, or None to run in this process.
    progress
        ``progress(name, steps_done, total_steps)``: here from the job's own callback; on Dask
        from its ``read_progress()`` about every ``poll_s`` seconds and once when it finishes.
    on_done
        ``on_done(name, result)`` as each job succeeds (e.g. to store its output at once).
    """
    jobs = list(jobs)
    names = [job.name for job in jobs]
    if len(set(names)) != len(names):
        raise ThioglassError(f"job names must be unique, got {names}")
    finished = _run_here(jobs, progress) if client is None else _run_on(client, jobs, progress, poll_s)
    results: dict[str, Any] = {}
    failures: dict[str, BaseException] = {}
    for name, result, error in finished:
        if error is None:
            results[name] = result
            if on_done is not None:
                on_done(name, result)
        else:
            failures[name] = error
    order = {name: k for k, name in enumerate(names)}
    return JobOutcome(dict(sorted(results.items(), key=lambda kv: order[kv[0]])),
                      dict(sorted(failures.items(), key=lambda kv: order[kv[0]])))


Finished = Iterator[tuple[str, Any, "BaseException | None"]]


def _report_end(job: Any, progress: JobProgress | None) -> None:
    if progress is None:
        return
    position = _read_progress(job)
    total = position[1] if position else None
    progress(job.name, total if total is not None else 1, total)


def _read_progress(job: Any) -> tuple[int, int] | None:
    reader = getattr(job, "read_progress", None)
    return reader() if reader is not None else None


def _run_here(jobs: list[Any], progress: JobProgress | None) -> Finished:
    # Here a job reports through its own callback only (a finished replica reports nothing).
    for job in jobs:
        report = None
        if progress is not None:
            report = lambda done, total, name=job.name: progress(name, done, total)  # noqa: E731
        try:
            result = job.run(report)
        except Exception as err:  # noqa: BLE001 - recorded; the caller decides (module docstring)
            yield job.name, None, err
            continue
        yield job.name, result, None


def _run_on(client: Any, jobs: list[Any], progress: JobProgress | None, poll_s: float) -> Finished:
    from distributed import wait

    # Workers report nothing back while they run: progress is read from the jobs' files.
    # Only as many jobs are handed out as the cluster has threads, the rest as those end: Dask places every
    # submitted task at once, and a long job queued behind another on one worker stays there while a
    # second worker idles (it does not move tasks it has no timing for: a learning iteration's last two
    # members ran one after the other on one worker).
    queue, futures, pending = list(jobs), {}, set()
    try:
        while queue or pending:
            while queue and len(pending) < _capacity(client):
                job = queue.pop(0)
                future = client.submit(job.run, pure=False, key=f"{job.name}-{id(job)}-{time.time_ns()}")
                futures[future] = job
                pending.add(future)
            try:
                done = wait(list(pending), timeout=poll_s, return_when="FIRST_COMPLETED").done
            except TimeoutError:
                done = set()
            for future in done:
                pending.discard(future)
                yield _collect(future, futures[future], progress)
            if progress is not None:
                for future in pending:
                    position = _read_progress(futures[future])
                    if position is not None:
                        progress(futures[future].name, *position)
    except BaseException:
        client.cancel(list(pending))
        raise


def _capacity(client: Any) -> int:
    """Threads of the cluster's workers now (at least 1, so a batch queue still starting gets one job)."""
    workers = client.scheduler_info().get("workers", {})
    return max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))


def _collect(future: Any, job: Any, progress: JobProgress | None) -> tuple[str, Any, BaseException | None]:
    try:
        result = future.result()
    except Exception as err:  # noqa: BLE001 - the job's own exception, recorded
        return job.name, None, err
    _report_end(job, progress)
    return job.name, result, None
