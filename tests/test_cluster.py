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
