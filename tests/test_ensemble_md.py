"""The ensemble's deviation recorded by the MD engines: LAMMPS (with a kill and a resume), ASE with a DeePMD
model, a potential without an ensemble, and the warning of members that disagree."""

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
from ase.io import read

from thioglass.io import iter_frames
from thioglass.md.lammps import LammpsEngine, LammpsSettings
from thioglass.md.protocol import Protocol, Stage
from thioglass.mlff import ensemble as ens

DATA = Path(__file__).parent / "data"
TINY = str(DATA / "tiny_li3ps4.pb")
#: Same labels and architecture as TINY, other initial weights (tests/data/make_tiny_model.py ... 2).
MEMBER = str(DATA / "tiny_li3ps4_seed2.pb")


def _cell():
    return read(str(files("thioglass") / "data" / "structures" / "Li3PS4_beta-Pnma_mp-985583-r2SCAN.vasp"))


def _protocol(duration_ps: float = 0.2, temperature_k: float = 300.0) -> Protocol:
    return Protocol((Stage("hold", "nvt", duration_ps, temperature_k, dump_every_ps=0.01),), timestep_fs=1.0, seed=5)


def _raw_steps(path: Path) -> list[int]:
    """Steps of the file's rows as written (a repeated row shows twice)."""
    return [int(line.split()[0]) for line in path.read_text().splitlines() if line.strip() and line[0] != "#"]


@pytest.mark.skipif(not ens.shipped_ensemble(), reason="the shipped model has no ensemble members yet")
def test_in_domain_crystal_stays_under_the_window(tmp_path):
    """beta-Li3PS4 at 300 K is in the shipped model's training data: its ensemble agrees on it. (A freshly
    packed glass is not in-domain for its first picoseconds: its close contacts sample what no quench does.)"""
    from thioglass.build.crystals import load_crystal
    from thioglass.md.engine import make_engine

    protocol = Protocol((Stage("hold", "npt", 0.5, 300.0, dump_every_ps=0.1),), timestep_fs=1.0, seed=5)
    engine = make_engine(None, threads=1, deviation_every_steps=10)
    result = engine.run(load_crystal("beta-Li3PS4", (2, 1, 1)), protocol, tmp_path)
    stats = ens.stage_deviation(result.stages[0].folder)
    assert stats["n_frames"] == 51 and stats["every_steps"] == 10 and not stats["warning"], stats


def test_lammps_deviation_is_the_members_force_spread(tmp_path):
    # The tiny members (2000 training steps each) disagree by 0.3-1 eV/Å even on their own crystal:
    # they test the bookkeeping, not a trust window.
    """Each row of LAMMPS' file is our kernel on DeePMD's forces of the dumped frame at that step."""
    from deepmd.infer import DeepPot

    result = LammpsEngine(LammpsSettings((TINY, MEMBER), threads=1, deviation_every_steps=10)).run(
        _cell(), _protocol(0.03), tmp_path)
    table = dict(zip(*ens.read_deviation_table(result.stages[0].deviation)))
    models = [DeepPot(TINY), DeepPot(MEMBER)]
    type_map = list(ens.model_type_map(TINY))
    for atoms in iter_frames(result.stages[0].trajectory):
        types = [type_map.index(s) for s in atoms.get_chemical_symbols()]
        forces = np.array([m.eval(atoms.positions.reshape(1, -1), np.asarray(atoms.cell).reshape(1, -1), types)[1][0]
                           for m in models])
        assert ens.max_force_deviation(forces) == pytest.approx(table[atoms.info["timestep"]], rel=2e-3, abs=1e-5)


def test_members_that_disagree_trigger_the_warning(tmp_path):
    """The shipped model (other labels, other systems) as TINY's member: the two disagree on every frame."""
    from thioglass.potential import bundled_model_path

    engine = LammpsEngine(LammpsSettings((TINY, str(bundled_model_path())), threads=1, deviation_every_steps=20))
    result = engine.run(_cell(), _protocol(0.1), tmp_path)
    stats = ens.stage_deviation(result.stages[0].folder)
    assert stats["warning"] and stats["share_above_low"] > ens.WARN_SHARE_ABOVE_LOW
    line = ens.warning_line("hold", stats)
    assert "stage hold" in line and f"{100 * stats['share_above_low']:.1f} %" in line


_KILLED = """
import sys
sys.path.insert(0, %r)
from test_ensemble_md import TINY, MEMBER, _cell, _protocol
from thioglass.md.lammps import LammpsEngine, LammpsSettings
LammpsEngine(LammpsSettings((TINY, MEMBER), threads=1, restart_every_steps=100, deviation_every_steps=10)).run(
    _cell(), _protocol(0.8), sys.argv[1])
""" % str(Path(__file__).parent)


