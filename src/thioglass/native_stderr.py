"""Keep the CUDA-probe noise of DeePMD's C++ libraries off the terminal.

On a machine without CUDA, loading a DeePMD model prints about twelve ``implib-gen: libcudart.so.12:
failed to ...`` lines (and two ``DeePMD-kit: Cannot find libcudart.so.12`` lines) straight to file
descriptor 2 from C++, some of them from library destructors when the process exits, so no Python
redirection around a call can catch them all. :func:`filter_native_stderr` therefore routes fd 2,
for the rest of the process, through a small filter process that drops exactly those lines and
forwards everything else; Python's own ``sys.stderr`` (errors, progress bars) is rebound to the
original stream, so it stays a terminal and is not delayed.

Only a process whose ``sys.stderr`` is still the interpreter's own (the ``thioglass`` command, not a
test under pytest's capture) is changed. There is no environment variable that silences the probe:
``libdeepmd_dyn_cudart.so`` prints unconditionally when its ``dlopen`` callback fails.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

_FILTER = Path(__file__).with_name("_stderr_filter.py")
_started = False


def filter_native_stderr() -> bool:
    """Start the filter once; True if fd 2 now goes through it."""
    global _started
    if _started or sys.stderr is not sys.__stderr__ or sys.platform == "win32":
        return _started
    try:
        original = os.dup(2)
        read_fd, write_fd = os.pipe()
        subprocess.Popen([sys.executable, "-I", "-S", str(_FILTER)], stdin=read_fd, stdout=original,
                         stderr=subprocess.DEVNULL)
    except OSError:
        return False  # no filter: the noise reaches the terminal as before, nothing breaks
    os.close(read_fd)
    sys.stderr.flush()
    os.dup2(write_fd, 2)  # native writes to fd 2 now go through the filter
    os.close(write_fd)
    # Python's stderr keeps writing to the terminal itself (a TTY for rich, no delay).
    stream = io.TextIOWrapper(os.fdopen(original, "wb", buffering=0), encoding=sys.stderr.encoding,
                              errors="backslashreplace", line_buffering=True, write_through=True)
    sys.stderr = sys.__stderr__ = stream
    _started = True
    return True
