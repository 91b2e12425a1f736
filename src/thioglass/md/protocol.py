"""One description of an MD protocol, run by LAMMPS (DeePMD models) or ASE (any calculator).

A :class:`Protocol` is a sequence of :class:`Stage` objects; the melt-quench of the paper (section
2.3) is :func:`melt_quench` with the ``paper`` preset: 1700 K for 250 ps, cooling to 300 K at
5e12 K/s, then 100 ps NPT at 300 K, 1 fs steps, thermostat damping 0.1 ps, barostat 1.0 ps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from thioglass.errors import ThioglassError

Ensemble = Literal["nvt", "npt", "nve"]


@dataclass(frozen=True)
class Stage:
    """One segment at fixed ensemble; temperature ramps linearly from start to end.

    Times in ps, temperatures in K, pressure in bar.
    """

    name: str
    ensemble: Ensemble
    duration_ps: float
    t_start_k: float
    t_end_k: float | None = None
    pressure_bar: float = 1.0
    tdamp_ps: float = 0.1
    pdamp_ps: float = 1.0
    dump_every_ps: float = 1.0

    def __post_init__(self) -> None:
        if self.ensemble not in ("nvt", "npt", "nve"):
            raise ThioglassError(f"stage '{self.name}': ensemble must be nvt, npt or nve, not '{self.ensemble}'")
        if self.duration_ps <= 0 or self.t_start_k <= 0 or (self.t_end_k is not None and self.t_end_k <= 0):
            raise ThioglassError(f"stage '{self.name}': duration and temperatures must be positive")

    @property
    def final_temperature_k(self) -> float:
        return self.t_start_k if self.t_end_k is None else self.t_end_k

    def steps(self, timestep_fs: float) -> int:
        return max(1, round(self.duration_ps * 1000 / timestep_fs))

    def dump_every_steps(self, timestep_fs: float) -> int:
        return max(1, min(self.steps(timestep_fs), round(self.dump_every_ps * 1000 / timestep_fs)))


@dataclass(frozen=True)
class Protocol:
    """Stages run one after another from one structure; ``seed`` draws the initial velocities."""

    stages: tuple[Stage, ...]
    timestep_fs: float = 1.0
    seed: int = 1
    thermo_every_steps: int = 100

    def __post_init__(self) -> None:
        if not self.stages:
            raise ThioglassError("a protocol needs at least one stage")
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):
            raise ThioglassError(f"stage names must be unique, got {names}")
        if not 0.05 <= self.timestep_fs <= 5:
            raise ThioglassError(f"timestep {self.timestep_fs} fs is outside 0.05-5 fs; 1 fs is the paper's")

    @property
    def total_ps(self) -> float:
        return sum(s.duration_ps for s in self.stages)

    @property
    def max_temperature_k(self) -> float:
        return max(max(s.t_start_k, s.final_temperature_k) for s in self.stages)


def extra_stages(longest_ps: float | None, each_ps: float, names: tuple[str, str] = ("the longest production",
                                                                                   "the production")) -> int:
    """How many more stages of ``each_ps`` a run that goes on until converged may append after its first,
    so that it lasts at most ``longest_ps`` (None: a fixed run, none).

    A ``longest_ps`` shorter than one stage is one line naming both settings (``names``: how the longest
    run and one stage are called to the user)."""
    if longest_ps is None or each_ps <= 0:  # a stage of no length is refused where its stage is built
        return 0
    if longest_ps < each_ps:
        raise ThioglassError(f"{names[0]} ({longest_ps:g} ps) is shorter than {names[1]} itself ({each_ps:g} ps); "
                             "give at least that, or none for a fixed length")
    return int(longest_ps / each_ps + 1e-9) - 1


@dataclass(frozen=True)
class QuenchSettings:
    """Melt-quench parameters (the paper's by default) and the system size of each replica.

    ``anneal_max_ps`` (None: a fixed anneal of ``anneal_ps``) lets the anneal run on, ``anneal_ps`` at a
    time, until the density has converged or the anneal has lasted ``anneal_max_ps``. Converged: over the
    averaging window (the last anneal stage after its first fifth) the density's drift is not significant
    at 95 % and is at most ``density_tolerance_g_cm3``
    (:func:`thioglass.md.quench.density_converged`).
    """

    n_atoms: int = 4500
    replicas: int = 5
    melt_k: float = 1700.0
    melt_ps: float = 250.0
    final_k: float = 300.0
    cooling_rate_k_per_s: float = 5e12
    anneal_ps: float = 100.0
    pressure_bar: float = 1.0
    timestep_fs: float = 1.0
    tdamp_ps: float = 0.1
    pdamp_ps: float = 1.0
    dump_every_ps: float = 1.0
    seed: int = 1
    anneal_max_ps: float | None = None
    density_tolerance_g_cm3: float = 0.01
    thermo_every_steps: int = 100  # T, P and density samples: the drift needs 5 in the window

    def __post_init__(self) -> None:
        from thioglass.checks import check_atom_count

        check_atom_count(self.n_atoms, f"each replica of --atoms {self.n_atoms}")
        extra_stages(self.anneal_max_ps, self.anneal_ps, ("--anneal-max-ps", "--anneal-ps"))  # one line if too short
        if self.thermo_every_steps < 1:
            raise ThioglassError(f"thermo_every_steps must be at least 1, got {self.thermo_every_steps}")
        if self.density_tolerance_g_cm3 <= 0:
            raise ThioglassError(f"the density tolerance must be positive, got {self.density_tolerance_g_cm3:g} g/cm3")
        if self.seed < 1:  # LAMMPS' velocity command takes positive seeds only
            raise ThioglassError(f"--seed {self.seed} is not allowed for MD; give a whole number from 1 up")

    @property
    def cooling_ps(self) -> float:
        return (self.melt_k - self.final_k) / self.cooling_rate_k_per_s * 1e12

    @property
    def max_extensions(self) -> int:
        """How many extra anneal stages ``anneal_max_ps`` allows (0 for a fixed anneal)."""
        return extra_stages(self.anneal_max_ps, self.anneal_ps, ("--anneal-max-ps", "--anneal-ps"))


PRESETS: dict[str, QuenchSettings] = {
    # The paper: 4000-5000 atoms, five replicas, 250 ps melt, 5e12 K/s, 100 ps at 300 K.
    "paper": QuenchSettings(),
    # One glass in about 10 minutes on 2 CPU cores with a compressed model of the paper's architecture
    # (6 katom-step/s measured by `thioglass bench md` here: 20 steps/s at 300 atoms, 12 000 steps):
    # the paper's temperatures, 70x faster cooling, 4 ps holds.
    "quick": QuenchSettings(n_atoms=300, replicas=1, melt_ps=4.0, cooling_rate_k_per_s=3.5e14, anneal_ps=4.0,
                            dump_every_ps=0.1),
    # Seconds: for tests and for checking that an installation works.
    "smoke": QuenchSettings(n_atoms=100, replicas=1, melt_ps=0.2, cooling_rate_k_per_s=1.4e16, anneal_ps=0.2,
                            dump_every_ps=0.05),
}


def preset(name: str, **overrides: Any) -> QuenchSettings:
    """A named preset with any field overridden (``preset("quick", n_atoms=500)``)."""
    from thioglass.checks import pick_preset

    return pick_preset(PRESETS, name, overrides)


def melt_quench(settings: QuenchSettings, extensions: int = 0) -> Protocol:
    """Melt (NVT at ``melt_k``), cool at ``cooling_rate`` (NPT ramp), anneal (NPT at ``final_k``), then
    ``extensions`` more anneal stages of ``anneal_ps`` (``anneal_2``, ``anneal_3``, ...), each continuing
    the last."""
    common = dict(tdamp_ps=settings.tdamp_ps, pdamp_ps=settings.pdamp_ps, dump_every_ps=settings.dump_every_ps,
                  pressure_bar=settings.pressure_bar)
    stages = (
        Stage("melt", "nvt", settings.melt_ps, settings.melt_k, **common),
        Stage("cool", "npt", settings.cooling_ps, settings.melt_k, settings.final_k, **common),
        Stage("anneal", "npt", settings.anneal_ps, settings.final_k, **common),
        *(Stage(f"anneal_{k}", "npt", settings.anneal_ps, settings.final_k, **common)
          for k in range(2, extensions + 2)),
    )
    return Protocol(stages, timestep_fs=settings.timestep_fs, seed=settings.seed,
                    thermo_every_steps=settings.thermo_every_steps)
