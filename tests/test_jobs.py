"""The job layer: one failure policy for every job list, progress read from the run folder."""

from __future__ import annotations

import pytest

from thioglass.errors import ThioglassError
from thioglass.md.jobs import (CallJob, check_job_file, mark_stage_done, position_at, run_jobs, run_position,
                               stage_folder)
from thioglass.md.protocol import Protocol, Stage


def _square(x: int) -> int:
    if x == 2:
        raise ThioglassError("two blew up")
    return x * x


def test_a_failed_job_is_recorded_and_the_others_go_on():
    done = []
    outcome = run_jobs([CallJob(str(x), _square, (x,)) for x in range(4)], on_done=lambda n, r: done.append(n))
    assert outcome.results == {"0": 0, "1": 1, "3": 9}
    assert list(outcome.failures) == ["2"] and outcome.messages() == {"2": "two blew up"}
    assert done == ["0", "1", "3"]
    outcome.raise_unexpected()  # a ThioglassError is expected: nothing raised
    with pytest.raises(ThioglassError, match="two blew up"):
        outcome.raise_first()


def test_job_names_must_be_unique():
    with pytest.raises(ThioglassError, match="unique"):
        run_jobs([CallJob("a", _square, (1,)), CallJob("a", _square, (3,))])


def test_progress_is_read_from_the_stage_folders(tmp_path):
    protocol = Protocol((Stage("melt", "nvt", 0.1, 1000.0), Stage("anneal", "npt", 0.2, 300.0)), timestep_fs=1.0)
    assert run_position(tmp_path, protocol).steps_done == 0
    melt, anneal = (stage_folder(tmp_path, k, s) for k, s in enumerate(protocol.stages))
    assert melt.name == "00_melt" and anneal.name == "01_anneal"
    melt.mkdir()
    mark_stage_done(melt, protocol.stages[0], 100)
    anneal.mkdir()
    (anneal / "thermo.dat").write_text("# step temp\n0 300\n50 301\n60 30")  # the last line is being written
    position = run_position(tmp_path, protocol)
    assert (position.stage, position.stage_step, position.steps_done, position.total_steps) == ("anneal", 50, 150, 300)
    assert position_at(protocol, 300).stage == "anneal" and position_at(protocol, 99).stage == "melt"


def test_a_rerun_with_other_inputs_is_refused(tmp_path):
    check_job_file(tmp_path, {"composition": "75Li2S-25P2S5", "settings": (1, 2)}, "quench")
    check_job_file(tmp_path, {"composition": "75Li2S-25P2S5", "settings": [1, 2]}, "quench")  # as JSON: equal
    with pytest.raises(ThioglassError, match="holds a quench with another composition"):
        check_job_file(tmp_path, {"composition": "70Li2S-30P2S5", "settings": [1, 2]}, "quench")
