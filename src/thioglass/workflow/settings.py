"""Every parameter of ``thioglass run`` in one frozen :class:`RunSettings` per preset.

The presets scale the paper's protocol (section 2.3 and SPEC.md section 1):

- ``paper``: the paper's melt-quench (4500 atoms, 5 replicas), elastic constants from 20 ps of
  NVT per strained cell, conductivity at 300-650 K every 50 K for 1 ns (5 ns at 350 K, 15 ns at
  300 K), rotation windows of 30 ps at 300 K.
- ``quick``: about 300 atoms, cooled 70x faster than the paper; static elastic constants (0 K:
  sub-picosecond stress averages of a 300-atom cell at 300 K were measured to scatter by more
  than the moduli themselves, B = -1 ± 9 GPa), and 10 ps per temperature for the conductivity at 500-800 K.
  By the fixed diffusion criterion (:mod:`thioglass.analysis.msd`) only 700 and 800 K are diffusive
  in 10 ps; 500 and 600 K come out sub-diffusive (no D), so Ea rests on two temperatures and is not a
  number to quote (docs/analysis-checks.md). ``make run`` runs it with ``--workers 2 --threads 1`` (one single-thread MD run
  per core: 1.5-2.1 times the throughput of one two-thread run at 304 atoms). Its numbers show that
  the pipeline works, not the converged properties of the glass.
- ``smoke``: about 100 atoms and a fraction of a picosecond per run, for tests.

Any field can be overridden with ``section.field=value`` (:func:`apply_overrides`), e.g.
``quench.melt_k=400`` or ``conductivity.temperatures_k=300,350,400,450``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields, replace
from typing import Any, Iterable, Mapping

from thioglass.properties.elastic_static import ElasticSettings
from thioglass.analysis.structure import StructureSettings
from thioglass.errors import ThioglassError
from thioglass.md.protocol import PRESETS as QUENCH_PRESETS
from thioglass.md.protocol import QuenchSettings
from thioglass.properties.elastic import ElasticMDSettings
from thioglass.properties.rotation import RotationSettings


@dataclass(frozen=True)
class ConductivityPlan:
    """NPT runs for the Li conductivity (times in ps, temperatures in K).

    ``long_runs`` lists ``(T_max_K, production_ps)``: runs at or below ``T_max_K`` last that long
    (the paper: ``((300, 15000), (350, 5000))``); every other temperature runs ``production_ps``.
    ``production_max_ps`` (None: fixed lengths) lets a temperature that is not yet diffusive run on,
    its own production length at a time, up to that many ps.
    """

    temperatures_k: tuple[float, ...]
    production_ps: float
    equilibrate_ps: float
    dump_every_ps: float
    long_runs: tuple[tuple[float, float], ...] = ()
    seed: int = 1
    production_max_ps: float | None = None

    def __post_init__(self) -> None:
        temps = tuple(float(t) for t in self.temperatures_k)
        object.__setattr__(self, "temperatures_k", temps)
        object.__setattr__(self, "long_runs", tuple((float(t), float(ps)) for t, ps in self.long_runs))
        if len(set(temps)) < 2 or min(temps) <= 0:
            raise ThioglassError("the Arrhenius fit needs at least two different positive temperatures; "
                                 "give e.g. --temperatures 300 350 400 450")

    def production_ps_at(self, temperature_k: float) -> float:
        """Production time of the run at ``temperature_k``."""
        for limit_k, production_ps in sorted(self.long_runs):
            if temperature_k <= limit_k:
                return production_ps
        return self.production_ps

    def settings_at(self, temperature_k: float, timestep_fs: float = 1.0):
        """:class:`~thioglass.properties.conductivity.ConductivitySettings` of one temperature."""
        from thioglass.analysis.diffusion import DiffusionFitSettings
        from thioglass.properties.conductivity import ConductivitySettings

        production_ps = self.production_ps_at(temperature_k)
        longest = None if self.production_max_ps is None else max(self.production_max_ps, production_ps)
        return ConductivitySettings((temperature_k,), production_ps=production_ps,
                                    equilibrate_ps=self.equilibrate_ps, dump_every_ps=self.dump_every_ps,
                                    timestep_fs=timestep_fs, seed=self.seed, fit=DiffusionFitSettings(seed=self.seed),
                                    production_max_ps=longest)

    def total_ps(self) -> float:
        return sum(self.equilibrate_ps + self.production_ps_at(t) for t in self.temperatures_k)


@dataclass(frozen=True)
class LatticeSettings:
    """NPT (fully flexible cell) MD of crystalline Li10SiP2S12 for ``thioglass validate``.

    The lattice parameters are averaged over ``production_ps`` after ``equilibrate_ps``;
    ``sample_every_steps`` is the spacing of the cell samples.
    """

    supercell: tuple[int, int, int] = (2, 2, 1)
    temperature_k: float = 300.0
    pressure_bar: float = 1.0
    equilibrate_ps: float = 20.0
    production_ps: float = 50.0
    timestep_fs: float = 1.0
    tdamp_ps: float = 0.1
    pdamp_ps: float = 1.0
    sample_every_steps: int = 10
    seed: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "supercell", tuple(int(n) for n in self.supercell))
        if len(self.supercell) != 3 or min(self.supercell) < 1:
            raise ThioglassError(f"lattice supercell must be three positive integers, got {self.supercell}")
        if self.production_ps <= 0 or self.equilibrate_ps < 0 or self.sample_every_steps < 1:
            raise ThioglassError("lattice production must be > 0 ps, equilibration >= 0 ps, sampling >= 1 step")


@dataclass(frozen=True)
class RunSettings:
    """All parameters of one ``thioglass run`` (and of the lattice check of ``thioglass validate``).

    ``rotation_temperature_k`` picks the conductivity run whose trajectory the paddle-wheel
    analysis reads (the nearest temperature; the paper's Figure 9 is at room temperature).
    ``elastic_route`` is ``md`` (the paper's: stress averaged over NVT MD of strained cells,
    ``elastic``) or ``static`` (relax, strain, relax the atoms: ``elastic_static``, at 0 K and
    free of thermal noise, for presets too short to average the stress of a small cell).
    """

    preset: str
    quench: QuenchSettings
    elastic: ElasticMDSettings
    conductivity: ConductivityPlan
    rotation: RotationSettings
    structure: StructureSettings = field(default_factory=StructureSettings)
    lattice: LatticeSettings = field(default_factory=LatticeSettings)
    rotation_temperature_k: float = 300.0
    elastic_route: str = "md"
    elastic_static: ElasticSettings = field(default_factory=lambda: ElasticSettings(fmax_eV_per_angstrom=0.05,
                                                                                    max_steps=3000))

    def __post_init__(self) -> None:
        if self.elastic_route not in ("md", "static"):
            raise ThioglassError(f"elastic_route '{self.elastic_route}' is unknown; use md or static")


def _paper() -> RunSettings:
    return RunSettings(
        preset="paper",
        quench=QUENCH_PRESETS["paper"],
        elastic=ElasticMDSettings(),
        conductivity=ConductivityPlan(tuple(range(300, 651, 50)), production_ps=1000.0, equilibrate_ps=50.0,
                                      dump_every_ps=1.0, long_runs=((300.0, 15000.0), (350.0, 5000.0))),
        rotation=RotationSettings(window_ps=30.0),
        lattice=LatticeSettings(supercell=(2, 2, 1), equilibrate_ps=20.0, production_ps=50.0),
    )


def _quick() -> RunSettings:
    return RunSettings(
        preset="quick",
        quench=QUENCH_PRESETS["quick"],
        elastic=ElasticMDSettings(reference_ps=0.2, equilibrate_ps=0.05, production_ps=0.6, thermo_every_steps=5),
        conductivity=ConductivityPlan((500.0, 600.0, 700.0, 800.0), production_ps=10.0, equilibrate_ps=0.5,
                                      dump_every_ps=0.02),
        rotation=RotationSettings(window_ps=0.2),
        lattice=LatticeSettings(supercell=(1, 1, 1), equilibrate_ps=0.5, production_ps=1.5),
        elastic_route="static",
    )


def _smoke() -> RunSettings:
    return RunSettings(
        preset="smoke",
        quench=QUENCH_PRESETS["smoke"],
        elastic=ElasticMDSettings(reference_ps=0.05, equilibrate_ps=0.01, production_ps=0.05, thermo_every_steps=2),
        conductivity=ConductivityPlan((300.0, 400.0, 500.0, 600.0), production_ps=0.1, equilibrate_ps=0.02,
                                      dump_every_ps=0.01),
        rotation=RotationSettings(window_ps=0.05),
        lattice=LatticeSettings(supercell=(1, 1, 1), equilibrate_ps=0.02, production_ps=0.08, sample_every_steps=5),
    )


PRESETS = {"paper": _paper, "quick": _quick, "smoke": _smoke}
SECTIONS = ("quench", "elastic", "elastic_static", "conductivity", "rotation", "structure", "lattice")


def run_settings(preset: str, overrides: Mapping[str, Any] | Iterable[str] = (), seed: int | None = None) -> RunSettings:
    """The settings of a preset with overrides applied.

    Parameters
    ----------
    preset
        ``paper``, ``quick`` or ``smoke``.
    overrides
        ``{"quench.melt_k": 400}`` or ``["quench.melt_k=400", ...]`` (text is converted to the
        type of the field it replaces).
    seed
        Seed of every random step (glass packing, velocities, bootstrap); replica r uses seed + r.

    The elastic constants are computed at the glass's final temperature unless
    ``elastic.temperature_k`` is given.
    """
    if preset not in PRESETS:
        raise ThioglassError(f"unknown preset '{preset}'; use one of {', '.join(PRESETS)}")
    settings = PRESETS[preset]()
    if seed is not None:
        settings = replace(settings, **{name: replace(getattr(settings, name), seed=seed)
                                        for name in ("quench", "elastic", "conductivity", "lattice")})
    pairs = dict(_split(item) for item in overrides) if not isinstance(overrides, Mapping) else dict(overrides)
    settings = apply_overrides(settings, pairs)
    if "elastic.temperature_k" not in pairs:
        settings = replace(settings, elastic=replace(settings.elastic, temperature_k=settings.quench.final_k))
    return settings


def apply_overrides(settings: RunSettings, overrides: Mapping[str, Any]) -> RunSettings:
    """A copy of ``settings`` with ``section.field`` (or top-level ``field``) values replaced."""
    for key, value in overrides.items():
        section, _, name = key.rpartition(".")
        if section and section not in SECTIONS:
            raise ThioglassError(f"unknown settings section '{section}' in '{key}'; use one of {', '.join(SECTIONS)}")
        target = getattr(settings, section) if section else settings
        known = {f.name: f for f in fields(target)}
        if name not in known or name == "preset" or dataclasses.is_dataclass(getattr(target, name)):
            raise ThioglassError(f"unknown setting '{key}'; known: {', '.join(_names(target, section))}")
        new = replace(target, **{name: _coerce(getattr(target, name), value, key, str(known[name].type))})
        settings = replace(settings, **{section: new}) if section else new
    return settings


def _names(target: Any, section: str) -> list[str]:
    prefix = f"{section}." if section else ""
    return [prefix + f.name for f in fields(target) if not dataclasses.is_dataclass(getattr(target, f.name))]


def _split(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise ThioglassError(f"cannot read the setting '{item}'; write section.field=value, e.g. quench.melt_k=400")
    return key.strip(), value.strip()


def _coerce(current: Any, value: Any, key: str, annotation: str) -> Any:
    """``value`` (text from the command line, or already typed) as the type of the field it replaces."""
    if not isinstance(value, str):
        return value
    try:
        if value.lower() == "none":
            return None
        if isinstance(current, bool):
            if value.lower() not in ("true", "false", "yes", "no", "1", "0"):
                raise ValueError
            return value.lower() in ("true", "yes", "1")
        if annotation.startswith("tuple"):
            items = [float(x) for x in value.replace(",", " ").split() if x]
            if annotation.startswith("tuple[tuple"):  # pairs such as long_runs: T1,ps1,T2,ps2
                if len(items) % 2:
                    raise ValueError
                return tuple(zip(items[::2], items[1::2]))
            return tuple(int(x) if annotation.startswith("tuple[int") else x for x in items)
        if isinstance(current, int) or annotation.startswith("int"):
            return int(value)
        if isinstance(current, float) or annotation.startswith("float"):
            return float(value)
        return value
    except ValueError:
        raise ThioglassError(f"cannot read '{value}' for {key} (currently {current!r})") from None
