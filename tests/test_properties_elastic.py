"""Elastic workflows: static route through the CLI, MD route at temperature, LAMMPS stress conventions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from ase import units
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.io import read, write
from typer.testing import CliRunner

from thioglass.properties.elastic_static import ElasticSettings, ElasticStep
from thioglass.cli.main import app
from thioglass.errors import ThioglassError
from thioglass.md.engine import make_engine
from thioglass.md.protocol import Protocol, Stage
from thioglass.properties.elastic import (
    ElasticMDSettings,
    ElasticMDStep,
    block_means,
    lammps_frame,
    tensor_to_voigt,
    thermo_stress_GPa,
    voigt_to_tensor,
)

DATA = Path(__file__).parent / "data"
MODEL = str(DATA / "tiny_li3ps4.pb")
LPS = Path(__file__).resolve().parents[1] / "src" / "thioglass" / "data" / "structures" / "Li3PS4_beta-Pnma_mp-985583-r2SCAN.vasp"
EMT_SPEC = "ase:ase.calculators.emt:EMT"
MODULI = ("bulk_modulus_vrh_GPa", "shear_modulus_vrh_GPa", "youngs_modulus_GPa", "poisson_ratio")
runner = CliRunner()


def _rotated_copper(repeat: int = 2):
    """Cubic Cu turned by 30 degrees about (1, 2, 3): a cell far from LAMMPS' lower-triangular form."""
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True) * (repeat, repeat, repeat)
    atoms.rotate(30, (1, 2, 3), rotate_cell=True)
    return atoms


