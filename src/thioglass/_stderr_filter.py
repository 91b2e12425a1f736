"""Forward stdin to stdout, dropping the CUDA-probe lines DeePMD's libraries print on CPU machines.

Run by :func:`thioglass.native_stderr.filter_native_stderr` as ``python -I -S _stderr_filter.py``
(standard library only). It ignores Ctrl-C and exits at EOF, i.e. once every process that shares
the parent's stderr has exited, so no line written by a library at exit is lost or blocks.
"""

import signal
import sys

NOISE = (b"implib-gen: libcudart.so", b"DeePMD-kit: Cannot find libcudart.so",
         b"DeePMD-kit: Error message: libcudart.so")


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        if not line.startswith(NOISE):
            out.write(line)
            out.flush()


if __name__ == "__main__":
    main()
