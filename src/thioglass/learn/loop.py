"""DP-GEN-style concurrent learning: train an ensemble, explore with MD, select by deviation, label.

State lives on disk under ``config.workdir``: ``labels/`` (every reference label, one file per
frame), and ``iter.NNN/`` with ``train/model_i``, ``explore/<task>``, ``select.json``,
``candidates.extxyz`` and ``record.json`` once the iteration is complete. Every step is
idempotent, so ``thioglass learn`` killed at any point resumes where it stopped without retraining,
re-exploring or relabelling what is done.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import MISSING, asdict, dataclass, fields, is_dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
from ase.io import read, write

from thioglass.elements import TYPE_MAP
from thioglass.errors import ThioglassError
from thioglass.io.atomic import write_json, write_text
from thioglass.learn.config import ExplorationPlan, LearnConfig, TrainingPlan
from thioglass.md.jobs import CallJob, run_jobs
from thioglass.learn.explore import (ExploreTask, by_system, exploration_tasks, initial_frames, most_failed,
                                     select_candidates, start_structure, strained)
from thioglass.mlff.config import Schedule, TrainSettings, architecture
from thioglass.mlff.dataset import SplitSettings, write_training_sets
from thioglass.mlff.train import TrainResult, neighbour_sel, train_model
from thioglass.reference.label import LabelReport, LabelStore, frame_key, label_frames

if TYPE_CHECKING:
    from thioglass.learn.adopt import Adoption

Log = Callable[[str], None]


@dataclass(frozen=True)
class IterationRecord:
    """One row of the learning table."""

    iteration: int
    labels_total: int
    explored: int
    accurate: int
    candidate: int
    failed: int
    accurate_fraction: float
    labelled: int
    label_failures: int
    rmse_e_val_ev_per_atom: float | None
    rmse_f_val_ev_per_angstrom: float | None
    # The members' mean on the audit frames (None without an audit section): thioglass.learn.audit
    audit_rmse_e_mev_per_atom: float | None = None
    audit_rmse_f_ev_per_angstrom: float | None = None


def with_audit(record: IterationRecord, audit: dict | None) -> IterationRecord:
    """``record`` with the members' mean audit scores (unchanged without an audit)."""
    if audit is None:
        return record
    return replace(record, audit_rmse_e_mev_per_atom=audit["mean"]["rmse_energy_mev_per_atom"],
                   audit_rmse_f_ev_per_angstrom=audit["mean"]["rmse_force_ev_per_angstrom"])


def _map(client: Any, function: Callable, items: list, *args: Any) -> list:
    """``function(item, *args)`` for every item through the job layer; a failed item stops the loop."""
    outcome = run_jobs([CallJob(str(k), function, (item, *args)) for k, item in enumerate(items)], client)
    outcome.raise_first()  # an iteration needs every model and every exploration it asked for
    return list(outcome.results.values())


def _train_member(index: int, folder: str, settings: TrainSettings, data: dict, threads: int,
                  previous: str | None) -> TrainResult:
    member = settings.with_(seed=settings.seed + 1000 * index)
    init = previous_weights(Path(previous) / f"model_{index}") if previous else None
    return train_model(Path(folder) / f"model_{index}", member, data["train"], data["validation"],
                       compress=False, threads=threads, init_model=init)


def previous_weights(member: Path) -> str:
    """What member ``i`` of the next iteration starts from: this member's checkpoint, or its frozen model when
    only that was kept (a workdir restored from the repository without checkpoints)."""
    from thioglass.mlff.train import FROZEN

    if (member / "model.ckpt.index").exists():
        return str(member / "model.ckpt")
    if (member / FROZEN).exists():
        return str(member / FROZEN)
    raise ThioglassError(f"{member} holds neither a checkpoint (model.ckpt.*) nor {FROZEN} to start the next "
                         "iteration from; restore it, or set training.init_from_previous: false in a new workdir")


