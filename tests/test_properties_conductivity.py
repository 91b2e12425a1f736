"""Conductivity workflow: synthetic NPT random walks in LAMMPS dumps, Arrhenius sets, and a real MD run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from ase.io import read, write
from typer.testing import CliRunner

from thioglass.analysis.conductivity import nernst_einstein, number_density_per_cm3
from thioglass.analysis.diffusion import DiffusionFitSettings, fit_diffusion, msd_per_atom
from thioglass.cli.conductivity import parse_temperatures
from thioglass.cli.main import app
from thioglass.elements import BOLTZMANN_EV_K
from thioglass.errors import ThioglassError
from thioglass.properties.conductivity import ConductivitySettings, analyse_trajectory, summarise

DATA = Path(__file__).parent / "data"
MODEL = str(DATA / "tiny_li3ps4.pb")
LPS = Path(__file__).resolve().parents[1] / "src" / "thioglass" / "data" / "structures" / "Li3PS4_beta-Pnma_mp-985583-r2SCAN.vasp"
runner = CliRunner()
STRIDE = 100  # MD steps between frames, 1 fs each: 0.1 ps


def _npt_walk(seed: int, d_A2_ps: float, n_frames: int = 300, n_li: int = 64, n_s: int = 32, caged: bool = False):
    """A barostat-like run: every frame the box changes (±2 %) and rescales all atoms, then Li move.

    Returns fractional coordinates (n_frames, n_atoms, 3), the boxes (n_frames, 3) and the true Li
    displacement from frame 0 (n_frames, n_li, 3). S stays at fixed fractional positions.
    """
    rng = np.random.default_rng(seed)
    dt_ps = STRIDE / 1000.0
    boxes = 12.0 * (1.0 + rng.normal(scale=0.02, size=(n_frames, 3)))
    s = np.empty((n_frames, n_li + n_s, 3))
    s[0] = rng.uniform(size=(n_li + n_s, 3))
    if caged:  # vibration about fixed sites: no long-range motion at all
        true = rng.normal(scale=0.3, size=(n_frames, n_li, 3))
        true -= true[0]
    else:
        steps = rng.normal(scale=np.sqrt(2 * d_A2_ps * dt_ps), size=(n_frames - 1, n_li, 3))
        true = np.concatenate([np.zeros((1, n_li, 3)), steps.cumsum(axis=0)])
    for t in range(1, n_frames):
        s[t] = s[t - 1]
        if caged:  # the site moves with the box, the atom vibrates about it
            s[t, :n_li] = s[0, :n_li] + true[t] / boxes[t]
        else:
            s[t, :n_li] = (s[t - 1, :n_li] * boxes[t] + (true[t] - true[t - 1])) / boxes[t]
    return s, boxes, true


def _write_dump(path: Path, s: np.ndarray, boxes: np.ndarray, n_li: int = 64) -> None:
    """LAMMPS ``dump custom ... id element xu yu zu``: xu is the unwrapped fractional position times the
    current box, exactly what LAMMPS' image flags give."""
    n_atoms = s.shape[1]
    elements = np.array(["Li"] * n_li + ["S"] * (n_atoms - n_li))
    with open(path, "w") as handle:
        for t, (frac, box) in enumerate(zip(s, boxes)):
            bounds = "".join(f"0.0 {length:.8f}\n" for length in box)
            rows = "\n".join(f"{i + 1} {el} {x:.8f} {y:.8f} {z:.8f}" for i, (el, (x, y, z)) in
                             enumerate(zip(elements, frac * box)))
            handle.write(f"ITEM: TIMESTEP\n{t * STRIDE}\nITEM: NUMBER OF ATOMS\n{n_atoms}\n"
                         f"ITEM: BOX BOUNDS pp pp pp\n{bounds}ITEM: ATOMS id element xu yu zu\n{rows}\n")


def test_npt_random_walk_dump_recovers_d_and_matches_kernel(tmp_path):
    d_true = 0.5  # Å²/ps
    s, boxes, true = _npt_walk(1, d_true)
    _write_dump(tmp_path / "walk.dump", s, boxes)
    fit = DiffusionFitSettings(seed=3)
    got = analyse_trajectory(tmp_path / "walk.dump", 500.0, timestep_fs=1.0, fit=fit)
    assert got["frame_interval_ps"] == pytest.approx(0.1) and got["n_frames"] == 300 and got["n_carriers"] == 64
    assert got["diffusive"] and got["warnings"] == []
    d_cm2_s = d_true * 1e-4
    assert abs(got["D_cm2_s"] - d_cm2_s) < 3 * got["D_std_cm2_s"] and got["D_std_cm2_s"] < 0.1 * d_cm2_s
    # The same fit on the true displacements (the kernel alone) gives the same D: unwrapping is exact.
    per_atom = msd_per_atom(true)
    lags = np.arange(1, true.shape[0]) * 0.1
    kernel = fit_diffusion(lags, per_atom.mean(axis=0), per_atom_msd_A2=per_atom, settings=fit)
    assert got["D_cm2_s"] == pytest.approx(kernel["D_cm2_s"], rel=1e-4)
    # The Li density from the mean volume and Nernst-Einstein by hand.
    volume = np.mean(np.prod(boxes, axis=1))
    assert got["volume_mean_angstrom3"] == pytest.approx(volume, rel=1e-6)
    assert got["sigma_S_cm"] == pytest.approx(nernst_einstein(got["D_cm2_s"], number_density_per_cm3(64, volume), 500.0))
    # LAMMPS' xu columns (image count times the current box) are off by the box fluctuations.
    naive = msd_per_atom(s[:, :64] * boxes[:, None, :])
    assert np.max(np.abs(naive.mean(axis=0) - per_atom.mean(axis=0))) > 1.0


