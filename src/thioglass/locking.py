"""One thioglass process per output folder: a kernel file lock on every run, quench, conductivity,
elastic, learn and label folder.

:func:`folder_lock` takes an exclusive ``flock`` (through :func:`filelock.lock_descriptor`) on
``<folder>/.thioglass.lock`` and records who holds it in ``<folder>/.thioglass.lock.json`` (PID,
what, command, host), which only serves the message a second run gets::

    runs/x is in use by another thioglass run (PID 4242, since 07:12:03): wait for it to finish or stop it

Why flock: the kernel releases it when the holder dies, however it dies, so a lock left by a dead
process is never stale and needs no breaking by hand. The descriptor is inherited by the MD
programs this process starts (:mod:`thioglass.md.process`), so a folder becomes free only when
the last process that could write into it has exited. A holder whose PID is gone but whose lock
is still held (its MD programs are being stopped) is waited for, up to ``wait_s``.

Re-entrant within a process: a folder already locked here (a run locking its quench folder, the
same job layer called twice) is simply counted again.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import socket
import sys
import threading
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from thioglass.errors import ThioglassError

LOCK_NAME = ".thioglass.lock"
OWNER_NAME = ".thioglass.lock.json"
DEFAULT_WAIT_S = 15.0  # the watchdog stops an orphaned MD program in at most ~3 s

_guard = threading.Lock()
_held: dict[Path, list[Any]] = {}  # folder -> [descriptor, depth, created here]
F = TypeVar("F", bound=Callable[..., Any])


def held_lock_fds(within: Path | str | None = None) -> tuple[int, ...]:
    """Descriptors of the folder locks this process holds (inherited by the programs it starts).

    ``within``: only the locks of that folder and the folders above it (where a program started
    there writes), so that a program does not keep another thread's stage folder locked.
    """
    inside = Path(within).resolve() if within is not None else None
    with _guard:
        return tuple(entry[0] for folder, entry in _held.items()
                     if inside is None or inside == folder or folder in inside.parents)


@contextmanager
def folder_lock(folder: Path | str, what: str = "run", *, wait_s: float = DEFAULT_WAIT_S) -> Iterator[Path]:
    """Hold ``folder`` (created if missing) for this process; refuse in one line if another one has it.

    Raises
    ------
    ThioglassError
        The folder cannot be created or written, or another live process holds it.
    """
    folder = Path(folder).resolve()
    if not _reenter(folder):
        created = not folder.exists()
        fd = _acquire(folder, what, wait_s)
        with _guard:
            _held[folder] = [fd, 1, created]
    try:
        yield folder
    finally:
        _leave(folder)


def _reenter(folder: Path) -> bool:
    with _guard:
        entry = _held.get(folder)
        if entry is not None:
            entry[1] += 1
        return entry is not None


def _leave(folder: Path) -> None:
    with _guard:
        entry = _held[folder]
        entry[1] -= 1
        if entry[1]:
            return
        del _held[folder]
    owner = read_owner(folder)
    if owner.get("pid") == os.getpid() and owner.get("host") == socket.gethostname():
        (folder / OWNER_NAME).unlink(missing_ok=True)
    if entry[2] and _only_the_lock_in(folder):
        # Nothing was written (an input error after the lock): leave no empty folder behind. A waiter
        # that locked the unlinked file sees that and locks the new one (_still_linked).
        (folder / LOCK_NAME).unlink(missing_ok=True)
        _remove_empty(folder)
    # Closing (not unlocking) leaves the lock to any MD program still holding an inherited copy.
    os.close(entry[0])


def _only_the_lock_in(folder: Path) -> bool:
    try:
        return {p.name for p in folder.iterdir()} == {LOCK_NAME}
    except OSError:
        return False


def _remove_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def locked_folder(parameter: str, what: str) -> Callable[[F], F]:
    """Decorator: hold the folder passed as ``parameter`` (see :func:`folder_lock`) while the function runs."""

    def wrap(function: F) -> F:
        signature = inspect.signature(function)

        @functools.wraps(function)
        def locked(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            with folder_lock(bound.arguments[parameter], what=what):
                return function(*args, **kwargs)

        return locked  # type: ignore[return-value]

    return wrap


def _acquire(folder: Path, what: str, wait_s: float) -> int:
    deadline = time.monotonic() + wait_s
    while True:
        fd = _open_lock_file(folder)
        try:
            if _lock_or_wait(fd, folder, deadline) and _still_linked(fd, folder):
                _write_owner(folder, what)
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # the holder removed the lock file (and its empty folder) as it left: lock the new one


def _lock_or_wait(fd: int, folder: Path, deadline: float) -> bool:
    from filelock import lock_descriptor

    while not lock_descriptor(fd, blocking=False):
        owner = read_owner(folder)
        if _alive(owner) or time.monotonic() > deadline:
            raise ThioglassError(busy_message(folder, owner))
        time.sleep(0.2)  # the holder is dead; its MD programs are being stopped
    return True


def _still_linked(fd: int, folder: Path) -> bool:
    try:
        return os.stat(folder / LOCK_NAME).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _open_lock_file(folder: Path) -> int:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except FileExistsError:
        raise ThioglassError(f"{folder} is a file, not a folder; choose another folder") from None
    except NotADirectoryError:
        raise ThioglassError(f"a part of {folder} is a file, not a folder; choose another folder") from None
    except OSError as err:
        raise ThioglassError(f"cannot write in {folder} ({err.strerror}); choose a folder you can write to") from None


def _write_owner(folder: Path, what: str) -> None:
    record = {"pid": os.getpid(), "host": socket.gethostname(), "what": what,
              "since": datetime.now().isoformat(timespec="seconds"), "command": " ".join(sys.argv)[:300]}
    temporary = folder / f"{OWNER_NAME}.{os.getpid()}"
    temporary.write_text(json.dumps(record))
    os.replace(temporary, folder / OWNER_NAME)


def read_owner(folder: Path) -> dict:
    """The holder's record, or {} when there is none or it cannot be read."""
    try:
        return json.loads((folder / OWNER_NAME).read_text())
    except (OSError, ValueError):
        return {}


def _alive(owner: dict) -> bool:
    pid = owner.get("pid")
    if not isinstance(pid, int):
        return False
    if owner.get("host") != socket.gethostname():
        return True  # another machine on a shared disk: cannot tell, assume it runs
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def busy_message(folder: Path, owner: dict) -> str:
    """One line naming the holder (``owner`` as :func:`read_owner` returns it)."""
    if not owner:
        return f"{folder} is in use by another thioglass process; wait for it to finish or stop it, then rerun"
    since = str(owner.get("since", "?")).replace("T", " ")
    where = "" if owner.get("host") == socket.gethostname() else f" on {owner.get('host')}"
    state = "" if _alive(owner) else ", which has exited; its MD programs are still stopping, retry in a few seconds"
    return (f"{folder} is in use by another thioglass {owner.get('what', 'process')} (PID {owner.get('pid')}{where}, "
            f"since {since}{state}); wait for it to finish or stop it (kill {owner.get('pid')}), then rerun")
