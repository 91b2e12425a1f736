"""``thioglass run`` and ``thioglass validate``: the pipeline end to end, resume, disk space, paper tables.

The end-to-end runs use the tiny DeePMD test model, stable only near 300-400 K, so the melt is at
400 K and the conductivity temperatures are 300-375 K; the fast test runs it in-process through
ASE MD (``ase:test_workflow:tiny_dp``), the slow one through LAMMPS on a Dask cluster.
"""

from __future__ import annotations

import errno
import json
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from thioglass.cli.main import app
from thioglass.elements import EV_TO_KJ_MOL
from thioglass.errors import ThioglassError
from thioglass.workflow import run_glass, run_settings
from thioglass.paper.values import (ENVIRONMENT_REFERENCES, GLASSES, TABLE5_SI_JOINT, Reference, glass_key,
                                    references_for)

MODEL = str(Path(__file__).parent / "data" / "tiny_li3ps4.pb")
TINY_DP = f"ase:{__name__}:tiny_dp"
GENTLE = ["quench.melt_k=400", "quench.final_k=300", "quench.melt_ps=0.05", "quench.cooling_rate_k_per_s=2e15",
          "quench.anneal_ps=0.1", "quench.tdamp_ps=0.02", "quench.dump_every_ps=0.01",
          "conductivity.temperatures_k=300,325,350,375", "lattice.temperature_k=300"]
STAGE_FILES = ("quench.json", "structure.json", "elastic.json", "conductivity.json", "rotation.json")


def tiny_dp():
    """The tiny test model as an in-process ASE calculator (DeePMD's TF backend loads lazily)."""
    from deepmd.calculator import DP

    return DP(model=MODEL)


def _args(out: Path, *extra: str) -> list[str]:
    sets = [x for item in GENTLE for x in ("--set", item)]
    return ["run", "75Li2S-25P2S5", "--preset", "smoke", "-p", TINY_DP, "-o", str(out), "-t", "1", *sets, *extra]


def _mtimes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "glass"
    result = CliRunner().invoke(app, _args(out))
    assert result.exit_code == 0, result.output
    assert "paper (dev.)" in result.output and "report.html" in result.output
    return out


def test_run_writes_results_summary_and_report(smoke_run):
    results = json.loads((smoke_run / "results.json").read_text())
    quench = json.loads((smoke_run / "quench.json").read_text())
    # The density is the quench's (thermo over the final NPT window), with the spread over replicas.
    assert results["density_g_cm3"] == pytest.approx(quench["density_g_cm3"]["mean"])
    assert 1.0 < results["density_g_cm3"] < 3.0 and results["density_std_g_cm3"] == 0.0
    assert results["formula"] == "Li36P12S48" and results["n_replicas"] == 1
    assert sum(results["qn"]["P"].values()) == pytest.approx(100.0)
    assert sum(results["en"]["P"].values()) == pytest.approx(100.0)
    elastic = results["elastic"]
    assert {"C_GPa", "bulk_modulus_vrh_GPa", "shear_modulus_vrh_GPa", "youngs_modulus_GPa", "poisson_ratio"} <= set(elastic)
    c = np.array(elastic["C_GPa"])
    assert c.shape == (6, 6) and np.isfinite(c).all()
    cond = results["conductivity"]
    assert {"sigma_300K_mS_cm", "activation_energy_eV"} <= set(cond)
    assert [row["temperature_K"] for row in cond["temperatures"]] == [300, 325, 350, 375]
    assert all(row["n_frames"] == 11 for row in cond["temperatures"])  # 0.1 ps dumped every 0.01 ps
    assert results["rotation"]["temperature_K"] == 300 and "table" not in results["rotation"]
    # The smoke preset converges nothing, and the run says so value by value (issue 17).
    verdicts = {row["quantity"]: row["converged"] for row in results["convergence"]["values"]}
    assert len(verdicts) == 3 + len(cond["temperatures"]) + 1 and results["convergence"]["all_converged"] is not True
    assert verdicts["Ea and σ(300 K)"] is (cond["arrhenius"] is not None and all(t["diffusive"] for t in cond["temperatures"]))
    summary = json.loads((smoke_run / "summary.json").read_text())
    assert set(summary["timings_s"]) == {"quench", "structure", "elastic", "conductivity", "rotation", "report", "build"}
    assert summary["command"] == "run" and "numpy" in summary["versions"]
    html = (smoke_run / "report.html").read_text()
    assert html.count("<img") == len(list((smoke_run / "plots").glob("*.png"))) >= 8
    assert html.count('src="data:image/png;base64,') == html.count("<img")
    assert "http://" not in html and "https://" not in html