def test_lammps_frame_rotates_cell_and_stress_consistently():
    rng = np.random.default_rng(3)
    atoms = _rotated_copper(1)
    atoms.set_cell(atoms.cell[:] + rng.normal(scale=0.3, size=(3, 3)), scale_atoms=True)
    rotated, Q = lammps_frame(atoms)
    cell = rotated.cell[:]
    assert np.allclose(cell[np.triu_indices(3, 1)], 0.0) and np.all(np.diag(cell) > 0)
    np.testing.assert_allclose(Q @ Q.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(Q) == pytest.approx(1.0)
    np.testing.assert_allclose(rotated.cell.cellpar(), atoms.cell.cellpar(), atol=1e-10)
    np.testing.assert_allclose(rotated.positions, atoms.positions @ Q.T, atol=1e-10)
    # A stress known in the input frame, written as LAMMPS would print it in its own frame.
    sigma = voigt_to_tensor(rng.normal(size=6))
    pressure_bar = -(Q @ sigma @ Q.T) / 1e-4
    thermo = {name: np.array([pressure_bar[i, j]]) for name, (i, j) in
              {"pxx": (0, 0), "pyy": (1, 1), "pzz": (2, 2), "pyz": (1, 2), "pxz": (0, 2), "pxy": (0, 1)}.items()}
    np.testing.assert_allclose(thermo_stress_GPa(thermo, Q)[0], tensor_to_voigt(sigma), atol=1e-12)


def test_lammps_thermo_stress_equals_ase_calculator_stress(tmp_path):
    """Sign, bar->GPa, Voigt order and rotation back from LAMMPS' frame, on a sheared cell."""
    from deepmd.calculator import DP

    atoms = read(LPS)
    strained = atoms.copy()
    strained.set_cell(atoms.cell[:] @ (np.eye(3) + [[0.0, 0.01, 0.02], [0.01, 0.01, 0.015], [0.02, 0.015, -0.01]]),
                      scale_atoms=True)
    rotated, Q = lammps_frame(strained)
    assert not np.allclose(Q, np.eye(3))
    protocol = Protocol((Stage("still", "nvt", 0.002, 1.0, dump_every_ps=0.002),), thermo_every_steps=1)
    result = make_engine(MODEL, threads=1).run(rotated, protocol, tmp_path / "run")
    from_lammps = thermo_stress_GPa(result.stage("still").thermo_table(), Q)[0]  # step 0: the structure given
    strained.calc = DP(model=MODEL)
    from_ase = strained.get_stress(voigt=True) / units.GPa
    # The kinetic term at 1 K (3 N k T / V) is below 1e-3 GPa.
    np.testing.assert_allclose(from_lammps, from_ase, atol=2e-3)


def test_static_route_through_cli_matches_kernel(tmp_path):
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    write(tmp_path / "cu.extxyz", atoms)
    out = tmp_path / "cu.json"
    res = runner.invoke(app, ["elastic", str(tmp_path / "cu.extxyz"), "--json", str(out), "--potential", EMT_SPEC])
    assert res.exit_code == 0, res.output
    got = json.loads(out.read_text())
    direct = ElasticStep(ElasticSettings()).calc(atoms, EMT())
    assert got["route"] == "static" and set(got["routes"]) == {"static"}
    np.testing.assert_allclose(got["C_GPa"], direct["C_GPa"], atol=1e-6)
    for key in MODULI:
        assert got[key] == pytest.approx(direct[key], rel=1e-9)
    assert got["mechanically_stable"]
    summary = json.loads((tmp_path / "cu.summary.json").read_text())
    assert summary["command"] == "elastic" and summary["outputs"]["json"] == str(out)


def test_both_routes_through_cli_agree_at_low_temperature(tmp_path):
    """At 20 K thermal softening and noise are small: C from averaged MD stresses equals the relaxed static C,
    element by element in the input frame (the cell is turned, so the frame bookkeeping is tested)."""
    write(tmp_path / "cu.extxyz", _rotated_copper())
    out = tmp_path / "cu.json"
    args = ["elastic", str(tmp_path / "cu.extxyz"), "--json", str(out), "--potential", EMT_SPEC, "--route", "both",
            "--temperature", "20", "--timestep-fs", "5", "--reference-ps", "3", "--equilibrate-ps", "0.25",
            "--md-ps", "1", "--blocks", "5", "--threads", "1", "--out", str(tmp_path / "md")]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    got = json.loads(out.read_text())
    static, md = got["routes"]["static"], got["routes"]["md"]
    assert got["route"] == "md" and got["C_GPa"] == md["C_GPa"]
    C, C_static, C_err = np.array(md["C_GPa"]), np.array(static["C_GPa"]), np.array(md["C_err_GPa"])
    assert np.abs(C_static).max() > 25.0  # off-diagonal terms of a turned cubic crystal are large
    np.testing.assert_allclose(C, C_static, atol=3.0)  # 1.5 % of C11; measured 1.6 GPa
    assert np.all(C_err > 0) and np.all(C_err < 2.0)
    for key in MODULI:
        assert md[key] == pytest.approx(static[key], rel=0.02)
    assert md["bulk_modulus_vrh_std_GPa"] < 1.0 and md["poisson_ratio_std"] < 0.01
    assert md["reference"]["npt"] and len(md["runs"]) == 12
    assert all(abs(r["temperature_mean_K"] - 20.0) < 8.0 for r in md["runs"])
    # A rerun finds every run finished and does not repeat it.
    done = sorted((tmp_path / "md").glob("*/*/done.json"))
    stamps = [p.stat().st_mtime_ns for p in done]
    assert runner.invoke(app, args).exit_code == 0
    assert len(done) == 13 and [p.stat().st_mtime_ns for p in done] == stamps
    assert json.loads(out.read_text())["C_GPa"] == md["C_GPa"]


@pytest.mark.slow
def test_md_route_with_deepmd_in_lammps_through_cli(tmp_path):
    """The paper's glass route with the tiny model (beta-Li3PS4, 300 K) in LAMMPS through Dask: shapes only.

    The tiny model is not a physical force field: even its static clamped-ion C of this cell has
    negative diagonal elements and its NPT collapses the cell, so signs and sizes are not checked.
    13 LAMMPS runs of ~10 s start-up each: about 2 minutes on 2 cores.
    """
    out = tmp_path / "lps.json"
    res = runner.invoke(app, ["elastic", str(LPS), "--json", str(out), "--potential", MODEL, "--route", "md",
                              "--strain", "0.02", "--reference-ps", "0.2", "--equilibrate-ps", "0.05", "--md-ps", "0.3",
                              "--blocks", "3", "--workers", "2", "--threads", "1", "--out", str(tmp_path / "runs")])
    assert res.exit_code == 0, res.output
    got = json.loads(out.read_text())
    C, C_err = np.array(got["C_GPa"]), np.array(got["C_err_GPa"])
    assert C.shape == (6, 6) and C_err.shape == (6, 6) and np.all(np.isfinite(C)) and np.all(C_err > 0)
    np.testing.assert_allclose(C, C.T)
    assert got["route"] == "md" and set(got["routes"]) == {"md"} and got["reference"]["npt"]
    for key in MODULI:
        assert np.isfinite(got[key])
    assert [r["n_samples"] for r in got["runs"]] == [30] * 12
    assert len(list((tmp_path / "runs").glob("strain_*/00_strained/done.json"))) == 12


def test_bad_input(tmp_path):
    with pytest.raises(ThioglassError, match="strain"):
        ElasticMDSettings(strain=0.2)
    with pytest.raises(ThioglassError, match="n_blocks"):
        ElasticMDSettings(n_blocks=2)
    with pytest.raises(ThioglassError, match="stress samples"):
        ElasticMDSettings(production_ps=0.02, thermo_every_steps=10)
    with pytest.raises(ThioglassError, match="blocks"):
        block_means(np.zeros((2, 6)), 3)
    molecule = bulk("Cu", "fcc", a=3.6, cubic=True)
    molecule.pbc = (True, True, False)
    with pytest.raises(ThioglassError, match="periodic"):
        ElasticMDStep().calc(molecule, make_engine(EMT_SPEC, 1), tmp_path)
    write(tmp_path / "cu.extxyz", bulk("Cu", "fcc", a=3.6, cubic=True))
    res = runner.invoke(app, ["elastic", str(tmp_path / "cu.extxyz"), "--json", str(tmp_path / "x.json"),
                              "--route", "dynamic", "--potential", EMT_SPEC])
    assert isinstance(res.exception, ThioglassError) and "route" in str(res.exception)


def test_md_route_runs_on_until_the_moduli_are_precise_enough(tmp_path):
    """production_max_ps: the 12 strained runs go on together while B or G is less precise than the target."""
    cu = _rotated_copper(repeat=1)
    common = dict(temperature_k=20.0, timestep_fs=5.0, reference_ps=0.0, equilibrate_ps=0.05, production_ps=0.25,
                  thermo_every_steps=5, production_max_ps=0.5)
    never = ElasticMDSettings(**common, target_relative_error=1e-9)  # no run is that precise: it runs to the longest
    result = ElasticMDStep(never).calc(cu, make_engine(EMT_SPEC, 1), tmp_path / "long")
    assert result["production_extensions"] == 1 and result["production_ps"] == pytest.approx(0.5)
    assert result["converged"] is False
    assert all(r["n_samples"] == 20 for r in result["runs"])  # 10 after the equilibration, 10 more in the extension
    assert sorted(p.name for p in (tmp_path / "long" / "strain_1p").iterdir() if p.is_dir()) == ["00_strained",
                                                                                                 "01_strained_2"]
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "long").glob("*/*/done.json")}
    again = ElasticMDStep(never).calc(cu, make_engine(EMT_SPEC, 1), tmp_path / "long")  # resumes: nothing reruns
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps and again["C_GPa"] == result["C_GPa"]
    easy = ElasticMDSettings(**common, target_relative_error=0.5)  # met at once at 20 K: no stage is added
    first = ElasticMDStep(easy).calc(cu, make_engine(EMT_SPEC, 1), tmp_path / "short")
    assert first["converged"] and first["production_extensions"] == 0
    assert not (tmp_path / "short" / "strain_1p" / "01_strained_2").exists()
    with pytest.raises(ThioglassError, match="longest production"):
        ElasticMDSettings(production_ps=1.0, production_max_ps=0.5)
