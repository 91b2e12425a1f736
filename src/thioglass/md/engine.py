"""Pick the MD engine for a potential: DeePMD models run in LAMMPS, anything else in ASE MD.

What a potential name means is decided in :mod:`thioglass.potential`; this module only maps it
to an engine.

Both engines take the same :class:`~thioglass.md.protocol.Protocol` and have the same
``run(atoms, protocol, workdir, progress=None) -> MDResult``; what they write differs only in
file formats (``traj.dump``/``final.data`` from LAMMPS, ``traj.extxyz``/``final.extxyz`` from
ASE), which :class:`~thioglass.md.results.StageResult` hides.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Callable, Protocol as TypingProtocol

from ase import Atoms

from thioglass.md.ase_engine import AseEngine, AseSettings
from thioglass.md.lammps import LammpsEngine, LammpsSettings
from thioglass.md.protocol import Protocol
from thioglass.md.results import MDResult
from thioglass.potential import model_path, potential_kind


class Engine(TypingProtocol):
    """What :func:`make_engine` returns."""

    def run(self, atoms: Atoms, protocol: Protocol, workdir: str | Path,
            progress: Callable[[str, int, int], None] | None = None) -> MDResult: ...


def engine_kind(potential: str | None) -> str:
    """``"lammps"`` for DeePMD models (and the default), ``"ase"`` for every other potential."""
    return "lammps" if potential_kind(potential) == "deepmd" else "ase"


def make_engine(potential: str | None, threads: int = 2, *, checkpoint_every_steps: int = 1000,
                ensemble: Sequence[str] | None = None, deviation_every_steps: int | None = None) -> Engine:
    """The engine that runs ``potential``, recording the ensemble's force deviation in every stage.

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
    ensemble, deviation_every_steps
        Extra member models of a user's ``.pb`` (the shipped model brings its own; see
        :func:`thioglass.mlff.ensemble.ensemble_for`) and the sampling interval of their deviation
        (default :data:`~thioglass.mlff.ensemble.DEVIATION_EVERY_STEPS`).
    """
    from thioglass.mlff.ensemble import DEVIATION_EVERY_STEPS, ensemble_for

    members = tuple(str(m) for m in ensemble_for(potential, ensemble))
    every = deviation_every_steps or DEVIATION_EVERY_STEPS
    if engine_kind(potential) == "lammps":
        settings = LammpsSettings((model_path(potential), *members), threads=threads,
                                  restart_every_steps=checkpoint_every_steps, deviation_every_steps=every)
        return LammpsEngine(settings)
    return AseEngine(AseSettings(potential, threads=threads, checkpoint_every_steps=checkpoint_every_steps))