def test_deviation_file_after_a_killed_and_resumed_run(tmp_path):
    """Killed after rows past its newest restart were written, the resumed stage holds each sampled step once."""
    script = tmp_path / "run.py"
    script.write_text(_KILLED)
    work = tmp_path / "run"
    folder = work / "00_hold"
    process = subprocess.Popen([sys.executable, str(script), str(work)])
    deadline = time.time() + 180
    while time.time() < deadline and process.poll() is None:
        restarts = [int(p.name.split(".")[1]) for p in folder.glob("restart.*.bin")]
        rows = _raw_steps(folder / ens.DEVIATION_FILE) if (folder / ens.DEVIATION_FILE).exists() else []
        if restarts and rows and rows[-1] > max(restarts):
            break
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    time.sleep(1.0)  # LAMMPS dies with its parent (md/process.py); let it go
    assert not (folder / "done.json").exists(), "the run finished before it could be killed"
    before = _raw_steps(folder / ens.DEVIATION_FILE)
    newest = max(int(p.name.split(".")[1]) for p in folder.glob("restart.*.bin"))
    assert before[-1] > newest, "no rows past the restart point: the test would not see a repeat"
    kept = dict(zip(*ens.read_deviation_table(folder / ens.DEVIATION_FILE)))

    engine = LammpsEngine(LammpsSettings((TINY, MEMBER), threads=1, restart_every_steps=100, deviation_every_steps=10))
    engine.run(_cell(), _protocol(0.8), work)
    text = (folder / ens.DEVIATION_FILE).read_text()
    assert _raw_steps(folder / ens.DEVIATION_FILE) == list(range(0, 801, 10))
    assert sum(line.startswith("#") for line in text.splitlines()) == 1
    after = dict(zip(*ens.read_deviation_table(folder / ens.DEVIATION_FILE)))
    assert all(after[s] == kept[s] for s in kept if s < newest)  # rows before the restart are the first run's


def test_ase_engine_with_a_deepmd_model_writes_the_same_file(tmp_path):
    from deepmd.infer import DeepPot

    from thioglass.md.ase_engine import AseEngine, AseSettings

    settings = AseSettings(TINY, threads=1, ensemble=(MEMBER,), deviation_every_steps=10)
    result = AseEngine(settings).run(_cell(), _protocol(0.03), tmp_path)
    path = Path(result.stages[0].deviation)
    assert path.read_text().split("\n")[0].split()[1:] == list(ens.DEVIATION_COLUMNS)
    assert _raw_steps(path) == [0, 10, 20, 30]
    table = dict(zip(*ens.read_deviation_table(path)))
    models = [DeepPot(TINY), DeepPot(MEMBER)]
    type_map = list(ens.model_type_map(TINY))
    for atoms in iter_frames(result.stages[0].trajectory):
        types = [type_map.index(s) for s in atoms.get_chemical_symbols()]
        coords = atoms.arrays["unwrapped"].reshape(1, -1)
        forces = np.array([m.eval(coords, np.asarray(atoms.cell).reshape(1, -1), types)[1][0] for m in models])
        assert ens.max_force_deviation(forces) == pytest.approx(table[atoms.info["timestep"]], rel=1e-3, abs=1e-5)


def test_a_potential_without_an_ensemble_says_so_and_runs(tmp_path):
    from ase.build import bulk

    from thioglass.md.engine import make_engine
    from thioglass.md.results import deviation_by_stage

    spec = "ase:ase.calculators.emt:EMT"
    assert "not a DeePMD model" in ens.ensemble_note(spec, ens.ensemble_for(spec))
    result = make_engine(spec, threads=1).run(bulk("Cu", cubic=True) * (2, 2, 2), _protocol(0.02), tmp_path)
    assert result.stages[0].deviation is None
    assert deviation_by_stage(tmp_path, "quench") == {}
    with pytest.raises(Exception, match="needs a DeePMD potential"):
        make_engine(spec, ensemble=[TINY])


def test_bench_deviation_times_each_interval(tmp_path, cli):
    import json

    out = tmp_path / "cost.json"
    code, err = cli("bench", "deviation", "-o", str(out), "-m", TINY, "--members", MEMBER, "--atoms", "40",
                    "--steps", "40", "--every", "10", "--repeats", "1")
    assert code == 0, err
    record = json.loads(out.read_text())
    assert record["members"] == 1 and set(record["extra"]) == {"10"}
    assert record["baseline"]["steps"] == 40 and record["best"]["10"]["loop_cpu_s"] > 0


def test_validate_lattice_records_the_deviation_of_every_sample(tmp_path):
    from thioglass.workflow.lattice import run_lattice
    from thioglass.workflow.settings import LatticeSettings

    settings = LatticeSettings(supercell=(1, 1, 1), equilibrate_ps=0.01, production_ps=0.03, sample_every_steps=5,
                               timestep_fs=0.5)
    result = run_lattice(TINY, settings, tmp_path, threads=1, ensemble=(MEMBER,))
    stats = result["model_deviation"]["lattice/npt"]
    assert stats["n_frames"] == result["n_samples"] and stats["every_steps"] == 5 and stats["max_eV_A"] > 0
    assert run_lattice(TINY, settings, tmp_path / "alone", threads=1)["model_deviation"] == {}
