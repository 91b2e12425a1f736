"""Pick the MD engine for a potential: DeePMD models run in LAMMPS, anything else in ASE MD.

Both engines take the same :class:`~thioglass.md.protocol.Protocol` and have the same
``run(atoms, protocol, workdir, progress=None) -> MDResult``; what they write differs only in
file formats (``traj.dump``/``final.data`` from LAMMPS, ``traj.extxyz``/``final.extxyz`` from
ASE), which :class:`~thioglass.md.results.StageResult` hides.
"""

from __future__ import annotations

import importlib
from importlib.resources import files
from pathlib import Path
from typing import Callable, Protocol as TypingProtocol

from ase import Atoms

from thioglass.errors import ThioglassError
from thioglass.md.ase_engine import AseEngine, AseSettings
from thioglass.md.lammps import LammpsEngine, LammpsSettings
from thioglass.md.protocol import Protocol
from thioglass.md.results import MDResult

DEEPMD_SUFFIXES = (".pb",)


class Engine(TypingProtocol):
    """What :func:`make_engine` returns."""

    def run(self, atoms: Atoms, protocol: Protocol, workdir: str | Path,
            progress: Callable[[str, int, int], None] | None = None) -> MDResult: ...


def bundled_model_path() -> Path:
    """Where the shipped model lives: ``thioglass/data/models/default.pb`` (its card: ``default.json``)."""
    return Path(str(files("thioglass") / "data" / "models" / "default.pb"))


def default_model() -> Path:
    """The shipped DeePMD model (see :func:`bundled_model_path`)."""
    model = bundled_model_path()
    if not model.is_file():
        raise ThioglassError("no default model is bundled with this thioglass yet; pass --potential "
                             "MODEL.pb (a DeePMD model), a reference name such as sevennet-0, or ase:module:Class")
    return model


def default_model_card() -> dict:
    """Reference, training data and held-out accuracy of the shipped model, from ``default.json``."""
    import json

    card = bundled_model_path().with_name("default.json")
    if not card.is_file():
        raise ThioglassError(f"the model card {card} is missing; reinstall thioglass")
    return json.loads(card.read_text())


def force_field_summary(potential: str | None) -> dict:
    """What a report says about the potential: the card's key numbers for the shipped model."""
    if potential is not None:
        return {"potential": potential}
    card = default_model_card()
    return {"potential": "default", "name": card["name"], "reference": card["reference"], "date": card["date"],
            "training_frames": card["data"]["frames"], "test_frames": card["test_set"]["frames"],
            "test_rmse_energy_mev_per_atom": card["test_set"]["overall"]["rmse_energy_mev_per_atom"],
            "test_rmse_force_ev_per_angstrom": card["test_set"]["overall"]["rmse_force_ev_per_angstrom"]}


def engine_kind(potential: str | None) -> str:
    """``"lammps"`` for DeePMD models (and the default), ``"ase"`` for every other potential."""
    if potential is None or potential.endswith(DEEPMD_SUFFIXES):
        return "lammps"
    check_reference(potential)
    return "ase"


def check_reference(spec: str) -> None:
    """Fail early, with one line, on a potential that is neither a model file nor a calculator."""
    from thioglass.reference.calculators import REFERENCES

    if spec in REFERENCES or spec == "vasp":
        return
    if not spec.startswith("ase:"):
        raise ThioglassError(f"unknown potential '{spec}'; give a DeePMD model file (.pb), a reference name "
                             f"({', '.join(REFERENCES)}) or ase:package.module:ClassName")
    parts = spec.split(":")
    if len(parts) != 3:
        raise ThioglassError(f"'{spec}' is not of the form ase:package.module:ClassName, "
                             "e.g. ase:ase.calculators.emt:EMT")
    try:
        getattr(importlib.import_module(parts[1]), parts[2])
    except (ImportError, AttributeError) as err:
        raise ThioglassError(f"cannot import {parts[2]} from {parts[1]} ({err}); install it or fix the name") from None


def make_engine(potential: str | None, threads: int = 2, checkpoint_every_steps: int = 1000) -> Engine:
    """The engine that runs ``potential``.

    Parameters
    ----------
    potential
        A DeePMD model file (``.pb``: LAMMPS with ``pair_style deepmd``), a bundled reference name
        (``sevennet-0``, ``chgnet-0.3.0``, ...), ``ase:package.module:Class`` (ASE MD), or None for
        the shipped default model.
    threads
        Threads of each MD run (OpenMP for LAMMPS, torch for ASE calculators).
    checkpoint_every_steps
        LAMMPS restart / ASE checkpoint interval in steps.
    """
    if engine_kind(potential) == "lammps":
        model = str(default_model() if potential is None else potential)
        return LammpsEngine(LammpsSettings((model,), threads=threads, restart_every_steps=checkpoint_every_steps))
    return AseEngine(AseSettings(potential, threads=threads, checkpoint_every_steps=checkpoint_every_steps))
