"""Benchmarks behind ``thioglass bench``: each kind is a module with a frozen settings dataclass and a
``run_*_benchmark(settings) -> dict`` that returns a JSON-ready record (machine description included,
see :mod:`thioglass.bench.common`).

* :mod:`thioglass.bench.analysis`: structure-analysis speed, g(r) against freud, memory while streaming.

The benchmarks sit behind the ``bench`` extra (``pip install 'thioglass[bench]'``, which ``make
bench`` installs): it brings freud, the independent g(r) the analysis benchmark times against.
Nothing outside ``thioglass bench`` imports this package.
"""

from thioglass.errors import ThioglassError


def require_bench_extra() -> None:
    """Fail in one line, before any work, when the ``bench`` extra (freud) is not installed."""
    from importlib.util import find_spec

    if find_spec("freud") is None:
        raise ThioglassError("thioglass bench analysis compares against freud, which is not installed: "
                             "pip install 'thioglass[bench]' (make bench does), or pass --skip analysis")

