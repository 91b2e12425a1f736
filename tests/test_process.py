"""External programs die with whoever started them; folder locks refuse a second process and survive no holder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from thioglass.errors import ThioglassError
from thioglass.locking import OWNER_NAME, folder_lock, held_lock_fds, read_owner
from thioglass.md.process import run_process

SRC = str(Path(__file__).parents[1] / "src")

# A parent that locks a folder and runs a long `sleep` under the watchdog, from a worker thread as Dask does.
_PARENT = """
import sys, threading
sys.path.insert(0, %r)
from thioglass.locking import folder_lock
from thioglass.md.process import run_process
def work():
    with folder_lock(sys.argv[1], what="test"):
        run_process(["sleep", "300"], cwd=sys.argv[1])
thread = threading.Thread(target=work, daemon=True)
thread.start()
while thread.is_alive():
    thread.join(0.1)
""" % SRC


def _sleepers(marker_cwd: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline", "cwd"]):
        if (process.info["cmdline"] or [])[:2] == ["sleep", "300"] and process.info["cwd"] == str(marker_cwd):
            found.append(process)
    return found


def _start_parent(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    folder = tmp_path / "work"
    folder.mkdir()
    parent = subprocess.Popen([sys.executable, "-c", _PARENT, str(folder)])
    deadline = time.time() + 30
    while not _sleepers(folder) and time.time() < deadline:
        time.sleep(0.05)
    assert _sleepers(folder), "the program did not start"
    return parent, folder


def _gone_within(folder: Path, seconds: float) -> bool:
    deadline = time.time() + seconds
    while _sleepers(folder) and time.time() < deadline:
        time.sleep(0.05)
    return not _sleepers(folder)


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM])
def test_program_dies_with_its_parent_however_it_dies(tmp_path, signum):
    parent, folder = _start_parent(tmp_path)
    os.kill(parent.pid, signum)  # the parent alone, not its group
    parent.wait(30)
    assert _gone_within(folder, 5.0), f"the program outlived its parent ({signal.Signals(signum).name})"
    with folder_lock(folder, wait_s=5.0):  # and the folder is free again
        pass


def test_lock_is_held_until_the_program_has_exited(tmp_path):
    parent, folder = _start_parent(tmp_path)
    with pytest.raises(ThioglassError, match=rf"in use by another thioglass test \(PID {parent.pid}\b"):
        with folder_lock(folder, wait_s=0):
            pass
    parent.kill()
    parent.wait()
    with folder_lock(folder, wait_s=10.0):  # waits while the dead parent's program is stopped
        assert not _sleepers(folder)
        assert read_owner(folder)["pid"] == os.getpid()
    assert not (folder / OWNER_NAME).exists()


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    folder = tmp_path / "stale"
    holder = subprocess.run([sys.executable, "-c", "import sys, os; sys.path.insert(0, %r)\n"
                             "from thioglass.locking import folder_lock\n"
                             "with folder_lock(sys.argv[1], what='run'): os._exit(0)" % SRC, str(folder)])
    assert holder.returncode == 0
    assert read_owner(folder).get("pid") not in (None, os.getpid())  # the dead holder's record is left behind
    with folder_lock(folder, wait_s=0) as locked:
        assert locked == folder.resolve() and len(held_lock_fds()) == 1
    assert held_lock_fds() == ()


def test_lock_is_reentrant_within_one_process(tmp_path):
    with folder_lock(tmp_path / "x"):
        with folder_lock(tmp_path / "x"):
            assert len(held_lock_fds()) == 1
        assert len(held_lock_fds()) == 1
    assert held_lock_fds() == ()


def test_lock_on_a_file_or_unwritable_folder_is_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ThioglassError, match="is a file, not a folder"):
        with folder_lock(tmp_path / "file"):
            pass
    with pytest.raises(ThioglassError, match="cannot write in /proc"):
        with folder_lock("/proc/thioglass-run"):
            pass


def test_exit_status_and_ctrl_c(tmp_path):
    assert run_process(["sh", "-c", "exit 3"], cwd=tmp_path) == 3
    assert run_process(["sh", "-c", "kill -9 $$"], cwd=tmp_path) == 137

    def interrupt() -> None:
        raise KeyboardInterrupt

    (tmp_path / "marker").mkdir()
    with pytest.raises(KeyboardInterrupt):
        run_process(["sleep", "300"], cwd=tmp_path / "marker", on_tick=interrupt, tick_s=0.2)
    assert not _sleepers(tmp_path / "marker")


def test_a_program_inherits_only_the_locks_above_its_folder(tmp_path):
    with folder_lock(tmp_path / "run"), folder_lock(tmp_path / "run" / "stage_a"), folder_lock(tmp_path / "b"):
        assert len(held_lock_fds()) == 3
        assert len(held_lock_fds(within=tmp_path / "run" / "stage_a")) == 2
        assert len(held_lock_fds(within=tmp_path / "run" / "stage_c")) == 1


def test_a_folder_nothing_was_written_to_is_not_left_behind(tmp_path):
    with pytest.raises(ThioglassError, match="bad input"):
        with folder_lock(tmp_path / "new" / "run"):
            raise ThioglassError("bad input")
    assert not (tmp_path / "new" / "run").exists()
    with folder_lock(tmp_path / "kept") as folder:
        (folder / "result.json").write_text("{}")
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == [".thioglass.lock", "result.json"]