def test_agrees_with_kinisi_on_the_same_dump(tmp_path):
    """kinisi reads the same wrapped frames and boxes (its own NPT unwrapping and its own D model)."""
    import scipp as sc
    from kinisi.analyze import DiffusionAnalyzer

    from thioglass.io import iter_frames

    s, boxes, _ = _npt_walk(4, 0.5)
    _write_dump(tmp_path / "walk.dump", s, boxes)
    got = analyse_trajectory(tmp_path / "walk.dump", 500.0, fit=DiffusionFitSettings(seed=3))
    frames = list(iter_frames(tmp_path / "walk.dump"))
    dt = sc.scalar(0.1, unit="ps")
    kin = DiffusionAnalyzer.from_ase(frames, specie="Li", time_step=dt, step_skip=sc.scalar(1),
                                     dt=sc.arange("time interval", 1, len(frames) // 2 + 1) * dt, progress=False)
    kin.diffusion(sc.scalar(got["fit_start_ps"], unit="ps"), progress=False, n_samples=400, n_burn=200,
                  random_state=np.random.RandomState(0))
    d_kin, d_kin_std = kin.D.values.mean(), kin.D.values.std()
    assert abs(got["D_cm2_s"] - d_kin) < 2 * np.hypot(d_kin_std, got["D_std_cm2_s"])


def _arrhenius_dumps(tmp_path: Path, ea_eV: float) -> list[tuple[Path, float]]:
    out = []
    for k, temperature in enumerate((400.0, 500.0, 600.0)):
        d = 2.0 * np.exp(-ea_eV / BOLTZMANN_EV_K * (1 / temperature - 1 / 600.0))
        s, boxes, _ = _npt_walk(10 + k, d)
        _write_dump(tmp_path / f"T{temperature:g}.dump", s, boxes)
        out.append((tmp_path / f"T{temperature:g}.dump", temperature))
    s, boxes, _ = _npt_walk(20, 0.0, caged=True)
    _write_dump(tmp_path / "T300.dump", s, boxes)
    return [(tmp_path / "T300.dump", 300.0), *out]


def test_from_trajectory_cli_fits_arrhenius_and_excludes_caged_run(tmp_path):
    runs = _arrhenius_dumps(tmp_path, ea_eV=0.3)
    args = ["conductivity", "-o", str(tmp_path / "out")]
    for path, _ in runs:
        args += ["--from-trajectory", str(path)]
    args += ["--temperatures", *[f"{t:g}" for _, t in runs]]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    got = json.loads((tmp_path / "out" / "conductivity.json").read_text())
    assert abs(got["activation_energy_eV"] - 0.3) < max(3 * got["activation_energy_std_eV"], 0.01)
    assert got["activation_energy_kJ_mol"] == pytest.approx(got["activation_energy_eV"] * 96.485, rel=1e-3)
    rows = {r["temperature_K"]: r for r in got["temperatures"]}
    assert not rows[300.0]["included"] and "not diffusive" in rows[300.0]["excluded_reason"]
    assert all(rows[t]["included"] for t in (400.0, 500.0, 600.0))
    assert any("300 K" in w for w in got["warnings"])
    # sigma(300 K): the extrapolated D with the Li density of the run nearest 300 K.
    d300 = got["arrhenius"]["D_cm2_s"]
    assert got["sigma_300K_mS_cm"] == pytest.approx(
        1e3 * nernst_einstein(d300, rows[300.0]["li_density_per_cm3"], 300.0), rel=1e-9)
    assert got["sigma_300K_low_mS_cm"] < got["sigma_300K_mS_cm"] < got["sigma_300K_high_mS_cm"]
    for name in ("msd.png", "arrhenius.png", "conductivity.summary.json"):
        assert (tmp_path / "out" / name).stat().st_size > 0


def test_summarise_synthetic_arrhenius_set():
    rng = np.random.default_rng(0)
    temps = np.array([350.0, 400.0, 450.0, 500.0, 550.0, 600.0, 650.0])
    ea = 0.31
    d = 1e-3 * np.exp(-ea / (BOLTZMANN_EV_K * temps)) * np.exp(rng.normal(scale=0.03, size=temps.size))
    rows = [{"temperature_K": t, "D_cm2_s": v, "D_std_cm2_s": 0.03 * v, "diffusive": True, "message": "diffusive",
             "li_density_per_cm3": 2.0e22, "warnings": []} for t, v in zip(temps, d)]
    rows.append({"temperature_K": 300.0, "D_cm2_s": 1e-9, "D_std_cm2_s": 1e-9, "diffusive": False,
                 "message": "not diffusive: log-log slope 0.40 is not within 0.15 of 1; run longer",
                 "li_density_per_cm3": 2.1e22, "warnings": ["300 K: not diffusive"]})
    got = summarise(rows)
    assert abs(got["activation_energy_eV"] - ea) < 3 * got["activation_energy_std_eV"]
    assert got["arrhenius"]["n_points"] == 7 and got["arrhenius"]["li_density_from_T_K"] == 300.0
    expected = 1e3 * nernst_einstein(1e-3 * np.exp(-ea / (BOLTZMANN_EV_K * 300.0)), 2.1e22, 300.0)
    assert abs(got["sigma_300K_mS_cm"] - expected) < 3 * got["sigma_300K_std_mS_cm"]
    assert [r["temperature_K"] for r in got["temperatures"]][0] == 300.0
    assert got["temperatures"][0]["excluded_reason"].startswith("not diffusive")
    only_one = summarise(rows[:1] + rows[-1:])
    assert only_one["activation_energy_eV"] is None and only_one["sigma_300K_mS_cm"] is None
    assert any("no Arrhenius fit" in w for w in only_one["warnings"])


def test_md_workflow_with_tiny_model_and_resume(tmp_path):
    """The whole command on the tiny test model (64 atoms; it heats up and is only good for 0.2 ps of NPT)."""
    write(tmp_path / "lps.extxyz", read(LPS) * (2, 1, 1))
    out = tmp_path / "run"
    args = ["conductivity", str(tmp_path / "lps.extxyz"), "--temperatures", "300", "400", "--ps", "0.2",
            "--equilibrate-ps", "0.02", "--dump-every-ps", "0.01", "--potential", MODEL, "--threads", "1", "-o", str(out)]
    res = runner.invoke(app, [*args, "--workers", "2"])
    assert res.exit_code == 0, res.output
    got = json.loads((out / "conductivity.json").read_text())
    for key in ("sigma_300K_mS_cm", "activation_energy_eV", "activation_energy_kJ_mol", "temperatures", "warnings"):
        assert key in got
    assert [r["temperature_K"] for r in got["temperatures"]] == [300.0, 400.0]
    for row in got["temperatures"]:
        assert row["n_frames"] == 21 and row["frame_interval_ps"] == pytest.approx(0.01) and row["n_carriers"] == 24
        assert row["li_density_per_cm3"] > 1e22 and isinstance(row["included"], bool)
        if row["D_cm2_s"] is None:  # 0.2 ps seldom gets past the criterion: no D, no sigma, only the apparent slope
            assert row["regime"] in ("sub-diffusive", "super-diffusive") and row["sigma_mS_cm"] is None
            assert isinstance(row["D_apparent_cm2_s"], float) and not row["included"]
        else:
            assert row["D_std_cm2_s"] > 0
        assert Path(row["trajectory"]).name == "traj.dump" and "01_production" in row["trajectory"]
    assert (out / "msd.png").stat().st_size > 0 and (out / "arrhenius.png").stat().st_size > 0
    done = sorted(out.glob("T*K/*/done.json"))
    stamps = [p.stat().st_mtime_ns for p in done]
    res = runner.invoke(app, args)  # rerun in the same folder: everything is finished
    assert res.exit_code == 0, res.output
    assert len(done) == 4 and [p.stat().st_mtime_ns for p in done] == stamps
    again = json.loads((out / "conductivity.json").read_text())
    assert [r["D_cm2_s"] for r in again["temperatures"]] == [r["D_cm2_s"] for r in got["temperatures"]]


def test_temperature_parsing_and_bad_input(tmp_path):
    assert parse_temperatures(["400", "450,500"]) == (400.0, 450.0, 500.0)
    assert parse_temperatures(["300:650:50"]) == tuple(range(300, 651, 50))
    with pytest.raises(ThioglassError, match="temperatures"):
        parse_temperatures(["hot"])
    with pytest.raises(ThioglassError, match="different positive"):
        ConductivitySettings((400.0, 400.0))
    with pytest.raises(ThioglassError, match="fewer than 8 frames"):
        ConductivitySettings((400.0,), production_ps=5.0, dump_every_ps=1.0)
    s, boxes, _ = _npt_walk(2, 0.1, n_frames=20)
    _write_dump(tmp_path / "a.dump", s, boxes)
    res = runner.invoke(app, ["conductivity", "-o", str(tmp_path / "o"), "--from-trajectory", str(tmp_path / "a.dump"),
                              "--temperatures", "400", "500"])
    assert isinstance(res.exception, ThioglassError) and "one temperature per" in str(res.exception)
    with pytest.raises(ThioglassError, match="evenly spaced"):
        analyse_trajectory(tmp_path / "a.dump", 400.0, stride=50)
    text = (tmp_path / "a.dump").read_text().replace("ITEM: TIMESTEP\n500\n", "ITEM: TIMESTEP\n550\n")
    (tmp_path / "b.dump").write_text(text)
    with pytest.raises(ThioglassError, match="evenly spaced"):
        analyse_trajectory(tmp_path / "b.dump", 400.0)
    res = runner.invoke(app, ["conductivity", "-o", str(tmp_path / "o"), "--temperatures", "400"])
    assert isinstance(res.exception, ThioglassError) and "exactly one STRUCTURE" in str(res.exception)


def test_stages_that_continue_one_another_read_as_one_run(tmp_path):
    """A production run on in a second stage: its first frame repeats the last state, its steps restart at 0
    and its image counts restart with it; read together the two give exactly the one run's D."""
    s, boxes, _ = _npt_walk(2, 0.5)
    _write_dump(tmp_path / "whole.dump", s, boxes)
    _write_dump(tmp_path / "first.dump", s[:150], boxes[:150])
    second = s[149:] - np.floor(s[149])  # images counted from the stage's start, as LAMMPS does after read_data
    _write_dump(tmp_path / "second.dump", second, boxes[149:])
    fit = DiffusionFitSettings(seed=3)
    whole = analyse_trajectory(tmp_path / "whole.dump", 500.0, fit=fit)
    joined = analyse_trajectory([tmp_path / "first.dump", tmp_path / "second.dump"], 500.0, fit=fit)
    assert joined["n_frames"] == 300 and joined["warnings"] == []
    assert joined["D_cm2_s"] == pytest.approx(whole["D_cm2_s"], rel=1e-6)
    assert joined["msd"]["msd_A2"] == pytest.approx(whole["msd"]["msd_A2"], rel=1e-6)
    # A stage that does not start where the last ended is refused, not silently joined.
    _write_dump(tmp_path / "elsewhere.dump", s[200:], boxes[200:])
    with pytest.raises(ThioglassError, match="does not start where"):
        analyse_trajectory([tmp_path / "first.dump", tmp_path / "elsewhere.dump"], 500.0, fit=fit)


def test_a_temperature_not_yet_diffusive_runs_on_up_to_its_longest(tmp_path, monkeypatch):
    import thioglass.properties.conductivity as conductivity
    from thioglass.md.engine import make_engine
    from thioglass.properties.conductivity import run_conductivity

    from test_quench import SOFT

    glass = read(LPS) * (2, 1, 1)
    settings = ConductivitySettings((400.0,), production_ps=0.04, equilibrate_ps=0.01, dump_every_ps=0.005,
                                    production_max_ps=0.12)
    assert settings.max_extensions == 2
    monkeypatch.setattr(conductivity, "_usable", lambda row: False)  # never diffusive: it runs to the longest
    got = run_conductivity(glass, [settings], make_engine(SOFT, threads=1), tmp_path)
    row = got["temperatures"][0]
    assert row["production_extensions"] == 2 and row["production_ps"] == pytest.approx(0.12)
    assert row["n_frames"] == 3 * 8 + 1 and len(row["trajectories"]) == 3
    folders = sorted(p.name for p in (tmp_path / "T400K").iterdir() if p.is_dir())
    assert folders == ["00_equilibrate", "01_production", "02_production_2", "03_production_3"]
    # A rerun finds every stage done and takes the same path.
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "T400K").glob("*/done.json")}
    again = run_conductivity(glass, [settings], make_engine(SOFT, threads=1), tmp_path)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert again["temperatures"][0]["production_extensions"] == 2
    # Diffusive at once: no stage is added.
    monkeypatch.setattr(conductivity, "_usable", lambda row: True)
    fixed = run_conductivity(glass, [settings], make_engine(SOFT, threads=1), tmp_path / "fixed")
    assert fixed["temperatures"][0]["production_extensions"] == 0
    assert not (tmp_path / "fixed" / "T400K" / "02_production_2").exists()
    with pytest.raises(ThioglassError, match="longest production"):
        ConductivitySettings((400.0,), production_ps=0.04, dump_every_ps=0.005, production_max_ps=0.02)
