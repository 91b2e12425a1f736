"""Where parallel work runs: a Dask client for a local cluster, a scheduler address, or a batch queue.

Every stage that fans out (labelling, ensembles, replicas, temperatures) takes a
``dask.distributed.Client`` from :func:`dask_client` (or :func:`get_client`) and hands its jobs to
:func:`thioglass.md.jobs.run_jobs`; nothing in thioglass schedules work by hand.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

from thioglass.errors import ThioglassError

QUEUES = ("slurm", "pbs", "sge", "lsf")


@dataclass(frozen=True)
class ClusterSettings:
    """``scheduler``: None for a local cluster, ``tcp://host:port`` for a running scheduler, or one of
    ``slurm``/``pbs``/``sge``/``lsf`` for dask-jobqueue with ``queue_options`` (cores, memory, walltime,
    ...) and ``jobs`` batch jobs. ``workers`` and ``threads_per_worker`` size the local cluster."""

    scheduler: str | None = None
    workers: int = 1
    threads_per_worker: int = 2
    jobs: int = 1
    queue_options: dict[str, Any] = field(default_factory=dict)


@contextmanager
def get_client(settings: ClusterSettings = ClusterSettings()) -> Iterator[Any]:
    """A connected ``dask.distributed.Client``, closed (with any cluster it started) on exit."""
    from distributed import Client, LocalCluster

    scheduler = settings.scheduler
    if scheduler is None:
        cluster = LocalCluster(n_workers=settings.workers, threads_per_worker=settings.threads_per_worker,
                               processes=True, dashboard_address=":0")
    elif scheduler in QUEUES:
        cluster = _jobqueue_cluster(scheduler, settings)
        cluster.scale(jobs=settings.jobs)
    elif "://" in scheduler:
        cluster = None
    else:
        raise ThioglassError(f"unknown scheduler '{scheduler}'; use tcp://host:port or one of {', '.join(QUEUES)}")
    try:
        client = Client(cluster if cluster is not None else scheduler, timeout="30s")
    except OSError as err:
        raise ThioglassError(f"cannot reach the Dask scheduler {scheduler} ({err}); is it running?") from None
    try:
        yield client
    except BaseException:
        # Ctrl-C or an error: a graceful close would wait for the running MD tasks to end (minutes).
        # Killing the local workers stops their MD too (md/process.py), and the close is then quick.
        if isinstance(cluster, LocalCluster):
            kill_local_workers(cluster)
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def kill_local_workers(cluster: Any) -> None:
    """SIGKILL the worker processes of a LocalCluster (their MD programs die with them)."""
    import os
    import signal

    for nanny in list(getattr(cluster, "workers", {}).values()):
        pid = getattr(getattr(getattr(nanny, "process", None), "process", None), "pid", None)
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _jobqueue_cluster(kind: str, settings: ClusterSettings) -> Any:
    import dask_jobqueue

    classes = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "sge": "SGECluster", "lsf": "LSFCluster"}
    # One worker process per job: MD and training use the job's cores through their own threads.
    options = {"cores": settings.threads_per_worker, "processes": 1, "memory": "8GB", **settings.queue_options}
    try:
        cluster = getattr(dask_jobqueue, classes[kind])(**options)
    except (TypeError, ValueError) as err:
        raise ThioglassError(f"bad {kind} options {sorted(options)}: {err}") from None
    return cluster


@contextmanager
def dask_client(workers: int, scheduler: str | None, threads_per_worker: int = 1) -> Iterator[Any]:
    """A Dask client for ``--workers``/``--scheduler``, or None to run in this process.

    With one worker and no scheduler no cluster is started: the work runs here with direct
    progress reporting. Each worker gets ``threads_per_worker`` task slots (one by default,
    since an MD job uses ``--threads`` cores itself).
    """
    if workers <= 1 and scheduler is None:
        yield None
        return
    settings = ClusterSettings(scheduler=scheduler, workers=workers, threads_per_worker=threads_per_worker)
    with get_client(settings) as client:
        yield client
