"""``thioglass study``: the cooling-rate and cell-size study end to end, its resume, and its verdicts.

The end-to-end run uses the tiny DeePMD test model in-process (stable only near 300-400 K, so the melt
is at 400 K), two cooling rates, one size and two replicas per point.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as scipy_stats
from typer.testing import CliRunner

from thioglass.cli.main import app
from thioglass.errors import ThioglassError
from thioglass.workflow.study import StudySettings, mean_sem, point_name
from thioglass.workflow.study_verdict import compare, verdict

TINY_DP = "ase:test_workflow:tiny_dp"
GENTLE = ["quench.melt_k=400", "quench.final_k=300", "quench.melt_ps=0.05", "quench.anneal_ps=0.1",
          "quench.tdamp_ps=0.02", "quench.dump_every_ps=0.01", "elastic_route=static",
          "elastic_static.max_steps=500", "elastic_static.fmax_eV_per_angstrom=0.3"]


def _args(out: Path, *extra: str) -> list[str]:
    sets = [x for item in GENTLE for x in ("--set", item)]
    return ["study", "75Li2S-25P2S5", "-o", str(out), "--rates", "2e15,4e15", "--sizes", "64", "--replicas", "2",
            "--base", "smoke", "-p", TINY_DP, "-t", "1", *sets, *extra]


@pytest.fixture(scope="module")
def study_run(tmp_path_factory) -> Path:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))  # TINY_DP names this folder's test_workflow module
    out = tmp_path_factory.mktemp("study") / "s"
    result = CliRunner().invoke(app, _args(out))
    assert result.exit_code == 0, result.output
    assert "recommended:" in result.output
    return out


def test_study_measures_every_replica_of_every_point(study_run):
    study = json.loads((study_run / "study.json").read_text())
    assert [p["point"] for p in study["points"]] == ["n64-r4e15", "n64-r2e15"]
    assert study["reference"] == "n64-r2e15"  # the slowest cooling of the largest cell
    for point in study["points"]:
        assert len(point["replicas"]) == 2
        for replica in point["replicas"]:
            assert 0.5 < replica["density_g_cm3"] < 3.5
            assert math.isfinite(replica["bulk_modulus_GPa"]) and math.isfinite(replica["shear_modulus_GPa"])
            assert abs(sum(replica["qn"]["P"].values()) - 100) < 1e-6
        densities = [r["density_g_cm3"] for r in point["replicas"]]
        assert point["stats"]["density_g_cm3"]["mean"] == pytest.approx(np.mean(densities))
        assert point["stats"]["density_g_cm3"]["sem"] == pytest.approx(scipy_stats.sem(densities))
    fast, slow = study["points"]
    assert fast["quench_atom_steps_per_replica"] < slow["quench_atom_steps_per_replica"]
    assert fast["verdict"] in ("agrees", "differs", "unresolved") and slow["verdict"] == "reference"
    assert study["recommended"] in ("n64-r4e15", "n64-r2e15")
    assert (study_run / "study.png").stat().st_size > 10_000
    summary = json.loads((study_run / "summary.json").read_text())
    assert summary["command"] == "study"


def test_rerun_keeps_finished_work_and_remeasures_only_what_is_missing(study_run):
    files = {p: p.stat().st_mtime_ns for p in study_run.rglob("*") if p.is_file()}
    replica = study_run / "n64-r2e15" / "elastic" / "replica_1.json"
    before = json.loads(replica.read_text())
    replica.unlink()
    (study_run / "n64-r2e15" / "point.json").unlink()
    result = CliRunner().invoke(app, _args(study_run))
    assert result.exit_code == 0, result.output
    untouched = [p for p in files if p.exists() and p.stat().st_mtime_ns == files[p]]
    changed = sorted(str(p.relative_to(study_run)) for p in files if p.exists() and p not in untouched)
    # the MD and the other replica are read back; only the deleted measurement and the records that sum up
    # (the quench's record of its replicas among them) are rewritten
    records = ("quench.json", "summary.json", "point.json", "study.json", "study.png", "replica_1.json")
    assert changed and all(c.endswith(records) for c in changed), changed
    assert not any(c.startswith("n64-r4e15") for c in changed), changed
    assert json.loads(replica.read_text())["density_g_cm3"] == pytest.approx(before["density_g_cm3"])
    # a looser tolerance re-judges what is on disk without running anything
    result = CliRunner().invoke(app, _args(study_run, "--density-tol", "5"))
    assert result.exit_code == 0, result.output
    assert json.loads((study_run / "study.json").read_text())["tolerances"]["density_g_cm3"] == 5
    # a different grid point setting is another study: refused in one line
    result = CliRunner().invoke(app, _args(study_run, "--replicas", "3"))
    assert result.exit_code != 0 and "use a new --out" in str(result.exception)


def test_bad_study_inputs_are_one_line(tmp_path):
    runner = CliRunner()
    cases = {
        ("--rates", "5e12", "--sizes", "300"): "at least two cooling rates or two cell sizes",
        ("--rates", "fast", "--sizes", "300"): "cannot read --rates",
        ("--rates", "5e12,1e13", "--set", "quench.melt=1"): "unknown setting",
        ("--rates", "5e12,1e13", "--base", "slow"): "unknown preset",
    }
    for extra, message in cases.items():
        result = runner.invoke(app, ["study", "75Li2S-25P2S5", "-o", str(tmp_path / "s"), *extra])
        assert result.exit_code != 0
        assert message in str(result.exception) + result.output, (extra, result.output)
        assert not (tmp_path / "s" / "study.json").exists()


def test_points_and_names():
    settings = StudySettings((5e12, 5e13), (1000, 300))
    assert settings.points() == [(300, 5e13), (300, 5e12), (1000, 5e13), (1000, 5e12)]
    cross = StudySettings((5e12, 2e13, 1e14), (300, 1000), grid="cross")
    assert cross.points() == [(300, 1e14), (300, 2e13), (300, 5e12), (1000, 5e12)]
    with pytest.raises(ThioglassError, match="--grid diagonal is unknown"):
        StudySettings((5e12, 5e13), (300,), grid="diagonal")
    assert point_name(300, 5e12) == "n300-r5e12" and point_name(1000, 3.5e14) == "n1000-r3.5e14"
    with pytest.raises(ThioglassError, match="at least 2 replicas"):
        StudySettings((5e12, 5e13), (300,), replicas=1)


def test_mean_sem_matches_scipy_and_ignores_missing_values():
    values = [1.0, 2.0, 4.0, None, float("nan")]
    result = mean_sem(values)
    assert result["mean"] == pytest.approx(7 / 3) and result["n"] == 3
    assert result["sem"] == pytest.approx(scipy_stats.sem([1.0, 2.0, 4.0]))
    assert math.isnan(mean_sem([]).get("mean")) and math.isnan(mean_sem([1.0])["sem"])


@pytest.mark.parametrize("delta, err, tol, expected", [
    (0.01, 0.005, 0.02, "agrees"),
    (0.05, 0.005, 0.02, "differs"),
    (0.03, 0.02, 0.02, "unresolved"),   # beyond the tolerance but within two errors
    (0.00, 0.05, 0.02, "unresolved"),   # too noisy to tell
    (float("nan"), 0.01, 0.02, "unresolved"),
])
def test_verdict(delta, err, tol, expected):
    assert verdict(delta, err, tol) == expected


def _point(n_atoms: int, rate: float, density: tuple[float, float], bulk: float = 20.0, q0: float = 70.0) -> dict:
    stat = lambda mean, sem: {"mean": mean, "sem": sem, "std": sem, "n": 3}  # noqa: E731
    return {"point": point_name(n_atoms, rate), "n_atoms": n_atoms, "cooling_rate_K_per_s": rate,
            "quench_atom_steps_per_replica": n_atoms * 1e13 / rate,
            "stats": {"density_g_cm3": stat(*density), "bulk_modulus_GPa": stat(bulk, 0.5),
                      "shear_modulus_GPa": stat(10.0, 0.3),
                      "qn": {"P": {"0": stat(q0, 1.0), "1": stat(100 - q0, 1.0)}}}}


def test_compare_recommends_the_cheapest_point_that_agrees():
    settings = StudySettings((5e12, 5e13), (300, 1000))
    points = [_point(300, 5e13, (1.80, 0.005)),            # density differs by 0.06
              _point(300, 5e12, (1.855, 0.005)),           # agrees
              _point(1000, 5e13, (1.86, 0.004), bulk=25.0),  # B differs by 25 %
              _point(1000, 5e12, (1.86, 0.004))]           # the reference
    study = compare(points, settings)
    by_name = {p["point"]: p for p in study["points"]}
    assert study["reference"] == "n1000-r5e12"
    assert by_name["n300-r5e13"]["verdict"] == "differs"
    assert by_name["n300-r5e13"]["comparison"]["density_g_cm3"]["delta"] == pytest.approx(-0.06)
    assert by_name["n1000-r5e13"]["comparison"]["bulk_modulus_GPa"]["verdict"] == "differs"
    assert study["recommended"] == "n300-r5e12"


def test_compare_flags_qn_and_falls_back_to_the_reference():
    settings = StudySettings((5e12, 5e13), (300,))
    study = compare([_point(300, 5e13, (1.86, 0.004), q0=60.0), _point(300, 5e12, (1.86, 0.004))], settings)
    fast = study["points"][0]
    assert fast["comparison"]["qn"]["species"] in ("P Q0", "P Q1") and fast["verdict"] == "differs"
    assert study["recommended"] == "n300-r5e12"
    assert "no cheaper point agrees" in study["recommendation"]
