"""``thioglass quench``: replicas on a Dask cluster, densities, resume, bad input.

The tiny test model is stable only near 300-400 K, so the melt runs at 400 K here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from ase.calculators.lj import LennardJones
from typer.testing import CliRunner

from thioglass.cli.main import app
from thioglass.errors import ThioglassError
from thioglass.io import iter_frames, read_frame
from thioglass.md.protocol import preset
from thioglass.md.quench import DENSITY_SKIP_FRACTION, run_quench

MODEL = str(Path(__file__).parent / "data" / "tiny_li3ps4.pb")
GENTLE = ["--preset", "smoke", "--melt-k", "400", "--final-k", "300", "--melt-ps", "0.05", "--cooling-rate", "2e15",
          "--anneal-ps", "0.05", "--tdamp-ps", "0.02", "--dump-every-ps", "0.01"]
# Masses (g/mol) for an independent density: Li, P, S.
MASS = {"Li": 6.94, "P": 30.973762, "S": 32.06}


class SoftLJ(LennardJones):
    """A cheap, gentle pair potential for bookkeeping tests of the ASE path (not physics)."""

    def __init__(self) -> None:
        super().__init__(sigma=2.0, epsilon=0.01, rc=5.0, smooth=True)


SOFT = f"ase:{__name__}:SoftLJ"


def _mtimes(folder: Path) -> dict[str, float]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def _independent_density(replica: Path, formula_masses_g: float) -> float:
    table = np.loadtxt(replica / "02_anneal" / "thermo.dat", comments="#")
    steps, volume = table[:, 0], table[:, 6]
    window = steps >= DENSITY_SKIP_FRACTION * steps[-1]
    return float(np.mean(formula_masses_g / 6.02214076e23 / (volume[window] * 1e-24)))


@pytest.mark.parametrize("potential", [pytest.param(SOFT, id="soft-lj-ase"),
                                       pytest.param(MODEL, marks=pytest.mark.slow, id="tiny-deepmd-lammps")])
def test_quench_command_runs_replicas_on_a_dask_cluster_and_resumes(tmp_path, potential):
    # The LAMMPS case starts six lmp processes (about 10 s each on 2 busy cores), hence slow.
    out = tmp_path / "glass"
    args = ["quench", "75Li2S-25P2S5", "-o", str(out), *GENTLE, "--replicas", "2", "--threads", "1", "-p", potential]
    result = CliRunner().invoke(app, [*args, "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "mean" in result.output and "density" in result.output
    record = json.loads((out / "quench.json").read_text())
    assert [r["seed"] for r in record["replicas"]] == [1, 2] and not record["failed"]
    densities = []
    for r in record["replicas"]:
        folder = Path(r["folder"])
        final = read_frame(folder / "final.extxyz")
        assert final.get_chemical_formula() == "Li36P12S48" == r["formula"]
        mass = sum(MASS[s] for s in final.get_chemical_symbols())
        assert r["density_g_cm3"] == pytest.approx(_independent_density(folder, mass), rel=1e-3)
        stages = ("00_melt", "01_cool", "02_anneal")
        assert [len(list(iter_frames(next((folder / s).glob("traj.*"))))) for s in stages] == [6, 6, 6]
        densities.append(r["density_g_cm3"])
    assert record["density_g_cm3"]["mean"] == pytest.approx(np.mean(densities))
    assert record["density_g_cm3"]["std"] == pytest.approx(np.std(densities, ddof=1))
    glasses = [read_frame(out / f"replica_{r}" / "glass.extxyz").positions for r in (0, 1)]
    assert not np.allclose(*glasses)  # seeds differ, so do the starting cells
    summary = json.loads((out / "summary.json").read_text())
    assert summary["command"] == "quench" and set(summary["timings_s"]) >= {"replica_0", "replica_1"}

    before = _mtimes(out / "replica_0") | {"1/" + k: v for k, v in _mtimes(out / "replica_1").items()}
    again = CliRunner().invoke(app, [*args, "--workers", "1"])  # in this process: nothing left to run
    assert again.exit_code == 0, again.output
    after = _mtimes(out / "replica_0") | {"1/" + k: v for k, v in _mtimes(out / "replica_1").items()}
    assert after == before, "a finished replica was touched by the rerun"
    assert json.loads((out / "quench.json").read_text())["density_g_cm3"] == record["density_g_cm3"]


def test_rerun_finishes_only_what_is_unfinished(tmp_path):
    settings = preset("smoke", n_atoms=60, replicas=2, melt_k=400, final_k=300, melt_ps=0.05, anneal_ps=0.05,
                      cooling_rate_k_per_s=2e15, dump_every_ps=0.01)
    first = run_quench("75Li2S-25P2S5", settings, SOFT, tmp_path, threads=1)
    assert [r["engine"] for r in first.replicas] == ["ase", "ase"]
    frames = [a.info["timestep"] for a in iter_frames(tmp_path / "replica_1" / "02_anneal" / "traj.extxyz")]
    assert frames == list(range(0, 51, 10))
    # Replica 1 "was killed" during its last stage: that stage and the replica record are gone.
    (tmp_path / "replica_1" / "replica.json").unlink()
    (tmp_path / "replica_1" / "02_anneal" / "done.json").unlink()
    (tmp_path / "replica_1" / "02_anneal" / "final.extxyz").unlink()
    kept = _mtimes(tmp_path / "replica_0")
    kept_stage = (tmp_path / "replica_1" / "01_cool" / "done.json").stat().st_mtime_ns
    seen = []
    second = run_quench("75Li2S-25P2S5", settings, SOFT, tmp_path, threads=1, progress=lambda *a: seen.append(a))
    assert _mtimes(tmp_path / "replica_0") == kept
    assert (tmp_path / "replica_1" / "01_cool" / "done.json").stat().st_mtime_ns == kept_stage
    assert (tmp_path / "replica_1" / "02_anneal" / "done.json").exists()
    assert {a[0] for a in seen} == {1} and seen[-1][1:] == ("anneal", 50, 50)
    assert second.density_summary()["n_replicas"] == 2
    # one thermo sample in the 50-step anneal (every 100 steps): too few to judge convergence
    assert [r["density_converged"] for r in second.replicas] == [None, None]
    assert second.to_json()["density_converged"] is None
    with pytest.raises(ThioglassError, match="another composition"):
        run_quench("75Li2S-25P2S5", preset("smoke", n_atoms=80, replicas=1), SOFT, tmp_path)
    with pytest.raises(ThioglassError, match="too few|formula unit"):
        run_quench("75Li2S-25P2S5", preset("smoke", n_atoms=3, replicas=1), SOFT, tmp_path / "tiny")




@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["80Li2S-30P2S5", "-p", MODEL], "sum"),
        (["75Li2S-25P2S5", "--preset", "turbo", "-p", MODEL], "unknown preset"),
        (["75Li2S-25P2S5", "-p", "missing.pb"], "does not exist"),
        (["75Li2S-25P2S5", "-p", "gfn2"], "unknown potential"),
        (["75Li2S-25P2S5", "--melt-ps", "-1", "-p", MODEL], "positive"),
        (["75Li2S-25P2S5", "--replicas", "0", "-p", MODEL], "at least one replica"),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(tmp_path, args, message, cli):
    code, err = cli("quench", *args, "-o", str(tmp_path / "out"))
    assert code == 2 and err.startswith("Error:") and "\n" not in err and message in err
    assert not (tmp_path / "out").exists()


def test_without_a_bundled_model_the_potential_is_required(monkeypatch, tmp_path, cli):
    monkeypatch.setattr("thioglass.potential.bundled_model_path", lambda: tmp_path / "none.pb")
    code, err = cli("quench", "75Li2S-25P2S5", "-o", str(tmp_path / "out"))
    assert code == 2 and "no default model" in err and "--potential" in err