def test_structure_is_averaged_over_the_final_npt_window(smoke_run):
    from thioglass.analysis.structure import StructureAnalysis
    from thioglass.io import iter_frames

    structure = json.loads((smoke_run / "structure.json").read_text())
    trajectory = Path(structure["replicas"][0]["trajectory"])
    assert trajectory.parent.name == "02_anneal"
    # 0.1 ps dumped every 10 steps; the window starts at 20 % of the stage: steps 20..100.
    frames = [a for a in iter_frames(trajectory) if a.info["timestep"] >= 20]
    assert structure["n_frames"] == len(frames) == 9
    independent = StructureAnalysis()
    for atoms in frames:
        independent.compute(atoms)
    expected = independent.result()
    for n, pct in expected["qn"]["P"].items():
        assert structure["qn"]["P"][n] == pytest.approx(pct)
    assert np.allclose(structure["rdf"]["total"], expected["rdf"]["total"])


def test_comparison_puts_the_paper_and_experiment_beside_ours(smoke_run):
    results = json.loads((smoke_run / "results.json").read_text())
    rows = {(r["key"], r["kind"]): r for r in results["comparison"]}
    density = results["density_g_cm3"]
    assert rows[("density_g_cm3", "paper")]["reference"] == 1.85
    assert rows[("density_g_cm3", "experiment")]["deviation"] == pytest.approx(density - 1.88)
    assert rows[("density_g_cm3", "experiment")]["deviation_percent"] == pytest.approx(100 * (density - 1.88) / 1.88)
    bulk = results["elastic"]["bulk_modulus_vrh_GPa"]
    assert rows[("bulk_modulus_vrh_GPa", "experiment")]["deviation"] == pytest.approx(bulk - 20.9)
    assert rows[("qn.P.0", "paper")]["ours"] == pytest.approx(results["qn"]["P"]["0"])


def test_resume_redoes_only_the_missing_stage(smoke_run, monkeypatch):
    before = _mtimes(smoke_run)
    (smoke_run / "rotation.json").unlink()
    result = CliRunner().invoke(app, _args(smoke_run))
    assert result.exit_code == 0, result.output
    after = _mtimes(smoke_run)
    changed = {name for name in before if name in after and after[name] != before[name]}
    assert "rotation.json" in after
    assert changed <= {"rotation.json", "results.json", "summary.json", "report.html", "job.json"} | {
        n for n in before if n.startswith("plots/")}
    summary = json.loads((smoke_run / "summary.json").read_text())
    assert summary["inputs"]["stages_read_from_disk"] == ["quench", "structure", "elastic", "conductivity"]

    # A full disk while a stage writes: one line saying how much is needed, finished stages kept.
    from thioglass.workflow import stages

    def full_disk(ctx):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setitem(stages.STAGES, "rotation", full_disk)
    (smoke_run / "rotation.json").unlink()
    kept = {name: (smoke_run / name).read_bytes() for name in STAGE_FILES[:-1]}
    settings = run_settings("smoke", GENTLE)
    with pytest.raises(ThioglassError, match="is full; this run needs about .* more"):
        run_glass("75Li2S-25P2S5", settings, TINY_DP, smoke_run, threads=1)
    assert {name: (smoke_run / name).read_bytes() for name in kept} == kept
    assert not (smoke_run / "rotation.json").exists() and not list(smoke_run.glob("*.tmp"))
    # Other settings in the same folder are refused before any work.
    with pytest.raises(ThioglassError, match="another composition, potential or settings"):
        run_glass("75Li2S-25P2S5", run_settings("smoke", GENTLE, seed=7), TINY_DP, smoke_run, threads=1)


