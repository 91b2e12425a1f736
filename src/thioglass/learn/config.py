"""The concurrent-learning configuration (``thioglass learn CONFIG.yml``), validated strictly.

Unknown keys are errors, so a typo never silently falls back to a default. See
``thioglass/data/learn_example.yml`` for a commented example.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from thioglass.errors import ThioglassError
from thioglass.reference.calculators import DEFAULT_REFERENCE


@dataclass(frozen=True)
class InitialData:
    """Seed data: crystals and random-packed glasses, each rattled and strained ``copies`` times, and
    ``labels``: files of frames already labelled by the same reference (extxyz with energies, forces and
    stress, such as ``thioglass label --export`` writes), imported into the store at every start."""

    labels: tuple[str, ...] = ()
    crystals: tuple[str, ...] = ()
    glasses: tuple[str, ...] = ()
    glass_atoms: int = 96
    copies: int = 8
    rattle_angstrom: float = 0.05
    max_strain: float = 0.05
    seed: int = 0


@dataclass(frozen=True)
class TrainingPlan:
    """Ensemble training per iteration (``architecture``: a name of :data:`thioglass.mlff.config.ARCHITECTURES`).

    ``init_from_previous``: from iteration 1 on, member i starts from member i of the iteration before.
    ``reuse_steps`` (DP-GEN's ``training_reuse_iter``): those members then train this shorter schedule,
    its learning rate starting at ``reuse_start_lr`` and the energy and force prefactors at
    ``reuse_start_pref_e`` and ``reuse_start_pref_f`` (DP-GEN's defaults), decaying to ``reuse_stop_lr``
    (None: the full schedule's 3.5e-8); None trains the full ``steps``. ``limit_pref_e``: the energy
    prefactor the loss ends at (DeePMD's default 1; the force prefactor ends at 1), in every schedule. The
    ``reuse_*`` settings and ``limit_pref_e`` may change on a resume: an iteration trains with the plan it
    started with (``iter.NNN/train/plan.json``), so a change applies from the next iteration that has not
    started training.
    """

    architecture: str = "fast"
    steps: int = 20_000
    models: int = 4
    seed: int = 1
    validation_fraction: float = 0.1
    init_from_previous: bool = True
    reuse_steps: int | None = None
    reuse_start_lr: float = 1e-4
    reuse_start_pref_e: float = 0.1
    reuse_start_pref_f: float = 100.0
    reuse_stop_lr: float | None = None
    limit_pref_e: float = 1.0

    def __post_init__(self) -> None:
        if self.reuse_stop_lr is not None and not 0 < self.reuse_stop_lr < self.reuse_start_lr:
            raise ThioglassError(f"training.reuse_stop_lr {self.reuse_stop_lr} must lie between 0 and reuse_start_lr "
                                 f"{self.reuse_start_lr} (write it as 1.0e-5)")
        numbers = ("steps", "reuse_start_lr", "reuse_start_pref_e", "reuse_start_pref_f", "limit_pref_e")
        for name in numbers:
            if isinstance(getattr(self, name), bool) or not isinstance(getattr(self, name), (int, float)):
                raise ThioglassError(f"training.{name} must be a number, got {getattr(self, name)!r} "
                                     "(YAML reads 1e-4 as text: write 1.0e-4)")
        if self.steps < 1:
            raise ThioglassError(f"training.steps must be at least 1, got {self.steps}")
        if self.limit_pref_e <= 0:
            raise ThioglassError(f"training.limit_pref_e must be positive, got {self.limit_pref_e}")
        if self.reuse_steps is not None:
            if not self.init_from_previous:
                raise ThioglassError("training.reuse_steps needs training.init_from_previous: true "
                                     "(a short schedule from random weights would not train a model)")
            if self.reuse_steps < 1 or self.reuse_start_lr <= 0:
                raise ThioglassError("training.reuse_steps must be at least 1 and reuse_start_lr positive")


@dataclass(frozen=True)
class ExplorationPlan:
    """MD sampling: every system at every temperature, pressure and strain.

    ``ensembles``: nvt, npt, and ``quench`` (NPT cooling from ``quench_from_k`` to the task's temperature
    over ``duration_ps``: the paper's melt-quench). ``tasks_per_iteration``: when set, each iteration runs a
    seeded sample of that many tasks of the whole product, spread evenly over the systems (the sample
    changes every iteration), as DP-GEN explores part of its plan per iteration.
    """

    systems: tuple[str, ...] = ()
    temperatures_k: tuple[float, ...] = (300.0, 900.0, 1500.0)
    pressures_bar: tuple[float, ...] = (1.0,)
    strains: tuple[float, ...] = (0.0,)
    ensembles: tuple[str, ...] = ("npt",)
    duration_ps: float = 2.0
    sample_every_ps: float = 0.02
    timestep_fs: float = 1.0
    quench_from_k: float = 2000.0
    tasks_per_iteration: int | None = None

    def __post_init__(self) -> None:
        unknown = sorted(set(self.ensembles) - {"nvt", "npt", "quench"})
        if unknown:
            raise ThioglassError(f"exploration.ensembles {unknown} unknown; use nvt, npt or quench")
        if self.tasks_per_iteration is not None and self.tasks_per_iteration < 1:
            raise ThioglassError("exploration.tasks_per_iteration must be at least 1 (or null for every task)")


@dataclass(frozen=True)
class Selection:
    """DP-GEN's trust window on sigma_f_max (eV/Å) and the labelling cap per iteration."""

    sigma_low: float = 0.2
    sigma_high: float = 0.4
    max_candidates: int = 100
    seed: int = 0
    # Up to this share of max_candidates may go to failed frames (sigma_high <= sigma_f_max < sigma_cap), each
    # run's earliest first: where its MD left what the models know. A high failed share marks a bad model,
    # not bad frames, and a window that never labels them cannot mend it. 0 is DP-GEN's rule (never labelled);
    # above sigma_cap a frame counts as blown up and is never labelled. The stop rule keeps the window.
    failed_share: float = 0.0
    sigma_cap: float = 1.0

    def __post_init__(self) -> None:
        if not 0 <= self.failed_share <= 1:
            raise ThioglassError("selection.failed_share is a share of max_candidates: between 0 and 1")
        if self.failed_share and self.sigma_cap <= self.sigma_high:
            raise ThioglassError("selection.sigma_cap must lie above sigma_high: failed frames below it may be labelled")


@dataclass(frozen=True)
class Audit:
    """Labelled frames made independently of the loop (reference-driven MD, DFT), by the loop's reference,
    that score every iteration's members (:mod:`thioglass.learn.audit`), grouped by the text tag
    ``group_by``. They only observe: they may be added or changed on a resume."""

    labels: tuple[str, ...] = ()
    group_by: str = "family"


@dataclass(frozen=True)
class Milestones:
    """Where the loop saves its state for a repository (:mod:`thioglass.learn.state`): after each training,
    exploration, every ``label_batch`` labelled frames and each finished iteration. Paths are the config's
    folder's; none set saves nothing. They may change on a resume."""

    archive: str | None = None
    labels: str | None = None
    label_batch: int = 100

    @property
    def enabled(self) -> bool:
        return bool(self.archive or self.labels)

    def __post_init__(self) -> None:
        if self.label_batch < 1:
            raise ThioglassError(f"milestones.label_batch must be at least 1, got {self.label_batch}")


@dataclass(frozen=True)
class LearnConfig:
    """Everything ``thioglass learn`` needs."""

    workdir: str = "learn"
    reference: str = DEFAULT_REFERENCE  # the one home of the default (reference/calculators.py)
    # Options of a DFT reference (gpaw-pbesol: encut_ev, kspacing_inv_angstrom, threads, ...); locked on resume.
    reference_options: dict[str, Any] = field(default_factory=dict)
    iterations: int = 10
    # Converged: at least this share accurate and at most this share failed, in this many iterations in a row.
    converged_accurate_fraction: float = 0.95
    converged_failed_fraction: float = 0.01
    converged_iterations: int = 2
    threads: int = 2
    workers: int = 1
    scheduler: str | None = None
    initial: InitialData = field(default_factory=InitialData)
    training: TrainingPlan = field(default_factory=TrainingPlan)
    exploration: ExplorationPlan = field(default_factory=ExplorationPlan)
    selection: Selection = field(default_factory=Selection)
    audit: Audit = field(default_factory=Audit)
    milestones: Milestones = field(default_factory=Milestones)

    def __post_init__(self) -> None:
        s = self.selection
        if not 0 <= s.sigma_low < s.sigma_high:
            raise ThioglassError(f"need 0 <= sigma_low < sigma_high, got {s.sigma_low} and {s.sigma_high}")
        if self.converged_iterations < 1:
            raise ThioglassError(f"converged_iterations must be at least 1, got {self.converged_iterations}")
        if self.training.models < 2:
            raise ThioglassError("the ensemble needs at least 2 models to measure deviation; set training.models")
        if not isinstance(self.reference_options, dict):
            raise ThioglassError("reference_options must be a mapping, e.g. {encut_ev: 500, threads: 1}")
        if not self.exploration.systems:
            raise ThioglassError("exploration.systems is empty; list crystals (crystal:NAME) or glasses (glass:COMPOSITION:ATOMS)")
        check_structures(self)


def check_structures(config: LearnConfig) -> None:
    """Every crystal name, glass composition and cell size of the config, checked before any work starts."""
    from thioglass.build.crystals import crystal_info, parse_supercell
    from thioglass.checks import check_atom_count
    from thioglass.composition import parse_composition

    def checked(where: str, check: Any, *args: Any) -> Any:
        try:
            return check(*args)
        except ThioglassError as err:
            raise ThioglassError(f"{where}: {err}") from None

    for k, name in enumerate(config.initial.crystals):
        checked(f"initial.crystals[{k}] '{name}'", crystal_info, name)
    for k, composition in enumerate(config.initial.glasses):
        checked(f"initial.glasses[{k}] '{composition}'", parse_composition, composition)
    checked("initial.glass_atoms", check_atom_count, config.initial.glass_atoms, "a seed glass")
    for k, system in enumerate(config.exploration.systems):
        where = f"exploration.systems[{k}] '{system}'"
        kind, _, rest = str(system).partition(":")
        parts = rest.split(":")
        if kind == "crystal" and parts[0] and len(parts) <= 2:
            checked(where, crystal_info, parts[0])
            if len(parts) == 2:
                checked(where, parse_supercell, parts[1])
        elif kind == "glass" and len(parts) == 2 and parts[1].isdigit() and int(parts[1]) >= 2:
            checked(where, parse_composition, parts[0])
            checked(where, check_atom_count, int(parts[1]), "an exploration glass")
        else:
            raise ThioglassError(f"{where} is not crystal:NAME[:AxBxC] or glass:COMPOSITION:ATOMS (ATOMS at least 2)")


_SECTIONS = {"initial": InitialData, "training": TrainingPlan, "exploration": ExplorationPlan, "selection": Selection,
             "audit": Audit, "milestones": Milestones}


def _build(cls: type, values: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ThioglassError(f"unknown key(s) {unknown} in {where}; known keys: {sorted(known)}")
    kwargs = {}
    for key, value in values.items():
        if key in _SECTIONS and cls is LearnConfig:
            if not isinstance(value, dict):
                raise ThioglassError(f"'{key}' in {where} must be a mapping")
            kwargs[key] = _build(_SECTIONS[key], value, f"{where}:{key}")
        elif isinstance(value, list):
            kwargs[key] = tuple(value)
        else:
            kwargs[key] = value
    return cls(**kwargs)


def load_config(path: str | Path) -> LearnConfig:
    """Read and validate a YAML config; relative ``workdir`` is taken from the config's folder."""
    path = Path(path)
    if not path.is_file():
        raise ThioglassError(f"config {path} does not exist; start from `thioglass learn --example > learn.yml`")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ThioglassError(f"{path} is not valid YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise ThioglassError(f"{path} must hold a mapping of settings")
    config = _build(LearnConfig, raw, path.name)
    from dataclasses import replace

    # Relative paths are the config's folder's, wherever the command runs.
    labels = tuple(str(_beside(path, name)) for name in config.initial.labels)
    for k, name in enumerate(labels):
        if not Path(name).is_file():
            raise ThioglassError(f"initial.labels[{k}] {name} does not exist; export a label store there first")
    audit = tuple(str(_beside(path, name)) for name in config.audit.labels)
    for k, name in enumerate(audit):
        if not Path(name).is_file():
            raise ThioglassError(f"audit.labels[{k}] {name} does not exist; give a labelled extxyz file")
    saved = {name: str(_beside(path, value)) for name in ("archive", "labels")
             if (value := getattr(config.milestones, name))}
    return replace(config, workdir=str(_beside(path, config.workdir)),
                   initial=replace(config.initial, labels=labels), audit=replace(config.audit, labels=audit),
                   milestones=replace(config.milestones, **saved))


def _beside(config_path: Path, name: str) -> Path:
    return Path(name) if Path(name).is_absolute() else config_path.parent / name
