"""Watchdog between thioglass and one external program (LAMMPS, dp): the program dies with thioglass.

Run by :mod:`thioglass.md.process` as ``python -I -S _watchdog.py PIPE_FD HOLD_FDS -- program args...``
in a new session. ``PIPE_FD`` is the read end of a pipe whose write end only the thioglass process
holds: when that process dies by any means (SIGKILL, Ctrl-C, a lost Dask worker), the kernel closes
the write end, the pipe reports EOF here, and the program is stopped. ``HOLD_FDS`` (comma-separated,
or ``-``) are folder-lock descriptors passed on to the program, so that a folder stays locked until
the program writing into it has really exited.

Standard library only, and no ``thioglass`` import: it starts in milliseconds with ``-I -S``.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import subprocess
import sys

GRACE_S = 3.0  # time the program gets to exit on SIGTERM before SIGKILL
_PR_SET_PDEATHSIG = 1


def _die_with_watchdog() -> None:
    # Runs between fork and exec. This process has one thread, so preexec_fn is safe here (unlike in a
    # threaded Dask worker), and PR_SET_PDEATHSIG then follows this single thread, i.e. this process.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the pipe still covers every death of thioglass itself


def stop(child: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after :data:`GRACE_S`; returns once the program is reaped."""
    if child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(GRACE_S)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def exit_code(returncode: int) -> int:
    """A shell-style status: a program killed by signal N gives 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


def watch(pipe_fd: int, child: subprocess.Popen) -> int:
    """Wait for the program to exit or the pipe to close; the program's exit status."""
    poller = select.poll()
    poller.register(pipe_fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    pidfd = None
    if hasattr(os, "pidfd_open"):
        try:
            pidfd = os.pidfd_open(child.pid)
            poller.register(pidfd, select.POLLIN)
        except OSError:
            pidfd = None
    while child.poll() is None:
        events = poller.poll(None if pidfd is not None else 200)
        if any(fd == pipe_fd for fd, _ in events):
            # thioglass is gone: stop at once (SIGKILL). A grace period only lets the program append more
            # to files a rerun may already be resuming; checkpoints are written to survive a kill anyway.
            child.kill()
            child.wait()
            return exit_code(child.returncode)
    return exit_code(child.returncode)


def main(argv: list[str]) -> int:
    pipe_fd, hold = int(argv[1]), argv[2]
    command = argv[4:]
    hold_fds = tuple(int(fd) for fd in hold.split(",")) if hold != "-" else ()
    child = subprocess.Popen(command, preexec_fn=_die_with_watchdog, pass_fds=hold_fds)

    def forward(signum: int, _frame) -> None:
        stop(child)
        os._exit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    return watch(pipe_fd, child)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