def member_schedule(plan: TrainingPlan, iteration: int) -> Schedule:
    """The full schedule, or from iteration 1 on with ``reuse_steps`` set, DP-GEN's shorter reuse schedule."""
    steps = plan.steps
    reuse = iteration > 0 and plan.init_from_previous and plan.reuse_steps is not None
    if reuse:
        steps = plan.reuse_steps
    # report and checkpoint intervals as every other training sizes them
    schedule = Schedule.sized(steps, limit_pref_e=plan.limit_pref_e)
    if reuse:
        schedule = replace(schedule, start_lr=plan.reuse_start_lr, start_pref_e=plan.reuse_start_pref_e,
                           start_pref_f=plan.reuse_start_pref_f, stop_lr=plan.reuse_stop_lr or schedule.stop_lr)
    return schedule


def sample_tasks(tasks: list[ExploreTask], limit: int | None, seed: int) -> list[ExploreTask]:
    """At most ``limit`` tasks drawn at random, in turn from each system so every system is explored (in the
    plan's order); all of them when ``limit`` is None."""
    if limit is None or limit >= len(tasks):
        return tasks
    rng = np.random.default_rng(seed)
    groups: dict[str, list[ExploreTask]] = {}
    for task in tasks:
        groups.setdefault(task.system, []).append(task)
    queues = [[group[i] for i in rng.permutation(len(group))] for group in groups.values()]
    chosen: list[ExploreTask] = []
    while len(chosen) < limit:
        for queue in queues:
            if queue and len(chosen) < limit:
                chosen.append(queue.pop())
    order = {task.name: k for k, task in enumerate(tasks)}
    return sorted(chosen, key=lambda task: order[task.name])


def converged(records: list[IterationRecord], config: LearnConfig) -> bool:
    """At least ``converged_accurate_fraction`` accurate and at most ``converged_failed_fraction`` failed, in
    each of the last ``converged_iterations`` iterations (the paper's "two in a row")."""
    last = records[-config.converged_iterations:]
    return len(last) == config.converged_iterations and all(
        r.explored > 0 and r.accurate_fraction >= config.converged_accurate_fraction
        and r.failed / r.explored <= config.converged_failed_fraction for r in last)


def explore_stage(task: ExploreTask, plan: ExplorationPlan) -> Any:
    """The task's MD stage; ``quench`` is the paper's melt-quench, NPT cooling from ``quench_from_k``."""
    from thioglass.md.protocol import Stage

    if task.ensemble == "quench":
        return Stage("explore", "npt", plan.duration_ps, plan.quench_from_k, task.temperature_k,
                     pressure_bar=task.pressure_bar, dump_every_ps=plan.sample_every_ps)
    return Stage("explore", task.ensemble, plan.duration_ps, task.temperature_k, pressure_bar=task.pressure_bar,
                 dump_every_ps=plan.sample_every_ps)


def _explore(task: ExploreTask, folder: str, config: LearnConfig, models: list[str], iteration: int) -> tuple[str, str]:
    from thioglass.md.lammps import LammpsEngine, LammpsSettings
    from thioglass.md.protocol import Protocol

    plan = config.exploration
    stage = explore_stage(task, plan)
    # A stable per-task seed (not hash(), which changes between processes) keeps a resumed task's protocol equal.
    protocol = Protocol((stage,), timestep_fs=plan.timestep_fs, seed=1 + iteration * 7919 + zlib.crc32(task.name.encode()) % 7919)
    atoms = strained(start_structure(task.system, seed=config.initial.seed), task.strain)
    engine = LammpsEngine(LammpsSettings(tuple(models), threads=config.threads, runaway_factor=4.0,
                                         min_distance_angstrom=0.3))
    workdir = Path(folder) / task.name
    stage_dir = workdir / "00_explore"
    if (workdir / "failed.txt").exists():  # blew up before: its frames up to then are what it has
        return str(stage_dir / "traj.dump"), str(stage_dir / "model_devi.out")
    try:
        result = engine.run(atoms, protocol, workdir)
    except ThioglassError as err:  # a blow-up still yields the frames it sampled before it
        if "blew up" not in str(err) and "lost" not in str(err):
            raise
        write_text(workdir / "failed.txt", str(err))
        return str(stage_dir / "traj.dump"), str(stage_dir / "model_devi.out")
    return result.stages[0].trajectory, result.stages[0].deviation or ""


#: Settings that only shape iterations not yet explored, so a run may resume with them changed.
ADJUSTABLE = ("iterations", "converged_accurate_fraction", "converged_failed_fraction", "converged_iterations",
              "exploration", "selection", "threads", "workers", "scheduler", "audit", "milestones")
