"""``thioglass domain``: the grid, and the resume of a killed scan (the MD of each composition replaced by
synthetic deviation files, so these run in seconds)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from thioglass.errors import ThioglassError
from thioglass.mlff.ensemble import DEVIATION_FILE
from thioglass.paper.values import GLASSES
from thioglass.workflow import domain as domain_module
from thioglass.workflow.domain import composition_grid, domain_preset, scan_domain
from thioglass.workflow.domain_map import read_map

MODEL = Path(__file__).parent / "data" / "tiny_li3ps4.pb"


def test_coarse_grid_covers_the_triangle_and_the_papers_glasses():
    labels, skipped = composition_grid(domain_preset("coarse"))
    assert not skipped and len(labels) == len(set(labels)) == 25
    assert set(GLASSES) <= set(labels)
    from thioglass.composition import parse_composition

    on_grid = [parse_composition(label) for label in labels if label not in GLASSES]
    assert len(on_grid) == 20  # 6 + 5 + 4 + 3 + 2 points for Li2S = 0, 20, 40, 60, 80 mol %
    for c in on_grid:
        assert c.li2s <= 80 and all(abs(v / 20 - round(v / 20)) < 1e-9 for v in c.mol_percent.values())


def test_grid_leaves_out_what_cannot_be_built_and_refuses_a_bad_step():
    labels, skipped = composition_grid(domain_preset("coarse", n_atoms=40))
    assert "60Li2S-32SiS2-8P2S5" in skipped and "60Li2S-32SiS2-8P2S5" not in labels  # 83 atoms at the least
    assert "too few" in skipped["60Li2S-32SiS2-8P2S5"]
    with pytest.raises(ThioglassError, match="divide 100"):
        domain_preset("coarse", step_mol_percent=15)


def _fake_md(calls: list[str], kill_at: str | None = None):
    """Replace the MD of one composition: write a deviation file per stage, as the engines do."""

    def run_md(self, progress):
        if self.composition == kill_at:
            raise KeyboardInterrupt
        calls.append(self.composition)
        folders = []
        for name in ("melt", "cool", "anneal", "hold_650"):
            folder = self.folder / name
            folder.mkdir(parents=True, exist_ok=True)
            high = 0.5 if self.composition.startswith("100") and name == "melt" else 0.1
            rows = "".join(f"{10 * k} 0 0 0 {high if k % 3 == 0 else 0.05} 0 0\n" for k in range(30))
            (folder / DEVIATION_FILE).write_text("# step ...\n" + rows)
            folders.append((name, folder))
        return {"n_atoms": 60, "formula": "x", "density_g_cm3": 1.9}, folders

    return run_md


def test_a_killed_scan_resumes_without_redoing_finished_compositions(tmp_path, monkeypatch):
    member = tmp_path / "member.pb"
    shutil.copy(MODEL, member)
    settings = domain_preset("smoke")
    labels = composition_grid(settings)[0]
    calls: list[str] = []
    monkeypatch.setattr(domain_module.DomainJob, "_run_md", _fake_md(calls, kill_at=labels[3]))
    out = tmp_path / "scan"
    with pytest.raises(KeyboardInterrupt):
        scan_domain(settings, str(MODEL), out, ensemble=(str(member),))
    assert calls == labels[:3]
    monkeypatch.setattr(domain_module.DomainJob, "_run_md", _fake_md(calls))
    result = scan_domain(settings, str(MODEL), out, ensemble=(str(member),))
    assert calls == labels  # the first three were not run again
    assert [p["composition"] for p in result["points"]] == labels
    verdicts = {p["composition"]: p["verdict"] for p in result["points"]}
    assert verdicts["100P2S5"] == "outside" and verdicts["50Li2S-50P2S5"] == "trusted"
    assert result["counts"]["outside"] == 3 and result["model"]["ensemble"][0]["file"] == "member.pb"
    assert read_map(out / "domain.json")["points"] == json.loads(json.dumps(result["points"]))
    assert (out / "domain-map.png").is_file() and (out / "domain-map.svg").is_file()
    with pytest.raises(ThioglassError, match="another composition, potential or settings"):
        scan_domain(domain_preset("smoke", n_atoms=70), str(MODEL), out, ensemble=(str(member),))


def test_a_potential_without_an_ensemble_is_one_line(tmp_path, cli):
    code, err = cli("domain", "-o", str(tmp_path / "scan"), "--preset", "smoke", "-p", str(MODEL))
    assert code == 2 and "no ensemble" in err and "\n" not in err
    code, err = cli("domain", "-o", str(tmp_path / "scan"), "--preset", "smoke", "-p", "sevennet-0")
    assert code == 2 and "not a DeePMD model" in err


@pytest.mark.slow
def test_one_composition_through_lammps_records_every_stage(tmp_path):
    # The tiny test model is stable only near 300-400 K; its seed-2 twin is the ensemble member.
    from thioglass.workflow.domain import DomainJob

    member = Path(__file__).parent / "data" / "tiny_li3ps4_seed2.pb"
    settings = domain_preset("smoke", melt_k=400.0, hot_k=350.0, n_atoms=64, deviation_every_steps=5)
    job = DomainJob("75Li2S-25P2S5", settings, str(MODEL), (str(member),), str(tmp_path))
    point = job.run()
    assert "failed" not in point, point.get("failed")
    assert list(point["stages"]) == ["melt", "cool", "anneal", "hold_350"]
    melt = point["stages"]["melt"]
    assert melt["n_frames"] == 11 and melt["every_steps"] == 5 and melt["max_eV_A"] > 0  # steps 0, 5, ..., 50
    assert point["verdict"] in ("trusted", "uncertain", "outside") and point["n_atoms"] == 64
    assert job.read_progress()[0] == job.read_progress()[1]
    assert json.loads((tmp_path / "75Li2S-25P2S5" / "point.json").read_text()) == json.loads(json.dumps(point))


def test_domain_command_prints_each_verdict_and_the_table(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from thioglass.cli.main import app

    member = tmp_path / "member.pb"
    shutil.copy(MODEL, member)
    calls: list[str] = []
    monkeypatch.setattr(domain_module.DomainJob, "_run_md", _fake_md(calls))
    args = ["domain", "-o", str(tmp_path / "scan"), "--preset", "smoke", "-p", str(MODEL), "--ensemble", str(member)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "6 compositions, 60 atoms each" in result.output and "100SiS2: outside" in result.output
    assert "3 trusted, 0 uncertain, 3 outside" in result.output and len(calls) == 6
    rerun = CliRunner().invoke(app, args)  # everything finished: read back, nothing run again
    assert rerun.exit_code == 0 and len(calls) == 6 and "3 trusted" in rerun.output
