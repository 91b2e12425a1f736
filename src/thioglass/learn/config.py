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


@dataclass(frozen=True)
class InitialData:
    """Seed structures: crystals and random-packed glasses, each rattled and strained ``copies`` times."""

    crystals: tuple[str, ...] = ()
    glasses: tuple[str, ...] = ()
    glass_atoms: int = 96
    copies: int = 8
    rattle_angstrom: float = 0.05
    max_strain: float = 0.05
    seed: int = 0


@dataclass(frozen=True)
class TrainingPlan:
    """Ensemble training per iteration (``architecture``: paper or fast)."""

    architecture: str = "fast"
    steps: int = 20_000
    models: int = 4
    seed: int = 1
    validation_fraction: float = 0.1
    init_from_previous: bool = True


@dataclass(frozen=True)
class ExplorationPlan:
    """MD sampling: every system at every temperature, pressure and strain."""

    systems: tuple[str, ...] = ()
    temperatures_k: tuple[float, ...] = (300.0, 900.0, 1500.0)
    pressures_bar: tuple[float, ...] = (1.0,)
    strains: tuple[float, ...] = (0.0,)
    ensembles: tuple[str, ...] = ("npt",)
    duration_ps: float = 2.0
    sample_every_ps: float = 0.02
    timestep_fs: float = 1.0


@dataclass(frozen=True)
class Selection:
    """DP-GEN's trust window on sigma_f_max (eV/Å) and the labelling cap per iteration."""

    sigma_low: float = 0.2
    sigma_high: float = 0.4
    max_candidates: int = 100
    seed: int = 0


@dataclass(frozen=True)
class LearnConfig:
    """Everything ``thioglass learn`` needs."""

    workdir: str = "learn"
    reference: str = "sevennet-mf-0-r2scan"
    # Options of a DFT reference (gpaw-pbesol: encut_ev, kspacing_inv_angstrom, threads, ...); locked on resume.
    reference_options: dict[str, Any] = field(default_factory=dict)
    iterations: int = 10
    converged_accurate_fraction: float = 0.95
    threads: int = 2
    workers: int = 1
    scheduler: str | None = None
    initial: InitialData = field(default_factory=InitialData)
    training: TrainingPlan = field(default_factory=TrainingPlan)
    exploration: ExplorationPlan = field(default_factory=ExplorationPlan)
    selection: Selection = field(default_factory=Selection)

    def __post_init__(self) -> None:
        s = self.selection
        if not 0 <= s.sigma_low < s.sigma_high:
            raise ThioglassError(f"need 0 <= sigma_low < sigma_high, got {s.sigma_low} and {s.sigma_high}")
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


_SECTIONS = {"initial": InitialData, "training": TrainingPlan, "exploration": ExplorationPlan, "selection": Selection}


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
    workdir = Path(config.workdir)
    if not workdir.is_absolute():
        workdir = path.parent / workdir
    from dataclasses import replace

    return replace(config, workdir=str(workdir))
