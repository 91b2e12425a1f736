"""Dask cluster selection: local by default, job scripts for batch queues, clear errors."""

import pytest

from thioglass.cluster import ClusterSettings, _jobqueue_cluster, get_client
from thioglass.errors import ThioglassError


def _square(x: int) -> int:
    return x * x


def test_local_cluster_runs_tasks_in_other_processes():
    with get_client(ClusterSettings(workers=1, threads_per_worker=1)) as client:
        assert client.gather(client.map(_square, range(5))) == [0, 1, 4, 9, 16]


def test_slurm_job_script_carries_the_options():
    cluster = _jobqueue_cluster("slurm", ClusterSettings(threads_per_worker=4, queue_options={"walltime": "02:00:00", "queue": "gpu"}))
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert "#SBATCH -t 02:00:00" in script and "#SBATCH -p gpu" in script
    assert "--cpus-per-task=4" in script and "--nthreads 4" in script and "--nworkers" not in script


def test_bad_scheduler_names():
    with pytest.raises(ThioglassError, match="unknown scheduler"):
        with get_client(ClusterSettings(scheduler="moon")):
            pass
    with pytest.raises(ThioglassError, match="cannot reach"):
        with get_client(ClusterSettings(scheduler="tcp://127.0.0.1:9")):
            pass


class _Timed:
    """A job that sleeps and says when and where it ran, and how many tasks the workers held as it began."""

    def __init__(self, name: str, seconds: float) -> None:
        self.name, self.seconds = name, seconds

    def run(self, progress=None):
        import os
        import time

        from distributed import get_client

        held = sum(len(keys) for keys in get_client().processing().values())
        start = time.time()
        time.sleep(self.seconds)
        return {"pid": os.getpid(), "start": start, "end": time.time(), "held": held}


def test_no_worker_holds_a_queue_while_another_could_idle():
    """Jobs are handed to the workers only as threads free up: Dask places every submitted task at once, and
    a learning iteration's last two members once queued on one worker while the other idled for an hour."""
    from thioglass.md.jobs import run_jobs

    jobs = [_Timed("long", 4.0), _Timed("short", 0.5), _Timed("next", 1.0), _Timed("last", 0.5)]
    with get_client(ClusterSettings(workers=2, threads_per_worker=1)) as client:
        outcome = run_jobs(jobs, client)
    got = outcome.results
    assert not outcome.failures
    assert max(r["held"] for r in got.values()) <= 2  # never more tasks out than the two threads
    assert got["next"]["start"] < got["long"]["end"] - 2.0 and got["next"]["pid"] != got["long"]["pid"]
