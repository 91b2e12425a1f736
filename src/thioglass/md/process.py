"""The one place thioglass starts external programs (LAMMPS, ``dp``): they die with whoever started them.

Every program runs under a small watchdog (:mod:`thioglass.md._watchdog`) in a new session, so that

* Ctrl-C at the terminal reaches only thioglass, which stops the program and says how to resume;
* when the starting process dies by any means (SIGKILL, SIGINT to it alone, a Dask worker that is
  lost), the write end of a pipe only it holds is closed by the kernel, the watchdog sees EOF and
  stops the program within milliseconds: no orphan keeps appending to a trajectory;
* the folder locks this process holds (:mod:`thioglass.locking`) are inherited by the watchdog and
  the program, so a folder is free again only once nothing writes into it any more.

No ``preexec_fn`` here: Dask workers are threaded, and ``PR_SET_PDEATHSIG`` set from a worker
thread would fire when that *thread* exits, not the process. ``start_new_session`` is done by
CPython's C fork code and is safe in threads.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Callable, Mapping, Sequence

from thioglass.locking import held_lock_fds

WATCHDOG = Path(__file__).with_name("_watchdog.py")
STOP_GRACE_S = 5.0  # the watchdog itself gives the program 3 s before SIGKILL


class ManagedProcess:
    """An external program under the watchdog; use as a context manager so it never outlives the block."""

    def __init__(self, command: Sequence[str], *, cwd: Path | str, env: Mapping[str, str] | None = None,
                 log_path: Path | str | None = None) -> None:
        read_fd, self._alive_fd = os.pipe()  # both ends close-on-exec; read_fd is passed explicitly
        holds = held_lock_fds(within=cwd)
        argv = [sys.executable, "-I", "-S", str(WATCHDOG), str(read_fd),
                ",".join(map(str, holds)) or "-", "--", *command]
        log = open(log_path, "ab") if log_path is not None else None
        try:
            self._process = subprocess.Popen(
                argv, cwd=cwd, env=dict(env) if env is not None else None, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT if log is not None else None,
                pass_fds=(read_fd, *holds), start_new_session=True)
        except BaseException:
            os.close(self._alive_fd)
            raise
        finally:
            os.close(read_fd)
            if log is not None:
                log.close()

    @property
    def pid(self) -> int:
        """PID of the watchdog, which leads the program's process group."""
        return self._process.pid

    def poll(self) -> int | None:
        return self._process.poll()

    def wait(self, timeout_s: float | None = None) -> int:
        """Exit status (128 + N when killed by signal N); raises ``subprocess.TimeoutExpired``."""
        return self._process.wait(timeout_s)

    def stop(self) -> None:
        """Stop the program and its watchdog (SIGTERM to the group, SIGKILL if still there)."""
        if self._process.poll() is None:
            _signal_group(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                _signal_group(self._process.pid, signal.SIGKILL)
                self._process.wait()
        self._close()

    def _close(self) -> None:
        if self._alive_fd >= 0:
            os.close(self._alive_fd)
            self._alive_fd = -1

    def __enter__(self) -> "ManagedProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def run_process(command: Sequence[str], *, cwd: Path | str, env: Mapping[str, str] | None = None,
                log_path: Path | str | None = None, on_tick: Callable[[], None] | None = None,
                tick_s: float = 1.0) -> int:
    """Run ``command`` to the end under the watchdog; its exit status (128 + N when killed by signal N).

    ``on_tick()`` is called every ``tick_s`` seconds while it runs. Whatever ends this call early
    (Ctrl-C, an exception in ``on_tick``) stops the program first.
    """
    with ManagedProcess(command, cwd=cwd, env=env, log_path=log_path) as process:
        while True:
            try:
                return process.wait(tick_s)
            except subprocess.TimeoutExpired:
                if on_tick is not None:
                    on_tick()
