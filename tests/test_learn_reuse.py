"""Training reuse in the learning loop (DP-GEN's training_reuse_iter), its resume, the convergence rule, and
seed labels read from files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from thioglass.errors import ThioglassError
from thioglass.learn.config import LearnConfig, TrainingPlan, load_config
from learn_plan import PLAN as BASE
from learn_plan import write_plan
from thioglass.learn.loop import IterationRecord, Learner, converged, member_schedule, previous_weights

#: The shared tiny plan with two iterations, the second on DP-GEN's shorter reuse schedule.
PLAN = {**BASE, "iterations": 2,
        "training": {**BASE["training"], "reuse_steps": 20, "reuse_start_lr": 5e-4, "reuse_start_pref_f": 200.0},
        "exploration": {**BASE["exploration"], "duration_ps": 0.05},
        "selection": {**BASE["selection"], "max_candidates": 2},
        # saved after every step, one labelled frame at a time, as a long campaign saves itself for a repository
        "milestones": {"archive": "state/learn.tar.gz", "labels": "state/labels.extxyz.gz", "label_batch": 1}}


def _config(folder: Path, **changes) -> Path:
    return write_plan(folder, PLAN, **changes)


def _quiet(config_path: Path) -> Learner:
    return Learner(load_config(config_path), log=lambda line: None)


@pytest.fixture(scope="module")
def reused(tmp_path_factory):
    root = tmp_path_factory.mktemp("reuse")
    lines: list[str] = []
    records = Learner(load_config(_config(root)), log=lines.append).run()
    (root / "learn.log").write_text("\n".join(lines))
    return root, records


def _member(root: Path, iteration: int, index: int) -> Path:
    return root / "run" / f"iter.{iteration:03d}" / "train" / f"model_{index}"


def test_later_iterations_train_the_short_schedule_from_the_previous_members(reused):
    root, records = reused
    assert [r.iteration for r in records] == [0, 1]
    first = json.loads((_member(root, 0, 0) / "input.json").read_text())
    assert first["training"]["numb_steps"] == 60 and first["learning_rate"]["start_lr"] == 2e-3
    for index in (0, 1):
        member = _member(root, 1, index)
        doc = json.loads((member / "input.json").read_text())
        assert doc["training"]["numb_steps"] == 20
        assert doc["learning_rate"]["start_lr"] == 5e-4
        assert doc["loss"]["start_pref_f"] == 200.0 and doc["loss"]["start_pref_e"] == 0.1
        assert json.loads((member / "done.json").read_text())["steps"] == 20
        log = (member / "train.log").read_text()
        assert "initialize from model" in log and f"iter.000/train/model_{index}/model.ckpt" in log


def test_a_killed_iteration_keeps_its_finished_members(reused):
    """Member 1 killed after its training: the rerun keeps member 0 and finishes member 1 from its checkpoint."""
    root, records = reused
    kept = _member(root, 1, 0) / "frozen_model.pb"
    stamp = kept.stat().st_mtime
    (root / "run" / "iter.001" / "record.json").unlink()
    for name in ("done.json", "frozen_model.pb"):
        (_member(root, 1, 1) / name).unlink()
    again = _quiet(_config(root)).run()
    assert kept.stat().st_mtime == stamp
    assert (_member(root, 1, 1) / "frozen_model.pb").exists()
    assert "restart from model" in (_member(root, 1, 1) / "train.log").read_text()
    assert again[1].labels_total == records[1].labels_total


def test_an_iteration_starts_from_frozen_models_when_no_checkpoint_was_kept(reused, tmp_path):
    root, _ = reused
    moved = tmp_path / "moved"
    shutil.copytree(root / "run", moved / "run")  # another checkout: the workdir's path may change
    for index in (0, 1):
        for ckpt in _member(moved, 1, index).glob("model.ckpt*"):
            ckpt.unlink()
    records = _quiet(_config(moved, iterations=3)).run()
    assert [r.iteration for r in records] == [0, 1, 2]
    member = _member(moved, 2, 0)
    assert "initialize training from the frozen model" in (member / "train.log").read_text()
    assert json.loads((member / "done.json").read_text())["steps"] == 20


def test_previous_weights(tmp_path):
    with pytest.raises(ThioglassError, match="neither a checkpoint"):
        previous_weights(tmp_path)
    (tmp_path / "frozen_model.pb").write_bytes(b"")
    assert previous_weights(tmp_path).endswith("frozen_model.pb")
    (tmp_path / "model.ckpt.index").write_bytes(b"")
    assert previous_weights(tmp_path).endswith("model.ckpt")


def test_member_schedule():
    plan = TrainingPlan(steps=1000, reuse_steps=100, reuse_start_lr=1e-4)
    assert member_schedule(plan, 0).steps == 1000 and member_schedule(plan, 0).start_lr == 2e-3
    assert member_schedule(plan, 1).steps == 100 and member_schedule(plan, 1).start_lr == 1e-4
    assert member_schedule(TrainingPlan(steps=1000), 3).steps == 1000


def test_mixed_settings_are_refused(reused, tmp_path):
    root, _ = reused
    with pytest.raises(ThioglassError, match=r"other settings \(training\)"):
        _quiet(_config(root, training={**PLAN["training"], "architecture": "paper"})).run()
    with pytest.raises(ThioglassError, match="init_from_previous"):
        load_config(_config(tmp_path, training={**PLAN["training"], "init_from_previous": False}))
    # A member's checkpoint continues only its own training: another learning rate is refused before dp runs.
    from thioglass.mlff.config import FAST, Schedule, TrainSettings
    from thioglass.mlff.train import train_model

    member = tmp_path / "member"
    shutil.copytree(_member(root, 1, 0), member)
    (member / "done.json").unlink()
    data = json.loads((root / "run" / "iter.001" / "data" / "systems.json").read_text())
    sel = tuple(json.loads((root / "run" / "sel.json").read_text()))
    other = TrainSettings(architecture=FAST, sel=sel, schedule=Schedule(steps=40))
    with pytest.raises(ThioglassError, match="another net, loss or learning rate"):
        train_model(member, other, data["train"], data["validation"], compress=False)


def test_a_new_reuse_plan_applies_from_the_next_iteration_to_train(reused):
    """Iterations that trained keep their plan (plan.json); the next one trains with the changed one."""
    root, records = reused
    changed = {**PLAN["training"], "reuse_steps": 30, "reuse_start_lr": 1e-3, "reuse_stop_lr": 1e-5,
               "limit_pref_e": 20.0}
    stamps = {p: p.stat().st_mtime_ns for p in (root / "run").glob("iter.00[01]/train/model_*/frozen_model.pb")}
    again = _quiet(_config(root, iterations=3, training=changed)).run()
    assert len(again) == 3 and all(p.stat().st_mtime_ns == t for p, t in stamps.items())
    for k, steps in ((1, 20), (2, 30)):
        assert json.loads((root / "run" / f"iter.00{k}" / "train" / "plan.json").read_text())["reuse_steps"] == steps
    doc = json.loads((_member(root, 2, 0) / "input.json").read_text())
    assert doc["training"]["numb_steps"] == 30 and doc["learning_rate"]["start_lr"] == 1e-3
    assert doc["learning_rate"]["stop_lr"] == 1e-5 and doc["loss"]["limit_pref_e"] == 20.0
    assert json.loads((_member(root, 1, 0) / "input.json").read_text())["loss"]["limit_pref_e"] == 1.0
    with pytest.raises(ThioglassError, match="limit_pref_e must be positive"):
        load_config(_config(root, training={**changed, "limit_pref_e": 0}))
    with pytest.raises(ThioglassError, match="reuse_stop_lr"):
        load_config(_config(root, training={**changed, "reuse_stop_lr": 1e-2}))


def test_an_older_workdir_without_the_new_keys_resumes(reused):
    root, records = reused
    stored = json.loads((root / "run" / "config.json").read_text())
    for key in ("reuse_steps", "reuse_start_lr", "reuse_start_pref_e", "reuse_start_pref_f"):
        stored["training"].pop(key)
    stored["initial"].pop("labels")
    stored.pop("converged_failed_fraction")
    (root / "run" / "config.json").write_text(json.dumps(stored))
    plain = {k: v for k, v in PLAN["training"].items() if not k.startswith("reuse")}
    again = _quiet(_config(root, training=plain)).run()  # the defaults are what the old workdir did
    assert len(again) == len(records)


def _record(k: int, accurate: int, failed: int, explored: int = 100) -> IterationRecord:
    return IterationRecord(k, 0, explored, accurate, explored - accurate - failed, failed, accurate / max(explored, 1),
                           0, 0, None, None)


def test_convergence_needs_two_iterations_in_a_row(tmp_path):
    config = LearnConfig(exploration=load_config(_config(tmp_path)).exploration)
    assert config.converged_iterations == 2 and config.converged_failed_fraction == 0.01
    good, also_good = _record(0, 96, 1), _record(1, 97, 0)
    assert not converged([good], config)
    assert converged([good, also_good], config)
    assert not converged([_record(0, 99, 0), _record(1, 96, 2)], config)  # 2 % failed
    assert not converged([_record(0, 94, 0), _record(1, 99, 0)], config)  # 94 % accurate before
    assert not converged([good, also_good, _record(2, 90, 0)], config)  # the last two count
    assert not converged([_record(0, 0, 0, explored=0)] * 2, config)


def test_seed_labels_come_from_files_beside_the_config(reused, tmp_path):
    root, _ = reused
    from thioglass.mlff.dataset import export_labels
    from thioglass.reference.label import LabelStore

    count = export_labels(LabelStore(root / "run" / "labels"), tmp_path / "seed.extxyz.gz")
    path = _config(tmp_path, iterations=0, initial={"labels": ["seed.extxyz.gz"]})
    _quiet(path).run()
    assert len(LabelStore(tmp_path / "run" / "labels").keys()) == count
    with pytest.raises(ThioglassError, match=r"initial.labels\[0\].*does not exist"):
        load_config(_config(tmp_path, initial={"labels": ["missing.extxyz.gz"]}))


def test_a_sample_of_the_plan_per_iteration_covers_every_system(tmp_path):
    from thioglass.learn.explore import exploration_tasks
    from thioglass.learn.loop import sample_tasks

    config = load_config(_config(tmp_path, exploration={
        "systems": ["crystal:Li2S", "crystal:SiS2", "glass:75Li2S-25P2S5:64"], "temperatures_k": [200, 650, 2000],
        "pressures_bar": [1, 100], "strains": [-0.1, 0.0, 0.1], "ensembles": ["nvt", "npt", "quench"],
        "tasks_per_iteration": 7}))
    tasks = exploration_tasks(config.exploration)
    first, again, second = (sample_tasks(tasks, 7, seed) for seed in (0, 0, 1))
    assert len(first) == 7 and first == again and first != second
    assert {t.system for t in first} == {t.system for t in tasks}
    assert max(sum(t.system == s for t in first) for s in config.exploration.systems) == 3
    assert sample_tasks(tasks, None, 0) == tasks


def test_quench_tasks_cool_from_the_melt(tmp_path):
    from thioglass.learn.explore import ExploreTask
    from thioglass.learn.loop import explore_stage

    config = load_config(_config(tmp_path, exploration={**PLAN["exploration"], "quench_from_k": 1800}))
    stage = explore_stage(ExploreTask("q", "glass:75Li2S-25P2S5:64", 300.0, 100.0, 0.0, "quench"), config.exploration)
    assert (stage.ensemble, stage.t_start_k, stage.final_temperature_k, stage.pressure_bar) == ("npt", 1800, 300, 100)
    with pytest.raises(ThioglassError, match="ensembles"):
        load_config(_config(tmp_path, exploration={**PLAN["exploration"], "ensembles": ["nve"]}))
    with pytest.raises(ThioglassError, match="write 1.0e-4"):
        load_config(_config(tmp_path, training={**PLAN["training"], "reuse_start_lr": "1e-4"}))


def test_the_packed_state_holds_what_a_resume_needs(tmp_path):
    """training/learn_state.py: records of every iteration, frozen members of the last two that trained, the
    checkpoint of a member still training (links packed as files), no trajectories or training sets."""
    import subprocess
    import sys
    import tarfile

    run = tmp_path / "run"
    files = ["config.json", "sel.json", "iterations.json", "iter.000/record.json", "iter.000/explore/t/traj.dump",
             "iter.000/data/systems.json", "iter.001/record.json", "iter.001/select.json"]
    for k in (0, 1, 2):
        files += [f"iter.00{k}/train/model_0/frozen_model.pb", f"iter.00{k}/train/model_0/done.json",
                  f"iter.00{k}/train/model_0/model.ckpt-9.index"]
    files += ["iter.002/train/model_1/checkpoint", "iter.002/train/model_1/model.ckpt-5.index"]
    for name in files:
        (run / name).parent.mkdir(parents=True, exist_ok=True)
        (run / name).write_text(name)
    (run / "iter.002/train/model_1/model.ckpt.index").symlink_to("model.ckpt-5.index")
    script = Path(__file__).parents[1] / "training" / "learn_state.py"
    subprocess.run([sys.executable, str(script), str(run), str(tmp_path / "state.tar.gz")], check=True,
                   capture_output=True)
    with tarfile.open(tmp_path / "state.tar.gz") as tar:
        names = set(tar.getnames())
        linked = tar.extractfile("run/iter.002/train/model_1/model.ckpt.index").read().decode()
    assert {"run/config.json", "run/iter.000/record.json", "run/iter.001/select.json",
            "run/iter.001/train/model_0/frozen_model.pb", "run/iter.002/train/model_0/frozen_model.pb",
            "run/iter.002/train/model_1/checkpoint"} <= names
    assert linked == "iter.002/train/model_1/model.ckpt-5.index"
    assert not any("explore" in n or "/data/" in n or "ckpt-" in n or n.startswith("run/iter.000/train")
                   for n in names)


def test_the_loop_saves_itself_and_resumes_from_what_it_saved(reused, tmp_path):
    """milestones: the archive and the label export after every step; a fresh checkout that unpacks and
    imports them resumes with nothing explored, trained or labelled again."""
    import tarfile

    from thioglass.learn.state import frame_keys
    from thioglass.mlff.dataset import import_labels
    from thioglass.reference.label import LabelStore

    root, records = reused
    log = (root / "learn.log").read_text()
    for step in ("iteration 0 trained", "iteration 1 explored", "iteration 1, 1 of 2 chosen frames labelled",
                 "iteration 1, 2 of 2 chosen frames labelled", "the loop's end"):
        assert f"milestone ({step})" in log
    archive, labels = root / "state" / "learn.tar.gz", root / "state" / "labels.extxyz.gz"
    store = LabelStore(root / "run" / "labels")
    assert frame_keys([labels]) == set(store.keys("done"))
    with tarfile.open(archive) as tar:
        assert {"run/iter.001/record.json", "run/iter.001/train/model_0/frozen_model.pb"} <= set(tar.getnames())
        tar.extractall(tmp_path, filter="data")
    assert import_labels(labels, LabelStore(tmp_path / "run" / "labels")) == len(store.keys("done"))
    again = _quiet(_config(tmp_path)).run()
    assert [(r.iteration, r.accurate, r.labelled) for r in again] == [(r.iteration, r.accurate, r.labelled)
                                                                       for r in records]
    assert not list((tmp_path / "run").glob("iter.*/explore")) and not list((tmp_path / "run").glob("**/train.log"))
    assert not list(root.glob("state/.partial-*"))
