"""Model deviation in results, on the terminal and in the reports, from a run folder's model_devi.out files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from thioglass.mlff import ensemble as ens


def _stage(run: Path, index: int, name: str, values: list[float], every: int = 10, timestep_fs: float = 2.0) -> None:
    """A finished stage folder as the engines leave it: done.json, protocol.json above, model_devi.out."""
    folder = run / f"{index:02d}_{name}"
    folder.mkdir(parents=True)
    (run / "protocol.json").write_text(json.dumps({"timestep_fs": timestep_fs, "stages": []}))
    (folder / "done.json").write_text(json.dumps({"stage": {"name": name}, "steps": every * (len(values) - 1)}))
    ens.write_deviation_header(folder / ens.DEVIATION_FILE)
    with open(folder / ens.DEVIATION_FILE, "a") as handle:
        for k, value in enumerate(values):
            handle.write(ens.format_deviation_row([k * every, 0, 0, 0, value, value / 2, value / 3]))


@pytest.fixture
def run_folder(tmp_path) -> Path:
    out = tmp_path / "glass"
    for replica, offset in ((0, 0.0), (1, 0.01)):
        _stage(out / "quench" / f"replica_{replica}", 0, "melt", [0.30 + offset] * 5 + [0.05] * 5)
        _stage(out / "quench" / f"replica_{replica}", 1, "anneal", [0.03 + offset] * 10)
    _stage(out / "conductivity" / "T600K", 0, "production", list(np.linspace(0.02, 0.1, 20)))
    unfinished = out / "conductivity" / "T700K" / "00_production"
    unfinished.mkdir(parents=True)  # no done.json: a stage still running is not summarised
    ens.write_deviation_header(unfinished / ens.DEVIATION_FILE)
    return out


def test_run_deviation_keys_pools_replicas_and_keeps_temperatures_apart(run_folder):
    from thioglass.workflow.run import run_deviation

    stats = run_deviation(run_folder)
    assert sorted(stats) == ["conductivity/T600K/production", "quench/anneal", "quench/melt"]
    melt = stats["quench/melt"]
    assert melt["n_frames"] == 20 and melt["every_steps"] == 10
    assert melt["share_above_low"] == pytest.approx(0.5) and melt["warning"]
    assert not stats["quench/anneal"]["warning"] and not stats["conductivity/T600K/production"]["warning"]
    series = run_deviation(run_folder, series=True)
    time_ps, values = series["quench/melt"][0]
    assert time_ps[1] == pytest.approx(10 * 2.0 / 1000) and values[0] == pytest.approx(0.30)
    assert len(series["quench/melt"]) == 2  # one line per replica


def test_terminal_table_and_warning_name_the_stage(run_folder):
    from rich.console import Console

    from thioglass.cli.deviation import print_deviation
    from thioglass.workflow.run import run_deviation

    console = Console(record=True, width=200)
    print_deviation(console, run_deviation(run_folder))
    text = console.export_text()
    warnings = [line for line in text.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "stage quench/melt" in warnings[0] and "50.0 % of 20 frames" in warnings[0]
    assert "conductivity/T600K/production" in text
    quiet = Console(record=True)
    print_deviation(quiet, {})
    assert quiet.export_text() == ""


def test_figure_and_reports_show_the_deviation(run_folder):
    from thioglass.report.deviation_plot import deviation_figure
    from thioglass.report.html import render_validation_report
    from thioglass.report.plots import png_bytes
    from thioglass.workflow.run import run_deviation

    figure = deviation_figure(run_deviation(run_folder, series=True))
    assert [ax.get_title() for ax in figure.axes] == ["quench", "conductivity"]
    melt, anneal = figure.axes[0].get_lines()[0], figure.axes[0].get_lines()[2]
    assert anneal.get_xdata()[0] >= melt.get_xdata()[-1]  # the anneal follows the melt on the time axis
    assert png_bytes(figure).startswith(b"\x89PNG")
    html = render_validation_report({"preset": "smoke", "potential": "default", "finished": "now", "lattice": None,
                                     "timings_s": {}, "glasses": [
                                         {"composition": "75Li2S-25P2S5", "report": "x/report.html", "comparison": [],
                                          "model_deviation": run_deviation(run_folder)}]})
    assert "Ensemble force deviation" in html and "quench/melt" in html
    assert "Stage <b>quench/melt</b> left the model" in html and "anneal</b> left" not in html
