"""Members trained elsewhere (a GPU machine) join the learning loop: checked against the loop's model, installed
as the first unexplored iteration's ensemble, explored with, and trained from by the next iteration."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from learn_plan import write_plan
from thioglass.errors import ThioglassError
from thioglass.learn.adopt import mismatch, sha256
from thioglass.learn.config import load_config
from thioglass.learn.loop import Learner
from thioglass.mlff.convert import model_definition

DATA = Path(__file__).parent / "data"
# Two members of one ensemble: the `fast` architecture, the loop's plan in learn_plan.py, same sel.
MEMBERS = [DATA / "tiny_li3ps4.pb", DATA / "tiny_li3ps4_seed2.pb"]


def _learner(folder: Path, **changes) -> Learner:
    return Learner(load_config(write_plan(folder, **changes)), log=lambda line: None)


def _member(folder: Path, iteration: int, index: int) -> Path:
    return folder / "run" / f"iter.{iteration:03d}" / "train" / f"model_{index}"


def test_adopted_members_are_the_ensemble_an_iteration_explores_with(tmp_path):
    learner = _learner(tmp_path, iterations=2)
    done = learner.adopt([str(p) for p in MEMBERS])
    assert (done.iteration, done.replaced, done.unchanged) == (0, None, False)
    sel = model_definition(MEMBERS[0])["descriptor"]["sel"]
    assert json.loads((tmp_path / "run" / "sel.json").read_text()) == sel  # the loop takes the members' sel
    for index, source in enumerate(MEMBERS):
        member = _member(tmp_path, 0, index)
        assert json.loads((member / "adopted.json").read_text())["sha256"] == sha256(source)
        assert json.loads((member / "done.json").read_text())["adopted"] is True
    assert learner.adopt([str(DATA)]).unchanged  # a folder of them, again: nothing changes

    records = _learner(tmp_path, iterations=1).run()
    assert records[0].iteration == 0 and records[0].explored > 0
    assert not list((tmp_path / "run").glob("iter.000/train/model_*/train.log"))  # explored, never retrained
    assert (_member(tmp_path, 0, 0) / "frozen_model.pb").read_bytes() == MEMBERS[0].read_bytes()


def test_members_an_iteration_had_are_moved_aside_not_lost(tmp_path):
    learner = _learner(tmp_path)
    learner.adopt([str(p) for p in MEMBERS])
    again = learner.adopt([str(p) for p in reversed(MEMBERS)])
    assert (again.iteration, again.replaced, again.unchanged) == (0, "train.replaced-1", False)
    aside = tmp_path / "run" / "iter.000" / "train.replaced-1" / "model_0" / "adopted.json"
    assert json.loads(aside.read_text())["sha256"] == sha256(MEMBERS[0])
    assert json.loads((_member(tmp_path, 0, 0) / "adopted.json").read_text())["sha256"] == sha256(MEMBERS[1])


@pytest.mark.parametrize("sources, changes, message", [
    (MEMBERS[:1], {}, "1 model files given, the loop trains 2 members"),
    (MEMBERS, {"training": {"architecture": "paper", "steps": 60, "models": 2}}, "descriptor.rcut: 6.0 here, 5.0"),
    ([DATA], {"training": {"architecture": "fast", "steps": 60, "models": 3}}, "2 model files given"),
    ([DATA / "glass_75Li2S-25P2S5_304.extxyz"], {}, "is not a .pb or .dp model file"),
    ([DATA / "missing.pb"], {}, "is not a .pb or .dp model file"),
])
def test_members_that_are_not_the_loops_model_are_refused_before_anything_is_written(tmp_path, sources, changes,
                                                                                     message):
    with pytest.raises(ThioglassError, match=message.replace(".", r"\.")):
        _learner(tmp_path, **changes).adopt([str(p) for p in sources])
    assert not list((tmp_path / "run").glob("iter.*")) and not (tmp_path / "run" / "sel.json").exists()


def test_the_comparison_reads_deepmds_defaults_and_aliases():
    model = model_definition(MEMBERS[0])
    assert mismatch(model, model) is None
    alias = {**model, "descriptor": {**model["descriptor"], "type": "se_a"}}
    assert mismatch(model, alias) is None
    assert mismatch(model, {**model, "type_map": ["S", "P", "Si", "Li"]}).startswith("type_map")
    other = {**model, "fitting_net": {**model["fitting_net"], "neuron": [240, 240, 240]}}
    assert mismatch(model, other).startswith("fitting_net.neuron")


def test_the_cli_gives_one_line_for_a_bad_member(tmp_path, cli):
    config = write_plan(tmp_path)
    code, err = cli("learn", str(config), "--adopt", str(tmp_path / "none.pb"))
    assert code != 0 and "none.pb is not a .pb or .dp model file" in err and "Traceback" not in err


@pytest.mark.slow
def test_the_next_iteration_trains_from_adopted_members_converted_from_pytorch_format(tmp_path):
    """A .dp member (the PyTorch backend's serialised model) is converted, and the next iteration's training
    starts from its weights (DeePMD's --init-frz-model needs the model_type node the conversion adds)."""
    dp = Path(sys.executable).with_name("dp")
    subprocess.run([str(dp), "convert-backend", str(MEMBERS[0]), "m0.dp"], cwd=tmp_path, check=True,
                   capture_output=True)
    shutil.copy(MEMBERS[1], tmp_path / "m1.pb")
    _learner(tmp_path, iterations=2).adopt([str(tmp_path / "m0.dp"), str(tmp_path / "m1.pb")])
    records = _learner(tmp_path, iterations=2).run()
    assert [r.iteration for r in records] == [0, 1]
    log = (_member(tmp_path, 1, 0) / "train.log").read_text()
    assert "initialize training from the frozen model" in log