# and training.reuse_* and training.limit_pref_e: each iteration trains with the plan it started with
# (Learner._plan)
TRAINING_ADJUSTABLE = ("limit_pref_e",)


def _with_defaults(stored: dict) -> dict:
    """A stored ``config.json`` with the keys added since it was written at their defaults (their behaviour
    before they existed), so an older workdir still resumes."""
    out = dict(stored)
    for f in fields(LearnConfig):
        default = f.default_factory() if f.default_factory is not MISSING else f.default
        if is_dataclass(default):
            out[f.name] = {**json.loads(json.dumps(asdict(default))), **stored.get(f.name, {})}
        elif f.name not in out:
            out[f.name] = default
    return out


def _locked(settings: dict, key: str) -> Any:
    """The part of a setting a resume must match: where the workdir and the seed label files lie may change
    (a checkout on another machine), their names may not."""
    value = settings.get(key)
    if key == "workdir":
        return None
    if key == "initial" and isinstance(value, dict):
        return {**value, "labels": [Path(name).name for name in value.get("labels", [])]}
    if key == "training" and isinstance(value, dict):  # each iteration keeps the reuse plan it started with
        return {k: v for k, v in value.items() if not k.startswith("reuse_") and k not in TRAINING_ADJUSTABLE}
    return value


