"""Resume state of an ASE MD stage: the checkpoint file, the thermostat/barostat variables, and
cutting ``traj.extxyz`` and ``thermo.dat`` back to the checkpoint, so a killed stage continues
without writing a frame twice (see :mod:`thioglass.md.ase_engine`)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
from ase import Atoms

from thioglass.errors import ThioglassError

# Thermostat/barostat variables of ASE's Nose-Hoover/MTK integrators (private attributes, read
# only if present: without them a resumed stage restarts the thermostat from rest, which is harmless).
_DYNAMICS_STATE = {"eta": ("_thermostat", "_eta"), "p_eta": ("_thermostat", "_p_eta"),
                   "xi": ("_barostat", "_xi"), "p_xi": ("_barostat", "_p_xi"), "p_eps": (None, "_p_eps")}
_STEP = re.compile(rb"\btimestep=(-?\d+)")


def truncate_extxyz(path: str | Path, before_step: int) -> None:
    """Cut ``traj.extxyz`` to the complete frames with ``timestep`` < ``before_step``."""
    path = Path(path)
    if not path.exists():
        return
    keep = 0
    with open(path, "rb") as handle:
        while True:
            header, comment = handle.readline(), handle.readline()
            match = _STEP.search(comment)
            try:
                n_atoms = int(header.split()[0])
            except (ValueError, IndexError):
                break
            body = [handle.readline() for _ in range(n_atoms)]
            if match is None or int(match.group(1)) >= before_step or not body or not body[-1].endswith(b"\n"):
                break
            keep = handle.tell()
    with open(path, "r+b") as handle:
        handle.truncate(keep)


def truncate_thermo(path: str | Path, before_step: int) -> None:
    """Keep the header and the complete rows of ``thermo.dat`` with step < ``before_step``."""
    path = Path(path)
    if not path.exists():
        return
    kept = []
    for line in path.read_text().splitlines(keepends=True):
        if not line.endswith("\n"):
            break
        if not line.strip():
            continue
        if line.startswith("#") or int(float(line.split()[0])) < before_step:
            kept.append(line)
    path.write_text("".join(kept))


def dynamics_state(dynamics) -> dict[str, np.ndarray]:
    """Thermostat/barostat variables of an ASE integrator (those it has)."""
    state = {}
    for key, (owner, attribute) in _DYNAMICS_STATE.items():
        holder = dynamics if owner is None else getattr(dynamics, owner, None)
        if holder is not None and hasattr(holder, attribute):
            state[key] = np.array(getattr(holder, attribute), dtype=float)
    return state


def restore_dynamics_state(dynamics, state: dict[str, np.ndarray]) -> None:
    """Put back what :func:`dynamics_state` returned (entries the integrator lacks are skipped)."""
    for key, value in state.items():
        owner, attribute = _DYNAMICS_STATE[key]
        holder = dynamics if owner is None else getattr(dynamics, owner, None)
        if holder is None or not hasattr(holder, attribute):
            continue
        current = np.asarray(getattr(holder, attribute))
        if current.shape == value.shape:
            setattr(holder, attribute, float(value) if value.ndim == 0 else value.copy())


def save_checkpoint(folder: Path, step: int, atoms: Atoms, state: dict[str, np.ndarray]) -> None:
    """Write ``checkpoint.npz`` atomically (a kill during the write leaves the old one)."""
    temporary = folder / "checkpoint.npz.tmp"
    with open(temporary, "wb") as handle:
        np.savez(handle, step=step, positions=atoms.positions, momenta=atoms.get_momenta(),
                 cell=np.asarray(atoms.cell), **{f"state_{k}": v for k, v in state.items()})
    os.replace(temporary, folder / "checkpoint.npz")


def load_checkpoint(folder: Path, atoms: Atoms) -> tuple[int, dict[str, np.ndarray]] | None:
    """Load ``checkpoint.npz`` into ``atoms``; returns (step, dynamics state) or None."""
    path = folder / "checkpoint.npz"
    if not path.exists():
        return None
    with np.load(path) as data:
        if data["positions"].shape != atoms.positions.shape:
            raise ThioglassError(f"{path} does not match the structure; delete {folder} to restart that stage")
        atoms.set_cell(data["cell"], scale_atoms=False)
        atoms.positions = data["positions"]
        atoms.set_momenta(data["momenta"])
        state = {k[len("state_"):]: np.array(data[k]) for k in data.files if k.startswith("state_")}
        return int(data["step"]), state
