"""``thioglass bench`` without a sub-command: every benchmark into one JSON, run stage by stage, resumable.

The timed run uses the tiny DeePMD test model (stable only near 300-400 K) with the smoke preset
and the gentle settings of test_workflow.py, in-process through ASE MD so that it takes seconds;
the slow test runs every part for real, the model in LAMMPS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from thioglass.bench import suite
from thioglass.cli.main import app
from thioglass.errors import ThioglassError

MODEL = str(Path(__file__).parent / "data" / "tiny_li3ps4.pb")
TINY_DP = f"ase:{__name__}:tiny_dp"
GENTLE = ["quench.melt_k=400", "quench.final_k=300", "quench.melt_ps=0.05", "quench.cooling_rate_k_per_s=2e15",
          "quench.anneal_ps=0.1", "quench.tdamp_ps=0.02", "quench.dump_every_ps=0.01",
          "conductivity.temperatures_k=300,325,350,375"]
RUN_STAGES = ["build", "quench", "structure", "elastic", "conductivity", "rotation", "report"]


def tiny_dp():
    """The tiny test model as an in-process ASE calculator."""
    from deepmd.calculator import DP

    return DP(model=MODEL)


def _args(out: Path, *extra: str, potential: str = TINY_DP) -> list[str]:
    sets = [x for item in GENTLE for x in ("--set", item)]
    return ["bench", "--quick", "-p", potential, "-t", "1", "-o", str(out), *sets, *extra]


def _fake_part(monkeypatch, name: str) -> None:
    """Replace a benchmark by one returning a record of two fields (and its table by its name)."""
    from thioglass.cli import bench as cli

    def measure(settings, on_stage):
        on_stage(f"fake {name}")
        return {"benchmark": name, "quick": settings.quick}

    monkeypatch.setattr(suite, f"{name}_record", measure)
    monkeypatch.setattr(cli, f"_{name}_table", lambda record: f"{record['benchmark']} table")


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("bench") / "results" / "bench.json"
    result = CliRunner().invoke(app, _args(out, "--skip", "analysis,md"))
    assert result.exit_code == 0, result.output
    assert "sum of stages" in result.output and "conductivity" in result.output
    return out, json.loads(out.read_text())


def test_run_part_times_every_stage(bench_run):
    out, record = bench_run
    assert record["benchmark"] == "suite" and record["skipped"] == ["analysis", "md"]
    assert "analysis" not in record and "md" not in record
    assert record["machine"]["cpu_count_logical"] >= 1 and "numpy" in record["machine"]["versions"]
    run = record["run"]
    assert (run["composition"], run["preset"], run["potential"]) == ("75Li2S-25P2S5", "smoke", TINY_DP)
    assert list(run["stages_s"]) == RUN_STAGES and run["missing_stages"] == [] and run["resumed_stages"] == []
    assert all(seconds > 0 for seconds in run["stages_s"].values())
    # Stages are timed inside the call: together they cannot take longer than it.
    assert run["stage_sum_s"] == pytest.approx(sum(run["stages_s"].values()), abs=1e-3)
    assert run["stage_sum_s"] <= run["total_s"]
    # The times are the run's own, from the summary.json in its folder beside the JSON.
    folder = Path(run["folder"])
    assert folder == out.parent / "bench-run" / "75Li2S-25P2S5-smoke"
    assert json.loads((folder / "summary.json").read_text())["timings_s"] == run["stages_s"]
    assert json.loads((folder / "quench.json").read_text())["build_wall_s"] == run["stages_s"]["build"]
    summary = json.loads((out.parent / "bench.summary.json").read_text())
    assert summary["command"] == "bench" and set(summary["timings_s"]) == {"run"}
    assert summary["timings_s"]["run"] >= run["total_s"] - 1e-3  # both rounded to the millisecond
    assert not list(out.parent.glob("*.tmp"))


def test_rerun_resumes_the_run_and_keeps_skipped_parts(bench_run, monkeypatch):
    out, first = bench_run
    _fake_part(monkeypatch, "analysis")
    result = CliRunner().invoke(app, _args(out, "--skip", "md"))
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text())
    assert list(record)[-2:] == ["analysis", "run"] and record["analysis"]["benchmark"] == "analysis"
    run = record["run"]
    assert run["resumed_stages"] == RUN_STAGES[1:-1]
    # Finished stages are read back with the times measured when they ran; nothing is recomputed.
    assert {k: v for k, v in run["stages_s"].items() if k != "report"} == {
        k: v for k, v in first["run"]["stages_s"].items() if k != "report"}
    assert run["total_s"] < first["run"]["stage_sum_s"] - first["run"]["stages_s"]["report"]
    assert "read from disk" in result.output

    # A rerun skipping the run keeps its record; parts measured now replace theirs.
    _fake_part(monkeypatch, "md")
    result = CliRunner().invoke(app, ["bench", "--quick", "--skip", "run", "-o", str(out)])
    assert result.exit_code == 0, result.output
    again = json.loads(out.read_text())
    assert list(again)[-3:] == ["analysis", "md", "run"] and again["run"] == record["run"]
    assert again["skipped"] == ["run"] and again["md"]["quick"] is True


def test_each_part_is_written_as_soon_as_it_is_measured(tmp_path, monkeypatch):
    def md_crash(settings, on_stage):
        raise RuntimeError("LAMMPS crashed")

    _fake_part(monkeypatch, "analysis")
    monkeypatch.setattr(suite, "md_record", md_crash)
    out = tmp_path / "bench.json"
    settings = suite.SuiteSettings(potential=MODEL, skip=("run",), quick=True)
    with pytest.raises(RuntimeError, match="LAMMPS crashed"):
        suite.run_suite(settings, out)
    record = json.loads(out.read_text())
    assert record["analysis"]["benchmark"] == "analysis" and "md" not in record
    assert json.loads((tmp_path / "bench.summary.json").read_text())["timings_s"].keys() == {"analysis"}


def test_settings_and_parts():
    assert suite.parse_skip("run, md") == ("md", "run") and suite.parse_skip(None) == ()
    assert suite.SuiteSettings(skip=("md",)).parts == ("analysis", "run")
    assert suite.run_folder("x/b.json", "75Li2S-25P2S5", "quick") == Path("x/b-run/75Li2S-25P2S5-quick")
    with pytest.raises(ThioglassError, match="cannot skip gpu"):
        suite.SuiteSettings(skip=("md,gpu",))




@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-p", "missing.pb"], "does not exist"),
        (["-p", MODEL, "--skip", "gpu"], "cannot skip gpu"),
        (["-p", MODEL, "--skip", "analysis,md,run"], "nothing to measure"),
        (["-p", TINY_DP], "bench md times a DeePMD model"),
        (["-p", MODEL, "--preset", "turbo"], "unknown preset"),
        (["-p", MODEL, "--composition", "75Li2S-25XyS2"], "unknown component"),
        (["-p", MODEL, "--set", "quench.nope=1"], "unknown setting 'quench.nope'"),
    ],
)
def test_bad_input_is_one_line_before_any_work(monkeypatch, tmp_path, args, message, cli):
    def must_not_run(settings, on_stage):
        raise AssertionError("a benchmark started before the inputs were checked")

    monkeypatch.setattr(suite, "analysis_record", must_not_run)
    out = tmp_path / "out" / "bench.json"
    code, err = cli("bench", "--quick", "-o", str(out), *args)
    assert code == 2 and err.startswith("Error:") and "\n" not in err and message in err
    assert not out.parent.exists()


def test_missing_default_model_is_one_line(monkeypatch, tmp_path, cli):
    from thioglass import potential

    def no_model():
        raise ThioglassError("no default model is bundled with this thioglass yet; pass --potential MODEL.pb")

    monkeypatch.setattr(potential, "default_model", no_model)
    _fake_part(monkeypatch, "analysis")
    out = tmp_path / "bench.json"
    code, err = cli("bench", "--quick", "-o", str(out))
    assert code == 2 and "\n" not in err and "no default model" in err
    assert not out.exists()


def test_another_benchmarks_file_is_not_overwritten(tmp_path, cli):
    out = tmp_path / "analysis.json"
    out.write_text(json.dumps({"benchmark": "analysis"}))
    code, err = cli("bench", "--quick", "--skip", "md,run", "-o", str(out))
    assert code == 2 and "other results" in err
    assert json.loads(out.read_text()) == {"benchmark": "analysis"}


def test_help_lists_the_sub_commands_without_loading_the_benchmarks():
    code = ("import sys\nfrom thioglass.cli.main import app\n"
            "try:\n    app(['bench', '--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('thioglass.bench.suite', 'thioglass.bench.common', 'thioglass.workflow', "
            "'psutil', 'deepmd') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("[]")
    for name in ("analysis", "md", "--skip", "--model", "--quick"):
        assert name in result.stdout


@pytest.mark.slow
def test_every_part_for_real(tmp_path):
    """analysis, md (the tiny model in LAMMPS, frozen and compressed) and the run, as `make bench` does."""
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(app, _args(out, "--reference", "", potential=MODEL))
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text())
    assert list(record)[-3:] == ["analysis", "md", "run"] and record["skipped"] == []
    assert record["analysis"]["full_analysis"]["frames_per_s"] > 0
    assert record["md"]["lammps"]["frozen"] and record["md"]["model"] == MODEL
    run = record["run"]
    assert list(run["stages_s"]) == RUN_STAGES and all(s > 0 for s in run["stages_s"].values())
    assert run["stage_sum_s"] <= run["total_s"] and run["potential"] == str(Path(MODEL).resolve())


def test_workers_of_the_timed_run_are_checked():
    assert suite.SuiteSettings(workers=2).workers == 2
    with pytest.raises(ThioglassError, match="--workers must be at least 1"):
        suite.SuiteSettings(workers=0)


def test_without_the_bench_extra_the_analysis_part_is_one_line(monkeypatch, tmp_path, cli):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "freud" else find_spec(name, *a))
    out = tmp_path / "bench.json"
    code, err = cli("bench", "--quick", "--skip", "md,run", "-o", str(out))
    assert code == 2 and "\n" not in err and "thioglass[bench]" in err
    assert not out.exists()
