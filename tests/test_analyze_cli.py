"""``thioglass analyze`` end to end, and the plot functions it uses."""

from __future__ import annotations

import json
from pathlib import Path

import ase.io
import numpy as np
import pytest
from typer.testing import CliRunner

from thioglass.cli.main import app
from thioglass.errors import ThioglassError
from thioglass.io import read_frame
from thioglass.io.lammps_dump import dump_frame_text
from thioglass.report import plots

STRUCTURES = Path(__file__).resolve().parents[1] / "src" / "thioglass" / "data" / "structures"
BETA_LI3PS4 = STRUCTURES / "Li3PS4_beta-Pnma_mp-985583-r2SCAN.vasp"
LI7P3S11 = STRUCTURES / "Li7P3S11_P-1_mp-641703-GGA.vasp"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
RESULT_KEYS = {
    "n_frames", "density_g_cm3", "density_std_g_cm3", "rdf", "sq", "qn", "en", "bonds", "environments", "sulfur"
}

runner = CliRunner()


def _analyze(*args: str):
    return runner.invoke(app, ["analyze", *args], catch_exceptions=True)


def test_analyze_crystal_writes_json_summary_and_plots(tmp_path):
    out, plot_dir = tmp_path / "res" / "beta.json", tmp_path / "plots"
    result = _analyze(str(BETA_LI3PS4), "--json", str(out), "--plots", str(plot_dir), "--rmax", "6", "--bins", "120")
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert RESULT_KEYS <= set(data)
    assert data["n_frames"] == 1
    # beta-Li3PS4 is isolated PS4 tetrahedra: every P is P^0 (Q^0) and shares no edge.
    assert data["qn"]["P"]["0"] == pytest.approx(100.0)
    assert data["en"]["P"]["0"] == pytest.approx(100.0)
    atoms = read_frame(BETA_LI3PS4)
    mass_g = atoms.get_masses().sum() / 6.02214076e23
    assert data["density_g_cm3"] == pytest.approx(mass_g / (atoms.cell.volume * 1e-24), rel=1e-4)
    assert len(data["rdf"]["r_angstrom"]) == 120 and set(data["rdf"]["partials"]) >= {"Li-S", "P-S", "S-S"}
    assert "Faber-Ziman" in data["sq"]["normalisation"]
    assert (out.parent / "beta.summary.json").exists()
    for name in ("rdf_total", "rdf_partials", "sq_total", "sq_partials", "qn_en"):
        assert (plot_dir / f"{name}.png").read_bytes()[:8] == PNG_MAGIC


def test_analyze_trajectory_streams_selected_frames_and_agrees_across_formats(tmp_path):
    frames = []
    for k in range(4):
        atoms = read_frame(LI7P3S11)
        atoms.rattle(0.02, seed=k)
        atoms.set_cell(atoms.cell * (1.0 + 0.01 * k), scale_atoms=True)
        frames.append(atoms)
    xyz = tmp_path / "md.extxyz"
    ase.io.write(xyz, frames)
    # LAMMPS wants a lower-triangular cell: the standard form of the same frames.
    dump = tmp_path / "md.lammpstrj"
    dump.write_text("".join(dump_frame_text(_lammps_form(f), timestep=k) for k, f in enumerate(frames)))
    results = {}
    for path in (xyz, dump):
        out = tmp_path / f"{path.suffix[1:]}.json"
        result = _analyze(str(path), "--json", str(out), "--frames", "1::2", "--rmax", "5", "--type-map", "Li,Si,P,S")
        assert result.exit_code == 0, result.output
        results[path.suffix] = json.loads(out.read_text())
    a, b = results[".extxyz"], results[".lammpstrj"]
    assert a["n_frames"] == b["n_frames"] == 2
    expected = np.mean([_density(frames[1]), _density(frames[3])])
    assert a["density_g_cm3"] == pytest.approx(expected, rel=1e-6)
    assert b["density_g_cm3"] == pytest.approx(expected, rel=1e-5)
    assert a["density_std_g_cm3"] > 0
    assert np.allclose(a["rdf"]["total"], b["rdf"]["total"], atol=1e-6)
    assert a["qn"] == b["qn"]


def _lammps_form(atoms):
    standard = atoms.copy()
    standard.set_cell(atoms.cell.standard_form()[0], scale_atoms=True)
    return standard


def _density(atoms) -> float:
    return atoms.get_masses().sum() / 6.02214076e23 / (atoms.cell.volume * 1e-24)


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing.extxyz"], "does not exist"),
        ([str(BETA_LI3PS4), "--frames", "5:"], "picks no frame"),
        ([str(BETA_LI3PS4), "--frames", "::-1"], "positive STEP"),
        ([str(BETA_LI3PS4), "--rmax", "-1"], "must be positive"),
    ],
)
def test_analyze_bad_input_is_a_one_line_error(tmp_path, args, message):
    result = _analyze(*args, "--json", str(tmp_path / "x.json"))
    assert result.exit_code != 0
    assert isinstance(result.exception, ThioglassError)
    assert message in str(result.exception) and "\n" not in str(result.exception)
    assert not (tmp_path / "x.json").exists()


def test_analyze_rejects_a_file_without_cell(tmp_path):
    path = tmp_path / "molecule.xyz"
    path.write_text("2\n\nP 0 0 0\nS 0 0 2.05\n")
    result = _analyze(str(path), "--json", str(tmp_path / "x.json"))
    assert isinstance(result.exception, ThioglassError)


# -- plots on their own ---------------------------------------------------------------------------
def _fake_result() -> dict:
    r = np.linspace(0.05, 9.95, 100)
    q = np.linspace(0.1, 20, 50)
    bump = 1.0 + np.exp(-((r - 2.1) ** 2) / 0.01)
    return {
        "rdf": {
            "r_angstrom": r.tolist(),
            "total": bump.tolist(),
            "partials": {"P-S": bump.tolist(), "S-S": r.tolist()},
        },
        "sq": {
            "q_inv_angstrom": q.tolist(),
            "total": np.cos(q).tolist(),
            "partials": {"P-S": np.sin(q).tolist(), "S-S": q.tolist()},
            "normalisation": "Faber-Ziman: ...",
        },
        "qn": {"P": {"0": 60.0, "1": 40.0}, "Si": {"0": 10.0, "4": 90.0}},
        "en": {"P": {"0": 100.0}, "Si": {"0": 50.0, "2": 50.0}},
    }


def test_plot_functions_label_axes_with_units_and_make_pngs(tmp_path):
    result = _fake_result()
    fig = plots.total_rdf_figure(result["rdf"])
    assert fig.axes[0].get_xlabel() == "r (Å)"
    assert "Faber-Ziman" in plots.total_sq_figure(result["sq"]).axes[0].get_ylabel()
    assert "Å$^{-1}$" in plots.partial_sq_figure(result["sq"]).axes[0].get_xlabel()
    partial = plots.partial_rdf_figure(result["rdf"])
    assert [ax.get_title() for ax in partial.axes if ax.get_visible()] == ["P-S", "S-S"]
    bars = plots.qn_en_figure(result["qn"], result["en"])
    assert [t.get_text() for t in bars.axes[0].get_xticklabels()] == ["0", "1", "4"]
    assert plots.png_bytes(fig)[:8] == PNG_MAGIC
    written = plots.write_structure_plots(result, tmp_path / "p")
    assert sorted(written) == ["qn_en", "rdf_partials", "rdf_total", "sq_partials", "sq_total"]
    assert all(path.read_bytes()[:8] == PNG_MAGIC for path in written.values())
