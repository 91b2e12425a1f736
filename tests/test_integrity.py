"""Repeated or backward timesteps are refused by the readers, and a stage is never marked done over them."""

from __future__ import annotations

from pathlib import Path

import pytest
from ase.build import bulk

from thioglass.errors import ThioglassError
from thioglass.io import iter_frames
from thioglass.io.lammps_dump import dump_frame_text
from thioglass.io.read import frame_timesteps
from thioglass.md.integrity import check_stage_trajectory


def _dump(path: Path, steps: list[int]) -> Path:
    atoms = bulk("Li", "bcc", a=3.5, cubic=True)
    path.write_text("".join(dump_frame_text(atoms, timestep=s) for s in steps))
    return path


def _extxyz(path: Path, steps: list[int]) -> Path:
    for step in steps:
        atoms = bulk("Li", "bcc", a=3.5, cubic=True)
        atoms.info["timestep"] = step
        atoms.write(path, format="extxyz", append=True)
    return path


@pytest.mark.parametrize("write", [_dump, _extxyz], ids=["dump", "extxyz"])
def test_readers_refuse_repeated_and_backward_timesteps(tmp_path, write):
    name = "traj.dump" if write is _dump else "traj.extxyz"
    repeated = write(tmp_path / f"repeated-{name}", [0, 20, 40, 40, 60])
    with pytest.raises(ThioglassError) as err:
        list(iter_frames(repeated))
    message = str(err.value)
    assert str(repeated) in message and "frame 3: timestep 40 repeats 40" in message and "\n" not in message
    backward = write(tmp_path / f"backward-{name}", [0, 4000, 6350, 4000, 4020])
    with pytest.raises(ThioglassError, match="frame 3: timestep 4000 goes back from 6350"):
        frame_timesteps(backward)
    with pytest.raises(ThioglassError, match="timestep 4000 goes back from 6350"):
        list(iter_frames(backward, "3:"))  # skipped frames are checked too
    assert frame_timesteps(write(tmp_path / f"good-{name}", [0, 20, 40])) == [0, 20, 40]


def test_analyze_refuses_a_dump_written_twice(tmp_path, cli):
    dump = _dump(tmp_path / "traj.dump", [0, 10, 20, 10, 20, 30])
    code, err = cli("analyze", str(dump), "--json", str(tmp_path / "a.json"))
    assert code == 2 and len(err.splitlines()) == 1
    assert str(dump) in err and "timestep 10 goes back from 20" in err
    assert not (tmp_path / "a.json").exists()


@pytest.mark.parametrize("steps, found", [
    ([0, 20, 40, 60, 80, 100], None),
    ([0, 20, 40, 40, 60, 80, 100], "timestep 40 repeats 40"),
    ([0, 20, 60, 80, 100], "frame 2 is at timestep 60, expected 40"),
    ([0, 20, 40, 60, 80], "has 5 frames, expected 6"),
    ([0, 20, 40, 60, 80, 100, 120], "has 7 frames, expected 6"),
])
def test_stage_trajectory_must_be_exactly_the_expected_frames(tmp_path, steps, found):
    path = _dump(tmp_path / "traj.dump", steps)
    if found is None:
        check_stage_trajectory(path, n_steps=100, every_steps=20)
        return
    with pytest.raises(ThioglassError) as err:
        check_stage_trajectory(path, n_steps=100, every_steps=20)
    assert found in str(err.value) and "is not marked done" in str(err.value)


def test_engine_does_not_mark_a_stage_done_over_repeated_frames(tmp_path, monkeypatch):
    from ase.io import write as ase_write

    from thioglass.md.ase_engine import AseEngine, AseSettings
    from thioglass.md.protocol import Protocol, Stage

    def write_twice(target, frame, **kwargs):  # a second writer appending the same frames
        ase_write(target, frame, **kwargs)
        if hasattr(target, "write"):
            ase_write(target, frame, **kwargs)

    monkeypatch.setattr("ase.io.write", write_twice)
    protocol = Protocol((Stage("nvt", "nvt", 0.08, 300.0, dump_every_ps=0.02),), timestep_fs=4.0)
    with pytest.raises(ThioglassError, match="timestep 0 repeats 0.*is not marked done"):
        AseEngine(AseSettings("ase:ase.calculators.emt:EMT")).run(bulk("Cu", "fcc", a=3.61, cubic=True) * (2, 2, 2),
                                                                  protocol, tmp_path)
    assert not (tmp_path / "00_nvt" / "done.json").exists()
