"""``thioglass bench analysis`` in quick mode, and the benchmark's glass cell."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from thioglass.bench.analysis import AnalysisBenchSettings, glass_cell, stream_memory, write_trajectory
from thioglass.cli.main import app
from thioglass.errors import ThioglassError


def test_bench_analysis_quick_writes_valid_json(tmp_path):
    out = tmp_path / "bench" / "analysis.json"
    result = CliRunner().invoke(app, ["bench", "analysis", "--quick", "--frames", "20", "--out", str(out)])
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text())
    assert record["benchmark"] == "analysis"
    assert record["machine"]["cpu_count_logical"] >= 1 and "numpy" in record["machine"]["versions"]
    assert record["full_analysis"]["frames_per_s"] > 0
    rdf = record["rdf"]
    assert rdf["thioglass_all_partials"]["best_s"] > 0 and rdf["freud_1_thread"]["best_s"] > 0
    # Same r_max and bins: thioglass and freud must agree on the total g(r). freud works in float32,
    # so a distance on a bin edge may land in the neighbouring bin; a wrong normalisation is O(1).
    assert rdf["max_abs_difference_total_g"] < 1e-2
    assert record["reading"]["lammps-dump"]["frames"] == record["settings"]["timing_frames"]
    memory = record["streaming_memory"]
    assert memory["trajectory_lengths"] == [1, 2, 20]
    for fmt in ("extxyz", "lammps-dump"):
        assert [run["frames"] for run in memory[fmt]["runs"]] == [1, 2, 20]
        assert np.isfinite(memory[fmt]["slope_peak_rss_above_baseline_mb_per_1000_frames"])
    assert (out.parent / "analysis.summary.json").exists()


def test_streaming_leaves_no_python_allocations_behind(tmp_path):
    """After a streamed run the analysis and reader keep nothing: retained memory is not per frame."""
    settings = AnalysisBenchSettings.quick()
    atoms = glass_cell(64, settings, seed=2)
    frames = (atoms for _ in range(100))  # identical frames: neighbour-list shapes repeat
    path = write_trajectory(tmp_path / "t.dump", "lammps-dump", frames)
    stream_memory(path, settings)  # warm caches
    assert stream_memory(path, settings)["traced_retained_mb"] < 0.05


def test_bad_benchmark_settings():
    with pytest.raises(ThioglassError):
        AnalysisBenchSettings(n_frames=0)
