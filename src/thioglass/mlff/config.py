"""DeePMD-kit training inputs: the paper's architecture, a fast one, and the loss/learning-rate schedule."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Sequence

from thioglass.elements import TYPE_MAP
from thioglass.errors import ThioglassError


@dataclass(frozen=True)
class Architecture:
    """DeepPot-SE (``se_e2_a``) descriptor and fitting net; distances in Å."""

    rcut_angstrom: float = 6.0
    rcut_smth_angstrom: float = 5.5
    embedding_neurons: tuple[int, ...] = (25, 50, 100)
    axis_neuron: int = 16
    fitting_neurons: tuple[int, ...] = (120, 120, 120)
    resnet_dt: bool = True
    precision: str = "float64"


#: The paper's force field (section 2.2): rcut 6.0/5.5 Å, embedding 25-50-100, ResNet fitting 120x3.
PAPER = Architecture()
#: A smaller, faster net for quick runs and tests: about 4x cheaper per MD step.
FAST = Architecture(rcut_angstrom=5.0, rcut_smth_angstrom=4.5, embedding_neurons=(8, 16, 32), axis_neuron=8,
                    fitting_neurons=(64, 64, 64), precision="float32")
#: The fast nets at rcut 5.5/5.0 Å, the widest cutoff that keeps 15 katom-step/s on 2 cores in LAMMPS (300-atom
#: glass: about 17-18 against 22-23 at 5.0 Å and 14-15 at the paper's 6.0/5.5; training/README.md).
FAST_55 = replace(FAST, rcut_angstrom=5.5, rcut_smth_angstrom=5.0)
ARCHITECTURES = {"paper": PAPER, "fast": FAST, "fast-5.5": FAST_55}


@dataclass(frozen=True)
class Schedule:
    """Steps, exponential learning rate (start -> stop over ``steps``) and loss prefactors."""

    steps: int = 400_000
    start_lr: float = 2e-3
    stop_lr: float = 3.5e-8
    decay_steps: int = 5000
    batch_size: int | str = "auto"
    start_pref_e: float = 0.02
    limit_pref_e: float = 1.0
    start_pref_f: float = 1000.0
    limit_pref_f: float = 1.0
    start_pref_v: float = 0.02
    limit_pref_v: float = 1.0
    disp_freq: int = 1000
    save_freq: int = 10_000

    @classmethod
    def sized(cls, steps: int, **changes: Any) -> "Schedule":
        """A schedule of ``steps`` that reports about 20 times and checkpoints about 10 times (at most every
        1000 and 10 000 steps)."""
        return cls(steps=steps, disp_freq=max(1, min(1000, steps // 20)),
                   save_freq=max(1, min(10_000, steps // 10)), **changes)


@dataclass(frozen=True)
class TrainSettings:
    """Everything that decides one model."""

    architecture: Architecture = PAPER
    schedule: Schedule = field(default_factory=Schedule)
    seed: int = 1
    type_map: tuple[str, ...] = TYPE_MAP
    sel: tuple[int, ...] | None = None

    def with_(self, **changes: Any) -> "TrainSettings":
        return replace(self, **changes)


def architecture(name: str) -> Architecture:
    """Look up a named architecture (``paper`` or ``fast``)."""
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise ThioglassError(f"unknown architecture '{name}'; use one of {sorted(ARCHITECTURES)}") from None


def model_section(settings: TrainSettings) -> dict:
    """The ``model`` part of the DeePMD input: type map, descriptor and fitting net (``sel`` must be set)."""
    if settings.sel is None:
        raise ThioglassError("sel is not set; compute it from the data with neighbour_sel() first")
    arch, seed = settings.architecture, settings.seed
    return {
        "type_map": list(settings.type_map),
        "descriptor": {
            "type": "se_e2_a", "sel": list(settings.sel), "rcut": arch.rcut_angstrom,
            "rcut_smth": arch.rcut_smth_angstrom, "neuron": list(arch.embedding_neurons),
            "axis_neuron": arch.axis_neuron, "resnet_dt": False, "precision": arch.precision, "seed": seed,
        },
        "fitting_net": {"neuron": list(arch.fitting_neurons), "resnet_dt": arch.resnet_dt,
                        "precision": arch.precision, "seed": seed + 1},
    }


def deepmd_input(settings: TrainSettings, train_systems: Sequence[str], validation_systems: Sequence[str]) -> dict:
    """The ``input.json`` for ``dp --tf train``.

    ``sel`` (maximum neighbours per type within rcut) must be known: see
    :func:`thioglass.mlff.train.neighbour_sel`.
    """
    if not train_systems:
        raise ThioglassError("no training systems; label some structures first")
    sched, seed = settings.schedule, settings.seed
    data = {"systems": list(train_systems), "batch_size": sched.batch_size}
    doc: dict[str, Any] = {
        "model": model_section(settings),
        "learning_rate": {"type": "exp", "start_lr": sched.start_lr, "stop_lr": sched.stop_lr,
                          "decay_steps": min(sched.decay_steps, max(1, sched.steps // 10))},
        "loss": {key: value for key, value in asdict(sched).items() if "pref" in key},
        "training": {
            "training_data": data,
            "numb_steps": sched.steps, "seed": seed + 2, "disp_file": "lcurve.out",
            "disp_freq": sched.disp_freq, "save_freq": sched.save_freq, "save_ckpt": "model.ckpt",
            "max_ckpt_keep": 2,
        },
    }
    if validation_systems:
        doc["training"]["validation_data"] = {"systems": list(validation_systems), "batch_size": 1,
                                              "numb_btch": 3}
    return doc
