"""Frame spacing of trajectories: MD steps between stored frames, read from the file itself."""

from __future__ import annotations

from collections.abc import Iterator
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


def iter_continued(paths: list[Path | str]) -> Iterator[Atoms]:
    """The frames of MD stages that continue one another (a production run on in several stages) as one
    trajectory.

    Each later stage starts from the state its predecessor ended in, and its first frame is that state
    again: it is dropped. Its step numbers are moved on by the steps before it, and its ``unwrapped``
    positions (whose image counts restart with the stage) are shifted to continue the previous frame's, so
    the whole reads as one run. Raises :class:`ThioglassError` when a stage does not start where the last
    one ended.
    """
    from thioglass.io import iter_frames

    offset_steps, last = 0, None
    for index, path in enumerate(paths):
        shift = None
        for k, atoms in enumerate(iter_frames(path)):
            if index and k == 0:
                _check_continues(last, atoms, path)
                if "unwrapped" in atoms.arrays and "unwrapped" in last.arrays:
                    shift = last.arrays["unwrapped"] - atoms.arrays["unwrapped"]
                offset_steps = frame_step(last) or 0
                continue
            if index:
                step = frame_step(atoms)
                if step is not None:
                    atoms.info["timestep"] = step + offset_steps
                    atoms.info.pop("step", None)
                if shift is not None:
                    atoms.arrays["unwrapped"] = atoms.arrays["unwrapped"] + shift
            last = atoms
            yield atoms
        if last is None:
            raise ThioglassError(f"'{path}' holds no frames; rerun the stage that wrote it")


def _check_continues(last: Atoms | None, first: Atoms, path: Path | str) -> None:
    """The first frame of a stage is the last frame of the one before (positions equal modulo the cell)."""
    import numpy as np

    if last is None or len(last) != len(first):
        raise ThioglassError(f"'{path}' does not continue the stage before it (another system); rerun it")
    delta = (first.positions - last.positions) @ np.linalg.inv(last.cell[:])
    delta -= np.round(delta)
    if float(np.max(np.abs(delta @ last.cell[:]))) > 1e-3:
        raise ThioglassError(f"'{path}' does not start where the stage before it ended; rerun it")