def test_too_little_free_disk_is_refused_before_any_work(tmp_path, monkeypatch):
    from thioglass.workflow import run as run_module

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(run_module.shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 10**6, 10**6))
    out = tmp_path / "out"
    with pytest.raises(ThioglassError, match=r"not enough disk space .* needs about [\d.]+ MB and 976.6 KB is free"):
        run_glass("75Li2S-25P2S5", run_settings("smoke", GENTLE), TINY_DP, out)
    assert not out.exists()


def test_disk_estimate_scales_with_the_trajectories():
    from thioglass.workflow.run import FIXED_BYTES, estimate_disk_bytes

    paper = run_settings("paper")
    # 5 replicas x (250 + 280 + 100) ps at 1 frame/ps, 4500 atoms; conductivity 6 x 1 ns + 5 + 15 ns.
    quench = estimate_disk_bytes(paper, ["quench"]) - FIXED_BYTES
    assert quench == pytest.approx(1.25 * 5 * (250 + 280 + 100 + 3) * 4500 * 120, rel=1e-6)
    conductivity = estimate_disk_bytes(paper, ["conductivity"]) - FIXED_BYTES
    assert conductivity == pytest.approx(1.25 * (6 * 1000 + 5000 + 15000 + 8 * 12) * 4500 * 120, rel=1e-6)
    assert estimate_disk_bytes(paper, []) == FIXED_BYTES




