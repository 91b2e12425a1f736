"""Li mean-squared displacement from (NPT) trajectories: all time origins, per atom, by FFT.

Positions are unwrapped by :mod:`thioglass.analysis.unwrap`, correct when the box changes
every frame (NPT). The diffusion coefficient is fitted from these curves by
:mod:`thioglass.analysis.diffusion`.

Memory
------
Windowed multi-origin MSD needs the whole trajectory of the selected species:
``MSD`` keeps ``n_frames x n_selected x 3`` float64 (Li only; 2000 Li x 10^4 frames is
0.5 GB), plus one frame of all atoms for unwrapping. Thin the frames (``stride``) for
longer runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from thioglass.analysis.unwrap import Unwrapper
from thioglass.errors import ThioglassError

__all__ = ["MSD", "MSDResult", "msd_per_atom"]


@dataclass(frozen=True)
class MSDResult:
    """Multi-origin MSD.

    Attributes
    ----------
    lag_ps:
        Lag times (ps), shape (n_lags,), lags 1 .. n_frames-1 frame intervals.
    msd_A2:
        MSD averaged over atoms and all time origins (Å²).
    n_independent:
        Effective number of independent observations per lag, ``n_atoms * (n_frames-1) / lag``
        (atoms times non-overlapping windows; kinisi's count).
    per_atom_msd_A2:
        Origin-averaged MSD of each atom, shape (n_atoms, n_lags), for uncertainties.
    """

    lag_ps: np.ndarray
    msd_A2: np.ndarray
    n_independent: np.ndarray
    per_atom_msd_A2: np.ndarray

    def to_dict(self) -> dict:
        """JSON-ready curves (without the per-atom array)."""
        return {
            "lag_ps": self.lag_ps.tolist(),
            "msd_A2": self.msd_A2.tolist(),
            "n_independent": self.n_independent.tolist(),
            "n_atoms": int(self.per_atom_msd_A2.shape[0]),
        }


def msd_per_atom(positions: ArrayLike, chunk_elements: int = 2**24) -> np.ndarray:
    """Windowed (all time origins) MSD of each atom by FFT, lags 1 .. n_frames-1.

    Parameters
    ----------
    positions:
        Unwrapped positions, shape (n_frames, n_atoms, 3), Å.
    chunk_elements:
        Atoms are processed in chunks of about this many FFT elements to bound memory.

    Returns
    -------
    np.ndarray
        Shape (n_atoms, n_frames - 1), Å².
    """
    r = np.asarray(positions, dtype=float)
    n_frames, n_atoms = r.shape[:2]
    if n_frames < 2:
        raise ThioglassError("an MSD needs at least two frames")
    lags = np.arange(1, n_frames)
    counts = (n_frames - lags)[:, None]
    nfft = 2 * n_frames
    chunk = max(1, chunk_elements // (3 * nfft))
    out = np.empty((n_atoms, n_frames - 1))
    for start in range(0, n_atoms, chunk):
        # Centring each atom removes large offsets that would cost precision in S1 - 2 S2.
        x = r[:, start : start + chunk]
        x = x - x.mean(axis=0)
        sq = np.einsum("tad,tad->ta", x, x)
        csum = np.concatenate([np.zeros((1, sq.shape[1])), np.cumsum(sq, axis=0)])
        s1 = (csum[-1] - csum[lags] + csum[n_frames - lags]) / counts
        f = np.fft.rfft(x, n=nfft, axis=0)
        acf = np.fft.irfft(np.einsum("tad,tad->ta", f, f.conj()).real, n=nfft, axis=0)[lags]
        out[start : start + chunk] = (s1 - 2.0 * acf / counts).T
    return out


class MSD:
    """Streaming MSD of one species (freud/kinisi style).

    Parameters
    ----------
    species:
        Chemical symbol whose MSD is computed.
    timestep_fs:
        MD time step (fs).
    stride:
        MD steps between two frames passed to :meth:`compute`.
    remove_drift:
        Subtract, frame by frame, the mean displacement of the other atoms (the framework),
        as kinisi does, so a drifting centre of mass does not count as diffusion.
    """

    def __init__(self, species: str = "Li", timestep_fs: float = 1.0, stride: int = 1, remove_drift: bool = True):
        if timestep_fs <= 0 or stride < 1:
            raise ThioglassError("timestep_fs must be > 0 and stride >= 1")
        self.species = species
        self.timestep_fs = float(timestep_fs)
        self.stride = int(stride)
        self.remove_drift = remove_drift
        self._unwrapper = Unwrapper()
        self._symbols: tuple[str, ...] | None = None
        self._mask: np.ndarray | None = None
        self._selected: list[np.ndarray] = []

    @property
    def frame_interval_ps(self) -> float:
        return self.timestep_fs * self.stride / 1000.0

    def compute(self, frame) -> MSD:
        """Add one frame (``ase.Atoms``; wrapped or unwrapped positions, any cell)."""
        symbols = tuple(frame.get_chemical_symbols())
        if self._symbols is None:
            mask = np.array([s == self.species for s in symbols])
            if not mask.any():
                raise ThioglassError(f"the frame has no {self.species} atoms; check the species name")
            self._symbols, self._mask = symbols, mask
        elif symbols != self._symbols:
            raise ThioglassError("atoms changed order or identity between frames; give one consistent trajectory")
        if frame.cell.rank != 3:
            raise ThioglassError("the frame has no 3D cell; the MSD needs periodic frames with a cell")
        u = self._unwrapper.update(frame.get_positions(), frame.cell[:])
        selected = u[self._mask]
        if self.remove_drift and (~self._mask).any():
            selected = selected - u[~self._mask].mean(axis=0)
        self._selected.append(selected.copy())
        return self

    def result(self) -> MSDResult:
        """Multi-origin MSD of the frames seen so far."""
        if len(self._selected) < 3:
            raise ThioglassError("the MSD needs at least 3 frames; run a longer trajectory")
        per_atom = msd_per_atom(np.stack(self._selected))
        n_frames, n_atoms = len(self._selected), per_atom.shape[0]
        lags = np.arange(1, n_frames)
        return MSDResult(
            lag_ps=lags * self.frame_interval_ps,
            msd_A2=per_atom.mean(axis=0),
            n_independent=n_atoms * (n_frames - 1) / lags,
            per_atom_msd_A2=per_atom,
        )