class Learner:
    """Runs the loop of a :class:`LearnConfig`; ``log`` receives one line per step."""

    def __init__(self, config: LearnConfig, client: Any = None, log: Log = print) -> None:
        self.config = config
        self.client = client
        self.log = log
        self.root = Path(config.workdir)
        self.store = LabelStore(self.root / "labels")
        self._started_training: dict | None = None  # the stored training plan (_check_config)
        self._committed_keys: set[str] | None = None  # frame keys of initial.labels (_milestone)

    def run(self) -> list[IterationRecord]:
        self.root.mkdir(parents=True, exist_ok=True)
        self._check_config()
        self._seed_labels()
        records = []
        for k in range(self.config.iterations):
            record = self.iteration(k)
            records.append(record)
            self._write_table(records)
            if converged(records, self.config):
                self.log(f"converged at iteration {k}: {record.accurate_fraction:.1%} accurate, "
                         f"{record.failed / record.explored:.1%} failed, {self.config.converged_iterations} in a row")
                break
        self._milestone("the loop's end")
        return records

    def _milestone(self, what: str) -> None:
        """Save the state for the repository (``milestones``), when the plan asks for it."""
        saved = self.config.milestones
        if saved.enabled:
            from thioglass.learn.state import frame_keys, save_state

            if self._committed_keys is None:  # read once: the initial label files change only between runs
                self._committed_keys = frame_keys(self.config.initial.labels)
            line = save_state(self.root, saved.archive, saved.labels, self._committed_keys)
            self.log(f"milestone ({what}): {line}")

    def _check_config(self) -> None:
        """Refuse to resume with another reference, seed data or training (labels and models would mix).

        What decides only the iterations still to come (exploration, trust window, their number and the
        resources) may change between runs, as DP-GEN allows per iteration; each iteration keeps the
        settings it explored with in its own ``config.json``.
        """
        record = self.root / "config.json"
        current = self._settings()
        self._started_training = current["training"]
        if record.exists():
            previous = _with_defaults(json.loads(record.read_text()))
            self._started_training = previous["training"]  # what an iteration already training started with
            differs = sorted(k for k in current if k not in ADJUSTABLE and _locked(previous, k) != _locked(current, k))
            if differs:
                raise ThioglassError(f"{self.root} was started with other settings ({', '.join(differs)}); "
                                     f"use a new workdir or restore them (only {', '.join(ADJUSTABLE)} may change)")
        write_json(record, current)

    def _settings(self) -> dict:
        return json.loads(json.dumps(asdict(self.config)))  # tuples -> lists, as stored

    def _seed_labels(self) -> None:
        from thioglass.mlff.dataset import import_labels

        for path in self.config.initial.labels:  # at every start: a file re-exported since brings its new frames
            added = import_labels(path, self.store)
            self.log(f"seed labels: {added} new frames from {path}")
        marker = self.root / "initial.done"
        if marker.exists():
            return
        frames = initial_frames(self.config.initial)
        report = label_frames(frames, self.config.reference, self.store, client=self.client,
                              options=self.config.reference_options)
        self.log(f"initial data: {report.labelled} labelled, {report.already_done} already done, {report.failed} failed")
        write_json(marker, asdict(report))

    def iteration(self, k: int) -> IterationRecord:
        folder = self.root / f"iter.{k:03d}"
        record_file = folder / "record.json"
        if record_file.exists():
            return self._audited(k, IterationRecord(**json.loads(record_file.read_text())), folder)
        folder.mkdir(parents=True, exist_ok=True)
        models, metrics = self._train(k, folder)
        audit = self._audit(k, models, folder / "audit.json")
        selection_file = folder / "select.json"
        if not selection_file.exists():
            self._milestone(f"iteration {k} trained")
            write_json(folder / "config.json", self._settings())
            tasks = sample_tasks(exploration_tasks(self.config.exploration),
                                 self.config.exploration.tasks_per_iteration, seed=k)
            self.log(f"iteration {k}: exploring {len(tasks)} MD tasks")
            runs = _map(self.client, _explore, tasks, str(folder / "explore"), self.config, models, k)
            result = select_candidates(runs, self.config.selection, self.config.selection.seed + k)
            if result.chosen:
                write(folder / "candidates.extxyz", result.chosen)
            systems = by_system(tasks, result)
            write_json(selection_file, {"accurate": result.accurate, "candidate": result.candidate,
                                        "failed": result.failed, "chosen": len(result.chosen),
                                        "chosen_failed": result.chosen_failed, "by_system": systems})
            if result.failed > self.config.converged_failed_fraction * max(result.total, 1):
                # the rule: many frames beyond the trust window mean a bad model, not bad frames
                self.log(f"iteration {k}: {result.failed / max(result.total, 1):.0%} failed; the model is furthest "
                         f"from its reference on {most_failed(systems)}; {result.chosen_failed} failed frames "
                         f"below {self.config.selection.sigma_cap:g} eV/Å chosen to label")
            self._milestone(f"iteration {k} explored")
        selection = json.loads(selection_file.read_text())
        chosen = read(folder / "candidates.extxyz", ":") if selection["chosen"] else []
        report = self._label(k, chosen)
        explored = selection["accurate"] + selection["candidate"] + selection["failed"]
        record = IterationRecord(k, len(self.store.keys()), explored, selection["accurate"], selection["candidate"],
                                 selection["failed"], selection["accurate"] / max(explored, 1),
                                 report.labelled + report.already_done, report.failed,
                                 metrics.get("rmse_e_val"), metrics.get("rmse_f_val"))
        record = with_audit(record, audit)
        write_json(record_file, asdict(record))
        self.log(f"iteration {k}: {record.accurate_fraction:.1%} accurate, {record.candidate} candidates, "
                 f"{record.failed} failed, {record.labelled} labelled")
        return record

    def _label(self, k: int, chosen: list) -> LabelReport:
        """Label the chosen frames in batches of ``milestones.label_batch``, saving a milestone after each batch
        that labelled something, so a session's end loses at most one batch of reference work."""
        unique = list({frame_key(atoms): atoms for atoms in chosen}.values())
        size = self.config.milestones.label_batch if self.config.milestones.enabled else max(len(unique), 1)
        done = labelled = failed = 0
        for start in range(0, len(unique), size):
            report = label_frames(unique[start:start + size], self.config.reference, self.store,
                                  client=self.client, options=self.config.reference_options)
            done, labelled, failed = done + report.already_done, labelled + report.labelled, failed + report.failed
            if report.labelled or report.failed:
                self._milestone(f"iteration {k}, {labelled + failed + done} of {len(unique)} chosen frames labelled")
        return LabelReport(done, labelled, failed, str(self.store.root))

    def _audited(self, k: int, record: IterationRecord, folder: Path) -> IterationRecord:
        """A finished iteration's record, its audit computed now when an audit was added since."""
        from thioglass.mlff.train import FROZEN

        if not self.config.audit.labels or (folder / "audit.json").exists():
            return record
        models = [str(p) for p in sorted((folder / "train").glob(f"model_*/{FROZEN}"))]
        if not models:  # a workdir restored from a packed state keeps only the last iterations' members
            return record
        record = with_audit(record, self._audit(k, models, folder / "audit.json"))
        write_json(folder / "record.json", asdict(record))
        return record

    def _audit(self, k: int, models: list[str], path: Path) -> dict | None:
        """The members on the audit frames (computed once per iteration; None without audit files)."""
        from thioglass.learn.audit import audit_frames, audit_models, summary_line

        if not self.config.audit.labels:
            return None
        if not path.exists():
            frames, left_out = audit_frames(self.config.audit.labels, self.store.keys())
            write_json(path, audit_models(models, frames, self.config.audit.group_by, left_out))
        audit = json.loads(path.read_text())
        self.log(f"iteration {k}: {summary_line(audit)}")
        return audit

    def _plan(self, folder: Path) -> TrainingPlan:
        """The iteration's training plan: the one it started with, else the current one (written now)."""
        path = folder / "train" / "plan.json"
        if not path.exists():
            started = any((folder / "train").glob("model_*/input.json"))  # before plan.json existed
            current = self._settings()["training"]
            write_json(path, (self._started_training or current) if started else current)
        return TrainingPlan(**json.loads(path.read_text()))

    def _train(self, k: int, folder: Path) -> tuple[list[str], dict]:
        plan = self._plan(folder)
        data_dir = folder / "data"
        # The data are fixed when first written: labels added later (seeds imported on a restart) join the
        # next iteration, so a resumed member trains on what its siblings trained on.
        which = "the training data written at the iteration's start"
        if not (data_dir / "systems.json").exists():
            which = f"{len(self.store.keys())} labels"
            data = write_training_sets(self.store, data_dir, SplitSettings(plan.validation_fraction, seed=k))
            write_json(data_dir / "systems.json", data)
        data = json.loads((data_dir / "systems.json").read_text())
        arch = architecture(plan.architecture)
        sel_file = self.root / "sel.json"
        if not sel_file.exists():  # fixed once so every iteration's models share one descriptor
            write_json(sel_file, neighbour_sel(data["train"], arch.rcut_angstrom, TYPE_MAP))
        schedule = member_schedule(plan, k)
        settings = TrainSettings(architecture=arch, seed=plan.seed, sel=tuple(json.loads(sel_file.read_text())),
                                 schedule=schedule)
        previous = str(self.root / f"iter.{k - 1:03d}" / "train") if k > 0 and plan.init_from_previous else None
        self.log(f"iteration {k}: training {plan.models} models on {which}, "
                 f"{schedule.steps} steps" + (" from the previous iteration's models" if previous else ""))
        results = _map(self.client, _train_member, list(range(plan.models)), str(folder / "train"), settings, data,
                       self.config.threads, previous)
        return [r.frozen_model for r in results], results[0].final_rmse

    def adopt(self, sources: list[str]) -> "Adoption":
        """Members trained elsewhere become the first unexplored iteration's (:mod:`thioglass.learn.adopt`)."""
        from thioglass.learn.adopt import adopt_members, model_files
        from thioglass.mlff.config import model_section
        from thioglass.mlff.convert import model_definition

        self.root.mkdir(parents=True, exist_ok=True)
        self._check_config()
        plan, sel_file = TrainingPlan(**self._settings()["training"]), self.root / "sel.json"
        # before the first training the members' sel becomes the loop's (check_members holds all to it)
        sel = json.loads(sel_file.read_text()) if sel_file.exists() else \
            model_definition(model_files(sources)[0]).get("descriptor", {}).get("sel")
        expected = model_section(TrainSettings(architecture=architecture(plan.architecture), sel=tuple(sel or ())))
        adoption = adopt_members(self.root, self.config.iterations, expected,
                                 lambda k: member_schedule(self._plan(self.root / f"iter.{k:03d}"), k).steps,
                                 sources, plan.models)
        if not sel_file.exists():
            write_json(sel_file, list(sel))
        return adoption

    def _write_table(self, records: list[IterationRecord]) -> None:
        write_json(self.root / "iterations.json", [asdict(r) for r in records])
        from thioglass.report.learn_plots import plot_iterations

        plot_iterations([asdict(r) for r in records], self.root / "iterations.png")
