"""Unwrapping periodic trajectories, also when the box changes every frame (NPT).

Positions are unwrapped in fractional coordinates and each step is converted with the cell of
the frame it ends in::

    ds_t = s_t - s_{t-1} - round(s_t - s_{t-1});   u_t = u_{t-1} + ds_t · L_t

(row vectors; ``L_t`` rows are lattice vectors). The rounding removes the periodic jump by the
minimum image in fractional space, which is exact as long as no atom moves half a cell width
between stored frames. A barostat moves atoms affinely with the box (fractional coordinates
unchanged), so this sum integrates only the atoms' own (peculiar-velocity) motion, the
quantity whose Green-Kubo integral is D, and it does not depend on where the dilation is
centred. It reproduces exactly a trajectory built as "rescale with the box, then move"
(tested).

Other schemes: multiplying unwrapped fractional coordinates (or LAMMPS image counters) by the
current cell turns box fluctuations into displacements that grow with the distance travelled
(von Bülow, Bullerjahn and Hummer, J. Chem. Phys. 153, 021101 (2020)); their "toroidal"
scheme, used by kinisi, keeps the affine motion of the wrapped position, a bounded term of
relative order (box fluctuation)/(box length). With a fixed box all of them coincide.
Already-unwrapped input passes through unchanged, since its steps have no periodic jumps to
remove.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from thioglass.errors import ThioglassError


def _cells_per_frame(cells: ArrayLike, n_frames: int) -> np.ndarray:
    cells = np.asarray(cells, dtype=float)
    if cells.shape == (3, 3):
        cells = np.broadcast_to(cells, (n_frames, 3, 3))
    if cells.shape != (n_frames, 3, 3):
        raise ThioglassError(f"cells have shape {cells.shape}; expected (3, 3) or ({n_frames}, 3, 3)")
    if np.any(np.abs(np.linalg.det(cells)) < 1e-8):
        raise ThioglassError("a cell is degenerate (zero volume); unwrapping needs a 3D periodic box")
    return cells


def unwrap(frames_fractional: ArrayLike, cells: ArrayLike) -> np.ndarray:
    """Unwrapped Cartesian positions (Å) of a trajectory (scheme in the module docstring).

    Parameters
    ----------
    frames_fractional:
        Fractional coordinates, shape (n_frames, n_atoms, 3), wrapped or not.
    cells:
        Cell of each frame, shape (n_frames, 3, 3) (rows are lattice vectors, Å), or one
        (3, 3) cell for a fixed box.

    Returns
    -------
    np.ndarray
        Shape (n_frames, n_atoms, 3); frame 0 equals its Cartesian positions.
    """
    s = np.asarray(frames_fractional, dtype=float)
    if s.ndim != 3 or s.shape[2] != 3 or s.shape[0] < 1:
        raise ThioglassError(f"frames_fractional has shape {s.shape}; expected (n_frames, n_atoms, 3)")
    cells = _cells_per_frame(cells, s.shape[0])
    ds = np.diff(s, axis=0)
    ds -= np.rint(ds)
    out = np.empty_like(s)
    out[0] = s[0] @ cells[0]
    np.cumsum(np.einsum("tai,tij->taj", ds, cells[1:]), axis=0, out=out[1:])
    out[1:] += out[0]
    return out


class Unwrapper:
    """Streaming form of :func:`unwrap`: feed Cartesian positions and the cell frame by frame."""

    def __init__(self) -> None:
        self._previous: np.ndarray | None = None
        self._unwrapped: np.ndarray | None = None

    def update(self, positions: np.ndarray, cell: np.ndarray) -> np.ndarray:
        """Unwrapped positions (Å) of this frame; ``positions`` are Cartesian (Å)."""
        s = np.asarray(positions, dtype=float) @ np.linalg.inv(cell)
        if self._previous is None:
            self._unwrapped = s @ cell
        else:
            if s.shape != self._previous.shape:
                raise ThioglassError("the number of atoms changed between frames; give one consistent trajectory")
            ds = s - self._previous
            ds -= np.rint(ds)
            self._unwrapped = self._unwrapped + ds @ cell
        self._previous = s
        return self._unwrapped
