"""thioglass bench md: log parsing and preset arithmetic; the full run is slow (pytest -m slow)."""

import json

import pytest

from thioglass.bench.md import MDBenchSettings, _preset_estimates, loop_rate, run_md_benchmark
from thioglass.md.protocol import PRESETS, melt_quench


def test_loop_rate_reads_the_last_run(tmp_path):
    log = tmp_path / "log.lammps"
    log.write_text("Loop time of 9.0 on 1 procs for 10 steps with 5 atoms\n"
                   "Loop time of 2.0 on 2 procs for 300 steps with 1000 atoms\n")
    rate = loop_rate(log)
    assert rate["katom_steps_per_s"] == pytest.approx(150.0)
    assert rate["ns_per_day_1fs"] == pytest.approx(300e-6 / 2.0 * 86400)


def test_preset_estimates_scale_with_size():
    record = {"lammps": {"compressed": {"300": {"katom_steps_per_s": 15.0}, "4500": {"katom_steps_per_s": 15.0}}}}
    estimates = _preset_estimates(record, PRESETS, melt_quench)
    quick = estimates["quick"]
    assert quick["ns_per_day"] == pytest.approx(50 * 86400e-6)  # 15000 atom-steps/s over 300 atoms
    steps = sum(s.steps(1.0) for s in melt_quench(PRESETS["quick"]).stages)
    assert quick["hours_per_replica"] == pytest.approx(steps / 50 / 3600)


@pytest.mark.slow
def test_quick_benchmark_runs_end_to_end(tmp_path):
    record = run_md_benchmark(MDBenchSettings.quick(reference=None))
    # The shipped model is compressed already, so it is timed under that name alone.
    assert set(record["lammps"]) <= {"frozen", "compressed"} and record["lammps"]
    assert record["presets"]["paper"]["ns_per_day"] > 0
    json.dumps(record)


def test_a_model_shipped_compressed_is_timed_as_compressed(tmp_path):
    """dp refuses to compress twice; the benchmark must then time the given model under its real name."""
    from pathlib import Path

    from thioglass.bench.md import _variants

    tiny = Path(__file__).parent / "data" / "tiny_li3ps4.pb"
    fresh = _variants(tiny, tmp_path / "first")
    assert set(fresh) == {"frozen", "compressed"} and fresh["compressed"].stat().st_size > 0
    again = _variants(fresh["compressed"], tmp_path / "second")
    assert again == {"compressed": fresh["compressed"]}


@pytest.mark.slow
def test_single_thread_and_concurrent_runs_are_timed(tmp_path):
    from pathlib import Path

    tiny = Path(__file__).parent / "data" / "tiny_li3ps4.pb"
    settings = MDBenchSettings(model=str(tiny), sizes=(100,), steps=20, threads=2, reference=None, concurrent_runs=2)
    record = run_md_benchmark(settings)
    (size, one), = record["lammps_1_thread"].items()  # keyed by the built cell's atom count
    assert one["steps"] == 20 and one["atoms"] == int(size) > 0
    both = record["concurrent"]
    assert both["runs"] == 2 and len(both["per_run"]) == 2
    assert both["katom_steps_per_s"] == pytest.approx(sum(r["katom_steps_per_s"] for r in both["per_run"]))
