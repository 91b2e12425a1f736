"""Paddle-wheel workflow: a synthetic LAMMPS dump in which one tetrahedron turns and its Li move away."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from scipy.spatial.transform import Rotation
from typer.testing import CliRunner

from thioglass.cli.main import app
from thioglass.errors import ThioglassError
from thioglass.io.lammps_dump import dump_frame_text
from thioglass.properties.rotation import RotationSettings, analyse_rotation

runner = CliRunner()
#: Regular tetrahedron, 2.05 Å bonds.
TET = 2.05 / np.sqrt(3) * np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float)
STRIDE = 100  # MD steps (1 fs) between frames: 0.1 ps
OMEGA_DEG_PS = 15.0  # turning rate of the paddle-wheel unit
LI_TURN_DEG_PS = 60.0  # the Li next to it circles the centre at 3.2 Å: a 3.2 Å chord per 1 ps window
LI_CHORD_A = 2 * 3.2 * np.sin(np.radians(LI_TURN_DEG_PS / 2))


def _trajectory(path: Path, n_frames: int = 31, seed: int = 0) -> int:
    """Eight units on a 2x2x2 grid in a 20 Å box (unit 0 a SiS4, the rest PS4), one Li 3.2 Å from each
    centre. Unit 0 turns steadily about a fixed axis and its Li runs off; the others only jiggle.
    Returns the atom index of the turning unit's centre."""
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.arange(2)] * 3, indexing="ij"), -1).reshape(-1, 3)
    centres = 5.0 + grid * 10.0
    li_sites = centres + [0.0, 0.0, 3.2]
    axis = np.array([1.0, 2.0, 2.0]) / 3.0
    with open(path, "w") as handle:
        for k in range(n_frames):
            t_ps = k * STRIDE / 1000.0
            symbols, positions = [], []
            for unit, centre in enumerate(centres):
                if unit == 0:
                    R = Rotation.from_rotvec(np.radians(OMEGA_DEG_PS * t_ps) * axis).as_matrix()
                else:
                    R = Rotation.from_rotvec(np.radians(0.5) * rng.normal(size=3)).as_matrix()
                symbols += ["Si" if unit == 0 else "P"] + ["S"] * 4
                positions += [centre, *(centre + TET @ R.T)]
            li = li_sites + rng.normal(scale=0.05, size=li_sites.shape)
            phi = np.radians(LI_TURN_DEG_PS * t_ps)
            li[0] = centres[0] + 3.2 * np.array([np.sin(phi), 0.0, np.cos(phi)])
            atoms = Atoms(symbols + ["Li"] * len(li), positions=np.vstack([positions, li]), cell=np.eye(3) * 20.0,
                          pbc=True)
            atoms.wrap()
            handle.write(dump_frame_text(atoms, timestep=k * STRIDE))
    return 0


def test_cli_finds_the_turning_unit_and_the_li_next_to_it(tmp_path):
    centre = _trajectory(tmp_path / "traj.dump")
    out = tmp_path / "rotation.json"
    res = runner.invoke(app, ["rotation", str(tmp_path / "traj.dump"), "--json", str(out), "--window-ps", "1",
                              "--li-radius", "3.5", "--top", "5", "--plots", str(tmp_path / "plots")])
    assert res.exit_code == 0, res.output
    got = json.loads(out.read_text())
    assert got["n_frames"] == 31 and got["frame_interval_ps"] == pytest.approx(0.1) and got["settings"]["stride"] == STRIDE
    assert got["n_windows"] == 3 and got["n_tetrahedra"] == 8 and len(got["table"]) == 24
    assert len(got["top_rows"]) == 5
    top = got["top_rows"][:3]
    assert {r["center_index"] for r in top} == {centre} and {r["window"] for r in top} == {0, 1, 2}
    for row in top:
        assert row["species"] == "Si" and row["angle_deg"] == pytest.approx(OMEGA_DEG_PS * 1.0, abs=1e-3)
        assert row["fit_rmsd_angstrom"] < 1e-4
        assert row["n_li"] == 1 and row["li_displacement_mean_angstrom"] == pytest.approx(LI_CHORD_A, abs=1e-3)
    others = [r for r in got["table"] if r["center_index"] != centre]
    assert max(r["angle_deg"] for r in others) < 5.0
    assert got["per_tetrahedron"][0]["center_index"] == centre and got["per_tetrahedron"][0]["n_windows"] == 3
    assert set(got["angle_by_species"]) == {"P", "Si"} and got["angle_by_species"]["Si"]["n"] == 3
    corr = got["correlation"]
    assert corr["n"] == 24 and corr["pearson_r"] > 0.9 and corr["pearson_p"] < 1e-6
    assert (tmp_path / "plots" / "rotation.png").stat().st_size > 0
    assert json.loads((tmp_path / "rotation.summary.json").read_text())["command"] == "rotation"
    assert "Most rotating tetrahedra" in res.output


def test_python_api_with_overlapping_windows_and_given_stride(tmp_path):
    centre = _trajectory(tmp_path / "traj.dump", n_frames=21)
    settings = RotationSettings(window_ps=1.0, origin_stride_ps=0.5, stride=STRIDE, li_radius_angstrom=3.5, top=2)
    got = analyse_rotation(tmp_path / "traj.dump", settings)
    assert got["n_windows"] == 3  # origins at 0, 0.5 and 1.0 ps
    assert len(got["top_rows"]) == 2 and {r["center_index"] for r in got["top_rows"]} == {centre}
    assert sorted({round(r["t0_ps"], 6) for r in got["table"]}) == [0.0, 0.5, 1.0]


def test_bad_input(tmp_path):
    _trajectory(tmp_path / "traj.dump", n_frames=5)
    res = runner.invoke(app, ["rotation", str(tmp_path / "traj.dump"), "--json", str(tmp_path / "r.json"),
                              "--window-ps", "30"])
    assert isinstance(res.exception, ThioglassError) and "shorter than one window" in str(res.exception)
    with pytest.raises(ThioglassError, match="evenly spaced"):
        analyse_rotation(tmp_path / "traj.dump", RotationSettings(window_ps=0.1, stride=50))
    with pytest.raises(ThioglassError, match="top"):
        RotationSettings(top=0)
    atoms = Atoms("Li2", positions=[[0, 0, 0], [1, 1, 1]], cell=np.eye(3) * 5, pbc=True)
    from ase.io import write

    write(tmp_path / "no_step.extxyz", [atoms, atoms])
    with pytest.raises(ThioglassError, match="--stride"):
        analyse_rotation(tmp_path / "no_step.extxyz", RotationSettings(window_ps=0.1))
