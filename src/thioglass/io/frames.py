"""Frame spacing of trajectories: MD steps between stored frames, read from the file itself."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

from ase import Atoms

from thioglass.errors import ThioglassError


def frame_step(atoms: Atoms) -> int | None:
    """MD step number a frame carries (LAMMPS dump ``TIMESTEP``, extxyz ``timestep``/``step``), or None."""
    for key in ("timestep", "step"):
        value = atoms.info.get(key)
        if value is not None:
            return int(value)
    return None


def infer_stride(path: Path | str, frames: str = ":") -> int | None:
    """MD steps between the first two selected frames, or None when the file does not say."""
    from thioglass.io import iter_frames

    first = [frame_step(a) for a in islice(iter_frames(path, frames), 2)]
    if len(first) < 2 or None in first:
        return None
    stride = first[1] - first[0]
    if stride <= 0:
        raise ThioglassError(f"frames of '{path}' are not in increasing step order; give one continuous trajectory")
    return stride


class SpacingCheck:
    """Checks, frame by frame, that stored frames are evenly spaced by ``stride`` MD steps."""

    def __init__(self, stride: int, path: Path | str) -> None:
        self.stride = stride
        self.path = str(path)
        self._previous: int | None = None

    def update(self, atoms: Atoms) -> None:
        step = frame_step(atoms)
        if step is None:
            return
        if self._previous is not None and step - self._previous != self.stride:
            raise ThioglassError(
                f"frames of '{self.path}' are not evenly spaced (step {self._previous} then {step}, expected "
                f"{self.stride} apart); select an evenly spaced part with --frames"
            )
        self._previous = step
