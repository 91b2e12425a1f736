"""ASE MD engine (EMT copper): ensembles, thermo units, resume after a kill, blow-ups; engine choice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms, units
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.eos import EquationOfState
from ase.io import read

from thioglass.errors import ThioglassError
from thioglass.io import iter_frames
from thioglass.md.ase_engine import (
    AseEngine,
    AseSettings,
    plateau_schedule,
    temperature_k,
    thermo_row,
    truncate_extxyz,
    truncate_thermo,
)
from thioglass.md.engine import make_engine
from thioglass.potential import bundled_model_path
from thioglass.md.jobs import THERMO_COLUMNS
from thioglass.md.lammps import LammpsEngine, LammpsSettings
from thioglass.md.protocol import Protocol, Stage

EMT_SPEC = "ase:ase.calculators.emt:EMT"
MODEL = str(Path(__file__).parent / "data" / "tiny_li3ps4.pb")
BETA_LI3PS4 = files("thioglass") / "data" / "structures" / "Li3PS4_beta-Pnma_mp-985583-r2SCAN.vasp"


def _copper(a: float = 3.61, repeat: int = 2) -> Atoms:
    return bulk("Cu", "fcc", a=a, cubic=True) * (repeat, repeat, repeat)


def _engine(**options) -> AseEngine:
    return AseEngine(AseSettings(EMT_SPEC, **options))


def test_nve_conserves_energy_and_thermo_columns_agree(tmp_path):
    protocol = Protocol((Stage("nve", "nve", 0.6, 600.0, dump_every_ps=0.1),), timestep_fs=2.0, thermo_every_steps=5)
    result = _engine().run(_copper(), protocol, tmp_path)
    thermo = result.stages[0].thermo_table()
    n = 32
    assert thermo["temp"][0] == pytest.approx(600.0)  # initial velocities scaled exactly, 3N-3 dof
    assert np.allclose(thermo["etotal"], thermo["pe"] + thermo["ke"])
    assert np.allclose(thermo["temp"], 2 * thermo["ke"] / ((3 * n - 3) * units.kB))
    assert thermo["ke"].std() > 0.05  # energy flows between kinetic and potential ...
    assert np.ptp(thermo["etotal"]) / n < 2e-4  # ... while the total stays put (eV/atom)
    assert np.allclose(thermo["vol"], 8 * 3.61**3) and np.allclose(thermo["lx"], 2 * 3.61)
    frames = list(iter_frames(result.stages[0].trajectory))
    assert [f.info["timestep"] for f in frames] == list(range(0, 301, 50))
    # Wrapped positions in the cell, unwrapped ones continuous (no jump larger than a thermal step).
    assert all((f.get_scaled_positions(wrap=False) >= -1e-9).all() for f in frames)
    steps = np.diff([f.arrays["unwrapped"] for f in frames], axis=0)
    assert np.abs(steps).max() < 1.0


def test_nvt_holds_the_target_temperature_with_canonical_fluctuations(tmp_path):
    target = 500.0
    protocol = Protocol((Stage("nvt", "nvt", 4.0, target, tdamp_ps=0.05, dump_every_ps=1.0),),
                        timestep_fs=4.0, thermo_every_steps=5)
    thermo = _engine().run(_copper(), protocol, tmp_path).stages[0].thermo_table()
    temps = thermo["temp"][thermo["step"] * 4.0 >= 1000]  # after 1 ps of equilibration
    block_means = np.array([b.mean() for b in np.array_split(temps, 10)])
    sem = block_means.std(ddof=1) / np.sqrt(len(block_means))
    assert sem < 0.03 * target
    assert abs(temps.mean() - target) < 3 * sem
    # Canonical kinetic-temperature fluctuations: std/T = sqrt(2 / (3N - 3)) for N = 32.
    assert temps.std() / target == pytest.approx(np.sqrt(2 / 93), rel=0.25)


def test_npt_relaxes_a_compressed_cell_to_the_equilibrium_volume(tmp_path):
    volumes, energies = [], []
    for a in np.linspace(3.5, 3.7, 7):  # static EMT equation of state, 4-atom cell
        cell = bulk("Cu", "fcc", a=a, cubic=True)
        cell.calc = EMT()
        volumes.append(cell.get_volume() / 4)
        energies.append(cell.get_potential_energy() / 4)
    v0 = EquationOfState(volumes, energies).fit()[0]
    protocol = Protocol((Stage("npt", "npt", 1.0, 300.0, pressure_bar=0.0, tdamp_ps=0.05, pdamp_ps=0.2,
                               dump_every_ps=0.5),), timestep_fs=2.0, thermo_every_steps=5)
    thermo = _engine().run(_copper(a=3.45), protocol, tmp_path).stages[0].thermo_table()
    late = thermo["step"] >= 250
    v_md = thermo["vol"][late].mean() / 32
    assert thermo["vol"][0] / 32 < 0.9 * v0  # started 11 % compressed
    # Thermal expansion of EMT Cu at 300 K is about +1-2 % in volume.
    assert 1.0 < v_md / v0 < 1.035
    mass_g = 32 * 63.546 / 6.02214076e23
    assert np.allclose(thermo["density"], mass_g / (thermo["vol"] * 1e-24), rtol=1e-6)


def test_thermo_units_match_lammps_on_the_same_structure(tmp_path):
    """Pressure tensor (bar, sign, order), energy, volume and density against LAMMPS with the same model."""
    from deepmd.calculator import DP

    atoms = read(str(BETA_LI3PS4)) * (2, 1, 1)
    atoms.rattle(0.05, seed=3)
    atoms.set_cell(atoms.cell * 1.02, scale_atoms=True)
    cold = Protocol((Stage("still", "nve", 0.001, 1e-6),), timestep_fs=1.0, thermo_every_steps=1)
    lammps = LammpsEngine(LammpsSettings((MODEL,))).run(atoms, cold, tmp_path).stages[0].thermo_table()
    atoms.calc = DP(model=MODEL)
    ours = dict(zip(THERMO_COLUMNS, thermo_row(atoms, 0)))
    for column in ("pe", "press", "vol", "density", "lx", "pxx", "pyy", "pzz", "pxy", "pxz", "pyz"):
        assert ours[column] == pytest.approx(lammps[column][0], rel=1e-4, abs=0.5), column


def test_temperature_ramp_is_a_staircase_of_plateaus():
    stage = Stage("cool", "npt", 1.05, 1000.0, 300.0)
    plateaus = plateau_schedule(stage, 1.0, 100)
    assert plateaus[0][0] == 0 and plateaus[-1][1] == 1050
    assert all(a[1] == b[0] for a, b in zip(plateaus, plateaus[1:]))
    targets = np.array([t for _, _, t in plateaus])
    assert (np.diff(targets) < 0).all() and 300 < targets.min() < targets.max() < 1000
    weights = np.array([hi - lo for lo, hi, _ in plateaus])
    assert np.average(targets, weights=weights) == pytest.approx(650.0)
    assert plateau_schedule(Stage("hold", "nvt", 1.0, 300.0), 1.0, 100) == [(0, 1000, 300.0)]


def test_ramp_follows_the_target(tmp_path):
    protocol = Protocol((Stage("heat", "nvt", 2.0, 200.0, 800.0, tdamp_ps=0.02, dump_every_ps=1.0),),
                        timestep_fs=4.0, thermo_every_steps=5)
    thermo = _engine(ramp_plateau_steps=25).run(_copper(), protocol, tmp_path).stages[0].thermo_table()
    first, last = thermo["temp"][:50].mean(), thermo["temp"][-50:].mean()
    assert first < 450 < 550 < last


_KILLED_RUN = """
import sys
from ase.build import bulk
from thioglass.md.ase_engine import AseEngine, AseSettings
from thioglass.md.protocol import Protocol, Stage
p = Protocol((Stage("nvt", "nvt", 3.0, 400.0, tdamp_ps=0.05, dump_every_ps=0.04),
              Stage("npt", "npt", 0.2, 400.0, pressure_bar=0.0, dump_every_ps=0.04)), timestep_fs=4.0,
             thermo_every_steps=5)
