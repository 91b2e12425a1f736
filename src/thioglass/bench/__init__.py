"""Benchmarks behind ``thioglass bench``: each kind is a module with a frozen settings dataclass and a
``run_*_benchmark(settings) -> dict`` that returns a JSON-ready record (machine description included,
see :mod:`thioglass.bench.common`).

* :mod:`thioglass.bench.analysis`: structure-analysis speed, g(r) against freud, memory while streaming.
"""
