"""Concurrent learning end to end on a tiny plan: iterations, selection, resume, config errors."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from thioglass.errors import ThioglassError
from thioglass.learn.config import load_config
from thioglass.learn.explore import exploration_tasks, read_deviation, select_candidates
from thioglass.learn.loop import Learner
from learn_plan import write_plan



def _config(tmp_path: Path, **changes) -> Path:
    return write_plan(tmp_path, **changes)


@pytest.fixture(scope="module")
def learned(tmp_path_factory):
    root = tmp_path_factory.mktemp("learn")
    records = Learner(load_config(_config(root)), log=lambda line: None).run()
    return root, records


def test_one_iteration_trains_explores_selects_and_labels(learned):
    root, records = learned
    (record,) = records
    assert record.explored == 11 and record.candidate == 11 and record.accurate == 0
    assert record.labelled == 3 and record.labels_total == 6 + 3
    iteration = root / "run" / "iter.000"
    assert len(list((iteration / "train").glob("model_*/frozen_model.pb"))) == 2
    assert json.loads((root / "run" / "iterations.json").read_text())[0]["candidate"] == 11
    assert (root / "run" / "iterations.png").stat().st_size > 0


def test_resume_adds_an_iteration_without_redoing_the_first(learned):
    root, _ = learned
    model = root / "run" / "iter.000" / "train" / "model_0" / "frozen_model.pb"
    stamp = model.stat().st_mtime
    records = Learner(load_config(_config(root, iterations=2)), log=lambda line: None).run()
    assert [r.iteration for r in records] == [0, 1]
    assert model.stat().st_mtime == stamp
    assert records[1].labels_total == 6 + 3 + 3
    log = (root / "run" / "iter.001" / "train" / "model_0" / "train.log").read_text()
    assert "initialize from model" in log  # later iterations start from the previous weights


def test_selection_respects_the_trust_window(tmp_path):
    from ase.build import bulk

    from thioglass.io.lammps_dump import dump_frame_text

    cell = bulk("Li", cubic=True) * (2, 2, 2)
    (tmp_path / "traj.dump").write_text("".join(dump_frame_text(cell, timestep=s) for s in (0, 10, 20, 30)))
    (tmp_path / "devi.out").write_text("#\n" + "".join(f"{s} 0 0 0 {v} 0 0\n" for s, v in ((0, 0.1), (10, 0.25), (20, 0.3), (30, 0.9))))
    from thioglass.learn.config import Selection

    result = select_candidates([(str(tmp_path / "traj.dump"), str(tmp_path / "devi.out"))], Selection(0.2, 0.4, 1), seed=0)
    assert (result.accurate, result.candidate, result.failed, len(result.chosen)) == (1, 2, 1, 1)
    assert 0.2 <= result.chosen[0].info["sigma_f_max"] < 0.4
    assert read_deviation(tmp_path / "devi.out")[30] == 0.9


def test_selection_spreads_candidates_over_runs(tmp_path):
    """A run with two candidates gets both even when another offers fifty and only six are taken."""
    from ase.build import bulk

    from thioglass.io.lammps_dump import dump_frame_text
    from thioglass.learn.config import Selection

    runs = []
    for name, count, repeat in (("many", 50, (2, 2, 2)), ("few", 2, (2, 2, 3))):
        cell = bulk("Li", cubic=True) * repeat  # 16 or 24 atoms: the size tells the run
        (tmp_path / f"{name}.dump").write_text("".join(dump_frame_text(cell, timestep=s) for s in range(count)))
        (tmp_path / f"{name}.out").write_text("#\n" + "".join(f"{s} 0 0 0 0.3 0 0\n" for s in range(count)))
        runs.append((str(tmp_path / f"{name}.dump"), str(tmp_path / f"{name}.out")))
    result = select_candidates(runs, Selection(0.2, 0.4, 6), seed=3)
    assert result.candidate == 52 and len(result.chosen) == 6
    assert sorted(len(atoms) for atoms in result.chosen) == [16, 16, 16, 16, 24, 24]


def test_failed_frames_below_the_cap_take_their_share_earliest_first(tmp_path):
    """With failed_share 0.5 of 6, three failed frames are chosen, the earliest of each run in turn, none at or
    above sigma_cap; candidates fill the rest. With the default (0) no failed frame is chosen."""
    from ase.build import bulk

    from thioglass.io.lammps_dump import dump_frame_text
    from thioglass.learn.config import Selection

    runs = []
    for name, sigmas in (("a", (0.3, 0.5, 0.6, 0.7, 0.3)), ("b", (1.5, 0.45, 0.3, 0.3, 0.3))):
        cell = bulk("Li", cubic=True) * (2, 2, 2)
        (tmp_path / f"{name}.dump").write_text("".join(dump_frame_text(cell, timestep=s) for s in range(5)))
        (tmp_path / f"{name}.out").write_text("#\n" + "".join(f"{s} 0 0 0 {v} 0 0\n" for s, v in enumerate(sigmas)))
        runs.append((str(tmp_path / f"{name}.dump"), str(tmp_path / f"{name}.out")))
    result = select_candidates(runs, Selection(0.2, 0.4, 6, failed_share=0.5, sigma_cap=1.0), seed=0)
    sigmas = [atoms.info["sigma_f_max"] for atoms in result.chosen]
    assert result.chosen_failed == 3 and sigmas[:3] == [0.5, 0.45, 0.6]  # run a's onset, run b's, then a again
    assert sorted(sigmas[3:]) == [0.3, 0.3, 0.3] and len(result.chosen) == 6
    assert result.failed == 5  # counted as failed all the same: the stop rule keeps the window
    default = select_candidates(runs, Selection(0.2, 0.4, 6), seed=0)
    assert default.chosen_failed == 0 and all(a.info["sigma_f_max"] < 0.4 for a in default.chosen)
    with pytest.raises(ThioglassError, match="sigma_cap"):
        Selection(0.2, 0.4, 6, failed_share=0.2, sigma_cap=0.3)
    with pytest.raises(ThioglassError, match="failed_share"):
        Selection(0.2, 0.4, 6, failed_share=1.5)


def test_explored_frames_are_counted_per_system_and_the_most_failed_named(tmp_path):
    from ase.build import bulk

    from thioglass.io.lammps_dump import dump_frame_text
    from thioglass.learn.config import Selection
    from thioglass.learn.explore import ExploreTask, by_system, most_failed

    runs, tasks = [], []
    for k, (system, sigmas) in enumerate((("crystal:A", (0.1, 0.5, 0.5, 0.3)), ("crystal:B", (0.1, 0.1)),
                                          ("crystal:A", (0.9,)), ("crystal:C", (0.3, 0.5)))):
        cell = bulk("Li", cubic=True) * (2, 2, 2)
        (tmp_path / f"{k}.dump").write_text("".join(dump_frame_text(cell, timestep=s) for s in range(len(sigmas))))
        (tmp_path / f"{k}.out").write_text("#\n" + "".join(f"{s} 0 0 0 {v} 0 0\n" for s, v in enumerate(sigmas)))
        runs.append((str(tmp_path / f"{k}.dump"), str(tmp_path / f"{k}.out")))
        tasks.append(ExploreTask(f"t{k}", system, 300.0, 1.0, 0.0, "nvt"))
    result = select_candidates(runs, Selection(0.2, 0.4, 10), seed=0)
    assert result.per_run == ((1, 1, 2), (2, 0, 0), (0, 0, 1), (0, 1, 1))
    systems = by_system(tasks, result)
    assert systems == {"crystal:A": {"accurate": 1, "candidate": 1, "failed": 3},
                       "crystal:B": {"accurate": 2, "candidate": 0, "failed": 0},
                       "crystal:C": {"accurate": 0, "candidate": 1, "failed": 1}}
    assert most_failed(systems) == "crystal:A 60%, crystal:C 50%"


def test_config_errors(tmp_path):
    with pytest.raises(ThioglassError, match="unknown key"):
        load_config(_config(tmp_path, temperature=3))
    with pytest.raises(ThioglassError, match="unknown key"):
        load_config(_config(tmp_path, training={"stpes": 3}))
    with pytest.raises(ThioglassError, match="sigma_low"):
        load_config(_config(tmp_path, selection={"sigma_low": 0.5, "sigma_high": 0.4}))
    with pytest.raises(ThioglassError, match="does not exist"):
        load_config(tmp_path / "missing.yml")
    (tmp_path / "bad.yml").write_text("a: [1,\n")
    with pytest.raises(ThioglassError, match="not valid YAML"):
        load_config(tmp_path / "bad.yml")


def test_exploration_plan_product(tmp_path):
    config = load_config(_config(tmp_path, exploration={"systems": ["crystal:Li2S", "glass:75Li2S-25P2S5:64"],
                                                        "temperatures_k": [300, 900], "pressures_bar": [1, 100],
                                                        "strains": [-0.1, 0.0, 0.1], "ensembles": ["nvt", "npt"]}))
    tasks = exploration_tasks(config.exploration)
    assert len(tasks) == 2 * 2 * 3 * (1 + 2)  # NVT runs once per pressure set, NPT at each pressure
    assert len({t.name for t in tasks}) == len(tasks)


def test_resume_with_other_settings_is_refused(learned):
    root, _ = learned
    with pytest.raises(ThioglassError, match="other settings"):
        Learner(load_config(_config(root, reference="chgnet-r2scan")), log=lambda line: None).run()


def test_the_trust_window_may_change_for_the_iterations_to_come(learned):
    """Finished iterations keep the window they selected with; only later ones see the new one."""
    root, records = learned
    before = json.loads((root / "run" / "iter.000" / "config.json").read_text())
    config = load_config(_config(root, selection={"sigma_low": 0.1, "sigma_high": 0.9}))
    again = Learner(config, log=lambda line: None).run()
    assert [asdict(r) for r in again] == [asdict(r) for r in records]
    assert json.loads((root / "run" / "iter.000" / "config.json").read_text()) == before
    assert json.loads((root / "run" / "config.json").read_text())["selection"]["sigma_high"] == 0.9


def test_an_audit_scores_every_iteration_on_frames_it_never_trained_on(learned, tmp_path):
    """Added to a finished run, the audit back-fills each iteration; frames the loop trained on are left out."""
    from dataclasses import replace

    from ase.io import read
    from deepmd.infer import DeepPot

    from thioglass.elements import TYPE_MAP
    from thioglass.learn.explore import initial_frames
    from thioglass.mlff.dataset import export_labels
    from thioglass.reference.label import LabelStore, label_frames

    root, _ = learned
    config = load_config(_config(root, iterations=2))
    independent = LabelStore(tmp_path / "independent")
    label_frames(initial_frames(replace(config.initial, seed=99, copies=2)), config.reference, independent)
    n_new = export_labels(independent, root / "audit.extxyz")
    n_trained = export_labels(LabelStore(root / "run" / "labels"), root / "trained.extxyz")
    lines: list[str] = []
    records = Learner(load_config(_config(root, iterations=2, audit={"labels": ["audit.extxyz", "trained.extxyz"]})),
                      log=lines.append).run()
    assert sum("audit on" in line for line in lines) == 2
    for k, record in enumerate(records):
        audit = json.loads((root / "run" / f"iter.{k:03d}" / "audit.json").read_text())
        assert audit["frames"] == n_new and audit["left_out_as_trained"] == n_trained and len(audit["members"]) == 2
        assert record.audit_rmse_f_ev_per_angstrom == pytest.approx(audit["mean"]["rmse_force_ev_per_angstrom"])
        # member 0's force RMSE recomputed with DeePMD's own inference
        dp = DeepPot(audit["members"][0]["model"])
        errors = []
        for atoms in read(root / "audit.extxyz", ":"):
            types = [TYPE_MAP.index(s) for s in atoms.get_chemical_symbols()]
            _, forces, _ = dp.eval(atoms.positions.reshape(1, -1), atoms.cell[:].reshape(1, -1), types)
            errors.append(forces[0] - atoms.get_forces())
        direct = float(np.sqrt(np.mean(np.concatenate(errors) ** 2)))
        assert audit["members"][0]["overall"]["rmse_force_ev_per_angstrom"] == pytest.approx(direct, rel=1e-5)
    assert json.loads((root / "run" / "iterations.json").read_text())[1]["audit_rmse_f_ev_per_angstrom"] is not None
    with pytest.raises(ThioglassError, match=r"audit.labels\[0\].*does not exist"):
        load_config(_config(root, audit={"labels": ["missing.extxyz"]}))