AseEngine(AseSettings("ase:ase.calculators.emt:EMT", checkpoint_every_steps=100)).run(
    bulk("Cu", "fcc", a=3.61, cubic=True) * (2, 2, 2), p, sys.argv[1])
"""


def test_killed_run_resumes_from_its_checkpoint_without_duplicate_frames(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(_KILLED_RUN)
    work = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, str(script), str(work)])
    deadline = time.time() + 120
    while time.time() < deadline and not (work / "00_nvt" / "checkpoint.npz").exists():
        time.sleep(0.1)
    time.sleep(0.3)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (work / "00_nvt" / "done.json").exists(), "the run finished before it could be killed"
    checkpoint = int(np.load(work / "00_nvt" / "checkpoint.npz")["step"])
    written = [f.info["timestep"] for f in iter_frames(work / "00_nvt" / "traj.extxyz")]
    assert 0 < checkpoint < 750 and written[-1] >= checkpoint  # frames past the checkpoint will be cut

    exec(compile(_KILLED_RUN.replace("sys.argv[1]", "WORK"), "resume", "exec"), {"WORK": work})
    exec(compile(_KILLED_RUN.replace("sys.argv[1]", "WORK"), "fresh", "exec"), {"WORK": tmp_path / "fresh"})
    for stage, n_steps in (("00_nvt", 750), ("01_npt", 50)):
        steps = [f.info["timestep"] for f in iter_frames(work / stage / "traj.extxyz")]
        assert steps == list(range(0, n_steps + 1, 10)), "frames lost or repeated across the restart"
        thermo_steps = [int(line.split()[0]) for line in (work / stage / "thermo.dat").read_text().splitlines()
                        if not line.startswith("#")]
        assert thermo_steps == list(range(0, n_steps + 1, 5))
    assert not (work / "00_nvt" / "checkpoint.npz").exists()
    # Positions, momenta and thermostat state were restored: the resumed NVT run is the uninterrupted one.
    resumed = read(work / "00_nvt" / "final.extxyz")
    fresh = read(tmp_path / "fresh" / "00_nvt" / "final.extxyz")
    assert np.allclose(resumed.arrays["unwrapped"], fresh.arrays["unwrapped"], atol=1e-8)
    assert np.allclose(resumed.get_momenta(), fresh.get_momenta(), atol=1e-8)


def test_torn_files_are_cut_back_to_the_checkpoint(tmp_path):
    traj, thermo = tmp_path / "traj.extxyz", tmp_path / "thermo.dat"
    frames = [_copper() for _ in range(4)]
    for step, frame in zip((0, 10, 20, 30), frames):
        frame.info["timestep"] = step
        frame.write(traj, format="extxyz", append=True)
    text = traj.read_text()
    traj.write_text(text + text[: len(text) // 9])  # a frame cut mid-way by a kill
    thermo.write_text("# step temp\n0 1\n10 2\n20 3\n30 4\n4")
    truncate_extxyz(traj, before_step=20)
    truncate_thermo(thermo, before_step=20)
    assert [f.info["timestep"] for f in iter_frames(traj)] == [0, 10]
    assert thermo.read_text() == "# step temp\n0 1\n10 2\n"


def test_temperature_runaway_stops_with_one_line_and_keeps_the_last_good_frame(tmp_path):
    rng = np.random.default_rng(0)
    packed = Atoms("Cu32", positions=rng.uniform(0, 7.2, (32, 3)), cell=[7.2] * 3, pbc=True)  # overlapping atoms
    hot = Protocol((Stage("crash", "nvt", 0.5, 300.0, dump_every_ps=0.004),), timestep_fs=4.0, thermo_every_steps=1)
    with pytest.raises(ThioglassError) as err:
        _engine(runaway_factor=1.0, min_distance_angstrom=0.3).run(packed, hot, tmp_path)
    assert "blew up" in str(err.value) and "runaway" in str(err.value) and "\n" not in str(err.value)
    last = read(tmp_path / "00_crash" / "last_good.extxyz")
    assert np.isfinite(last.positions).all() and len(last) == 32
    assert not (tmp_path / "00_crash" / "done.json").exists()


def test_atoms_too_close_are_caught_during_the_run(tmp_path):
    hot = Protocol((Stage("shake", "nvt", 1.0, 2500.0, tdamp_ps=0.02, dump_every_ps=0.01),), timestep_fs=2.0)
    with pytest.raises(ThioglassError, match="apart") as err:
        _engine(min_distance_angstrom=2.2).run(_copper(), hot, tmp_path)
    assert "blew up" in str(err.value)
    last = read(tmp_path / "00_shake" / "last_good.extxyz")
    assert last.get_all_distances(mic=True)[np.triu_indices(32, 1)].min() >= 2.2


def test_engine_follows_the_potential(tmp_path, monkeypatch):
    assert isinstance(make_engine(MODEL, threads=1), LammpsEngine)
    assert isinstance(make_engine(EMT_SPEC), AseEngine)
    assert isinstance(make_engine("sevennet-0"), AseEngine)  # the model loads only when a run starts
    if bundled_model_path().is_file():
        assert isinstance(make_engine(None), LammpsEngine)
    monkeypatch.setattr("thioglass.potential.bundled_model_path", lambda: tmp_path / "none.pb")
    with pytest.raises(ThioglassError, match="no default model"):
        make_engine(None)
    with pytest.raises(ThioglassError, match="does not exist"):
        make_engine(str(tmp_path / "missing.pb"))
    with pytest.raises(ThioglassError, match="unknown potential"):
        make_engine("gfn2")
    with pytest.raises(ThioglassError, match="cannot import"):
        make_engine("ase:no.such.module:Calc")
    with pytest.raises(ThioglassError, match="form"):
        make_engine("ase:ase.calculators.emt")


def test_bad_runs(tmp_path):
    with pytest.raises(ThioglassError, match="at least two atoms"):
        _engine().run(Atoms("Cu", cell=[3, 3, 3], pbc=True), Protocol((Stage("a", "nve", 0.01, 300.0),)), tmp_path)
    with pytest.raises(ThioglassError, match="at least 1"):
        AseSettings(EMT_SPEC, checkpoint_every_steps=0)
    protocol = Protocol((Stage("a", "nve", 0.01, 300.0),))
    _engine().run(_copper(), protocol, tmp_path / "run")
    with pytest.raises(ThioglassError, match="different protocol"):
        _engine().run(_copper(), Protocol((Stage("a", "nve", 0.02, 300.0),)), tmp_path / "run")
    assert temperature_k(_copper()) == 0.0