@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "75Li2S-25XyS2", "-p", MODEL], "unknown component"),
        (["run", "80Li2S-30P2S5", "-p", MODEL], "sum to 110"),
        (["run", "75Li2S-25P2S5", "-p", "missing.pb"], "does not exist"),
        (["run", "75Li2S-25P2S5", "-p", "gfn2"], "unknown potential"),
        (["run", "75Li2S-25P2S5", "-p", MODEL, "--preset", "turbo"], "unknown preset"),
        (["run", "75Li2S-25P2S5", "-p", MODEL, "--skip", "quench"], "cannot skip quench"),
        (["run", "75Li2S-25P2S5", "-p", MODEL, "--set", "quench.nope=1"], "unknown setting 'quench.nope'"),
        (["run", "75Li2S-25P2S5", "-p", MODEL, "--set", "quench.melt_k=hot"], "cannot read 'hot'"),
        (["run", "75Li2S-25P2S5", "-p", MODEL, "--set", "melt_k"], "section.field=value"),
        (["run", "75Li2S-25P2S5", "-p", MODEL, "-T", "300"], "two different positive temperatures"),
        (["validate", "-p", "missing.pb"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(tmp_path, args, message, cli):
    code, err = cli(*args, "-o", str(tmp_path / "out"))
    assert code == 2 and err.startswith("Error:") and "\n" not in err and message in err
    assert not (tmp_path / "out").exists()


def test_without_a_bundled_model_the_potential_is_required(monkeypatch, tmp_path, cli):
    monkeypatch.setattr("thioglass.potential.bundled_model_path", lambda: tmp_path / "none.pb")
    code, err = cli("run", "75Li2S-25P2S5", "-o", str(tmp_path / "out"))
    assert code == 2 and "no default model" in err and "--potential" in err


def test_presets_define_every_stage_and_take_overrides():
    paper = run_settings("paper")
    plan = paper.conductivity
    assert plan.temperatures_k == tuple(float(t) for t in range(300, 651, 50))
    assert [plan.production_ps_at(t) for t in (300, 350, 400, 650)] == [15000, 5000, 1000, 1000]
    assert paper.quench.n_atoms == 4500 and paper.quench.replicas == 5 and paper.rotation.window_ps == 30
    for name in ("quick", "smoke"):
        s = run_settings(name)
        assert len(s.conductivity.temperatures_k) >= 4 and s.elastic.production_ps > 0
        # Every conductivity run gives enough frames for the MSD.
        assert all(s.conductivity.settings_at(t).production_ps / s.conductivity.dump_every_ps >= 8
                   for t in s.conductivity.temperatures_k)
    s = run_settings("quick", {"quench.final_k": 350.0, "conductivity.long_runs": "400,10"}, seed=5)
    assert s.elastic.temperature_k == 350.0  # elastic constants at the glass's final temperature
    assert s.conductivity.production_ps_at(400) == 10
    assert s.conductivity.production_ps_at(450) == s.conductivity.production_ps == run_settings("quick").conductivity.production_ps
    assert s.quench.seed == s.elastic.seed == s.conductivity.seed == s.lattice.seed == 5
    assert run_settings("quick", ["elastic.temperature_k=400", "quench.final_k=350"]).elastic.temperature_k == 400
    assert run_settings("smoke", ["rotation.origin_stride_ps=0.02"]).rotation.origin_stride_ps == 0.02


def test_paper_tables_match_the_five_glasses():
    assert all(glass_key(label) == label for label in GLASSES)
    assert glass_key("66.7Li2S-33.3P2S5") == "67Li2S-33P2S5" and glass_key("80Li2S-20P2S5") is None

    def values(label, key, kind):
        return [r.value if r.value is not None else (r.low, r.high) for r in references_for(label)[key] if r.kind == kind]

    bulk = {label: values(label, "bulk_modulus_vrh_GPa", "paper")[0] for label in GLASSES}
    assert bulk == {"50Li2S-50SiS2": 19.42, "67Li2S-33P2S5": 14.98, "70Li2S-30P2S5": 16.66, "75Li2S-25P2S5": 18.61,
                    "60Li2S-32SiS2-8P2S5": 19.87}
    assert values("70Li2S-30P2S5", "density_g_cm3", "paper") == [1.88]
    assert values("70Li2S-30P2S5", "density_g_cm3", "experiment") == [1.91]
    assert values("67Li2S-33P2S5", "youngs_modulus_GPa", "experiment") == [22.1]
    assert values("75Li2S-25P2S5", "sigma_300K_mS_cm", "experiment") == [(0.3, 1.0)]
    assert values("67Li2S-33P2S5", "D_300K_cm2_s", "paper") == [2.51e-8]
    assert values("60Li2S-32SiS2-8P2S5", "sigma_300K_mS_cm", "experiment") == [1.0, 0.7]
    assert values("50Li2S-50SiS2", "activation_energy_eV", "paper")[0] * EV_TO_KJ_MOL == pytest.approx(25.0)
    assert values("60Li2S-32SiS2-8P2S5", "activation_energy_eV", "experiment")[1] * EV_TO_KJ_MOL == pytest.approx(34.7)
    assert values("60Li2S-32SiS2-8P2S5", "qn.Si.2", "experiment") == [22.7]
    assert values("50Li2S-50SiS2", "en.Si.1", "paper") == [65.2]
    for label, former in (("50Li2S-50SiS2", "Si"), ("67Li2S-33P2S5", "P"), ("70Li2S-30P2S5", "P"),
                          ("75Li2S-25P2S5", "P"), ("60Li2S-32SiS2-8P2S5", "Si"), ("60Li2S-32SiS2-8P2S5", "P")):
        for kind in ("qn", "en"):
            total = sum(values(label, f"{kind}.{former}.{n}", "paper")[0] for n in range(5)
                        if f"{kind}.{former}.{n}" in references_for(label))
            assert total == pytest.approx(100.0, abs=0.15), (label, former, kind)


def test_detailed_environment_tables_agree_with_table_7():
    # Tables S1/S2 (populations by n, E^n, P-S-X, P-X) summed over classes give Table 7's Q^n and E^n.
    refs = references_for("60Li2S-32SiS2-8P2S5")
    for former, table in ENVIRONMENT_REFERENCES["60Li2S-32SiS2-8P2S5"].items():
        assert sum(table.values()) == pytest.approx(100.0, abs=0.05)
        for position, kind in ((0, "qn"), (1, "en")):
            for n in range(3 if kind == "en" else 5):
                marginal = sum(p for key, p in table.items() if key[position] == n)
                paper = next(r.value for r in refs[f"{kind}.{former}.{n}"] if r.kind == "paper")
                assert marginal == pytest.approx(paper, abs=0.1), (former, kind, n)
    assert sum(TABLE5_SI_JOINT.values()) == pytest.approx(100.0, abs=0.15)


def test_reference_deviation_of_values_and_ranges():
    assert Reference(1.85, "paper", "x").deviation(2.0) == pytest.approx((0.15, 100 * 0.15 / 1.85))
    quoted = Reference(None, "experiment", "x", 0.3, 1.0)
    assert quoted.deviation(0.5) == (0.0, 0.0)
    assert quoted.deviation(2.0) == pytest.approx((1.0, 100.0))
    assert quoted.deviation(0.15) == pytest.approx((-0.15, -50.0))


def test_validate_runs_a_glass_and_the_lattice(tmp_path):
    out = tmp_path / "validation"
    sets = [x for item in GENTLE for x in ("--set", item)]
    result = CliRunner().invoke(app, ["validate", "--preset", "smoke", "-p", TINY_DP, "-o", str(out), "-t", "1",
                                      "--glass", "75Li2S-25P2S5", "--skip", "elastic,conductivity,rotation", *sets])
    assert result.exit_code == 0, result.output
    validation = json.loads((out / "validation.json").read_text())
    assert [g["composition"] for g in validation["glasses"]] == ["75Li2S-25P2S5"]
    assert (out / "75Li2S-25P2S5" / "report.html").exists()
    lattice = validation["lattice"]
    assert lattice["n_atoms"] == 50 and lattice["n_samples"] == 16  # 0.08 ps sampled every 5 steps
    rows = {(r["key"], r["kind"]): r for r in lattice["comparison"]}
    assert rows[("a_angstrom", "experiment")]["deviation"] == pytest.approx(lattice["a_angstrom"] - 8.651)
    assert rows[("c_angstrom", "paper")]["reference"] == 12.5104
    # A flexible cell: a and c move independently of their starting ratio.
    assert lattice["c_angstrom"] / lattice["a_angstrom"] != pytest.approx(12.5095 / 8.651, abs=1e-6)
    html = (out / "validation.html").read_text()
    assert "Li<sub>10</sub>SiP<sub>2</sub>S<sub>12</sub>" in html and "75Li2S-25P2S5/report.html" in html
    # Elastic and conductivity skipped: their values cannot be told converged, and the page says so.
    convergence = validation["glasses"][0]["convergence"]
    assert convergence["all_converged"] is None and "75Li2S-25P2S5/report.html#convergence" in html


@pytest.mark.slow
def test_run_with_lammps_on_a_dask_cluster(tmp_path):
    # The .pb path: every stage's MD in LAMMPS (an lmp process per stage, about 10 s each on 2 cores).
    out = tmp_path / "glass"
    args = _args(out, "--workers", "2", "--replicas", "2")
    args[args.index("-p") + 1] = MODEL
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    assert results["n_replicas"] == 2 and results["density_std_g_cm3"] > 0
    assert len(results["elastic"]["runs"]) == 12 and len(results["conductivity"]["temperatures"]) == 4
    assert Path(results["conductivity"]["temperatures"][0]["trajectory"]).name == "traj.dump"


def test_environment_tables_line_up_with_the_paper():
    from thioglass.paper.compare import environment_rows, joint_rows

    ours = [{"n": 0, "en": 0, "bridged": [], "direct": ["P"], "percent": 10.0, "percent_std": 1.0, "count": 3},
            {"n": 1, "en": 0, "bridged": ["Si", "P"], "direct": [], "percent": 90.0, "percent_std": 1.0, "count": 27}]
    rows = environment_rows("60Li2S-32SiS2-8P2S5", "P", ours)
    by_key = {(r["n"], r["en"], tuple(r["bridged"]), tuple(r["direct"])): r for r in rows}
    assert by_key[(0, 0, (), ("P",))]["paper_percent"] == 8.98  # P2S6^4-: Table S1
    assert by_key[(1, 0, ("Si", "P"), ())]["paper_percent"] is None  # not in the paper's table
    assert by_key[(0, 0, (), ())] == {**by_key[(0, 0, (), ())], "percent": 0.0, "paper_percent": 60.78}
    assert len(rows) == 15 + 1  # every row of Table S1, plus ours that it lacks
    assert environment_rows(None, "P", ours)[0]["paper_percent"] is None
    joint = {(r["n"], r["en"]): r for r in joint_rows("50Li2S-50SiS2", "Si", [{**ours[0], "percent": 100.0}])}
    assert joint[(0, 0)]["percent"] == 100.0 and joint[(2, 1)] == {"n": 2, "en": 1, "percent": 0.0, "paper_percent": 41.9}


def test_quick_takes_the_static_elastic_route_and_overrides_switch_it():
    assert run_settings("quick").elastic_route == "static" and run_settings("paper").elastic_route == "md"
    s = run_settings("quick", ["elastic_route=md", "elastic_static.fmax_eV_per_angstrom=0.02"])
    assert s.elastic_route == "md" and s.elastic_static.fmax_eV_per_angstrom == 0.02
    with pytest.raises(ThioglassError, match="elastic_route 'nve' is unknown"):
        run_settings("quick", ["elastic_route=nve"])


def test_static_elastic_stage_gives_a_stable_glass_with_moduli_and_renders(tmp_path):
    """The static route on the smoke glass: a stable tensor, Hill moduli between the bounds, no error bars."""
    out = tmp_path / "static"
    settings = run_settings("smoke", GENTLE + ["elastic_route=static", "elastic_static.fmax_eV_per_angstrom=0.1"],
                            seed=3)
    results = run_glass("75Li2S-25P2S5", settings, TINY_DP, out, threads=1, skip=["conductivity", "rotation"])
    e = results["elastic"]
    assert e["route"] == "static" and e["temperature_K"] == 0.0
    assert e["bulk_modulus_reuss_GPa"] <= e["bulk_modulus_vrh_GPa"] <= e["bulk_modulus_voigt_GPa"]
    assert e["shear_modulus_reuss_GPa"] <= e["shear_modulus_vrh_GPa"] <= e["shear_modulus_voigt_GPa"]
    assert "bulk_modulus_vrh_std_GPa" not in e
    page = (out / "report.html").read_text()
    assert "Static route at 0 K" in page


def test_native_stderr_goes_to_the_log_and_comes_back(tmp_path, capfd):
    import os

    from thioglass.properties.elastic_static import native_stderr_to

    with native_stderr_to(tmp_path / "calc.log"):
        os.write(2, b"I0000 oneDNN noise\n")
    os.write(2, b"after\n")
    assert (tmp_path / "calc.log").read_bytes() == b"I0000 oneDNN noise\n"
    assert capfd.readouterr().err == "after\n"


def _flat_keys(value, prefix: str = ""):
    """Dotted keys of a JSON tree; a list of records adds ``[]`` and is entered, other lists are leaves."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _flat_keys(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        for item in value:
            yield from _flat_keys(item, prefix + "[]")
    else:
        yield prefix


def _documented_keys() -> list[tuple[str, str, str]]:
    """(key pattern, computed by, when) of every table row of docs/results.md."""
    import re

    text = (Path(__file__).parent.parent / "docs" / "results.md").read_text()
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if len(cells) == 5 and re.fullmatch(r"`[^`]+`", cells[0]):
            rows.append((cells[0].strip("`"), cells[3], cells[4]))
    return rows


def _pattern(key: str):
    import re

    regex = "".join(".*" if part == "**" else "[^.]+" if part == "*" else re.escape(part)
                    for part in re.split(r"(\*\*|\*)", key))
    return re.compile(regex.replace(r"\..*", r"(\..*)?") + r"\Z")


def test_results_document_lists_exactly_the_keys_a_run_writes(smoke_run):
    import importlib
    import re

    written = set(_flat_keys(json.loads((smoke_run / "results.json").read_text())))
    rows = _documented_keys()
    patterns = [(key, _pattern(key), when) for key, _, when in rows]
    undocumented = sorted(k for k in written if not any(p.match(k) for _, p, _ in patterns))
    assert not undocumented, f"results.json keys missing from docs/results.md: {undocumented}"
    stale = sorted(key for key, p, when in patterns if not when and not any(p.match(k) for k in written))
    assert not stale, f"docs/results.md lists keys a run does not write: {stale}"
    for _, source, _ in rows:  # every "computed by" name leads to code
        for name in re.findall(r"`([^`]+)`", source):
            parts = name.split(".")
            for split in range(len(parts), 0, -1):
                try:
                    target = importlib.import_module(".".join(parts[:split]))
                except ImportError:
                    continue
                for attribute in parts[split:]:
                    target = getattr(target, attribute)
                break
            else:
                raise AssertionError(f"{name} in docs/results.md is not importable")
