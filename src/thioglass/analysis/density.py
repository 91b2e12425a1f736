"""Mass density of periodic frames, one frame or averaged over a trajectory, and its drift over a window."""

from __future__ import annotations

import math

import numpy as np
from ase import Atoms
from ase.data import atomic_masses, atomic_numbers

from thioglass.analysis.neighbors import cell_volume_angstrom3, no_frames_error
from thioglass.elements import AVOGADRO, MASS_G_MOL

_A3_TO_CM3 = 1e-24
DRIFT_BLOCKS = 5  # blocks of the density window whose means the drift line is fitted to
#: The keys :func:`density_drift` returns.
DENSITY_DRIFT_KEYS = ("density_window_ps", "density_drift_g_cm3", "density_drift_std_g_cm3", "density_block_sem_g_cm3",
                      "density_drift_significant")


def _mass_g_mol(symbol: str) -> float:
    # Element masses by symbol, not atoms.get_masses(): LAMMPS readers may carry per-type masses
    # that differ from the element's.
    if symbol in MASS_G_MOL:
        return MASS_G_MOL[symbol]
    return float(atomic_masses[atomic_numbers[symbol]])


def density_g_cm3(atoms: Atoms) -> float:
    """Mass density of a periodic frame in g/cm^3 (IUPAC masses, cell volume)."""
    volume_cm3 = cell_volume_angstrom3(atoms) * _A3_TO_CM3
    mass_g = sum(_mass_g_mol(s) for s in atoms.get_chemical_symbols()) / AVOGADRO
    return mass_g / volume_cm3


class Density:
    """Mean and standard deviation of the density over the frames passed to :meth:`compute`.

    Uses Welford's running update, so memory does not grow with the number of frames.
    """

    def __init__(self) -> None:
        self._n = 0
        self._mean = 0.0
        self._m2 = 0.0

    def compute(self, atoms: Atoms) -> Density:
        """Add one frame."""
        value = density_g_cm3(atoms)
        self._n += 1
        delta = value - self._mean
        self._mean += delta / self._n
        self._m2 += delta * (value - self._mean)
        return self

    def result(self) -> dict:
        """``mean`` and ``std`` (population, over frames) in g/cm^3, ``n_frames`` and ``units``."""
        if self._n == 0:
            raise no_frames_error()
        return {
            "mean": self._mean,
            "std": math.sqrt(self._m2 / self._n),
            "n_frames": self._n,
            "units": "g/cm^3",
        }


def density_drift(time_ps: np.ndarray, density_g_cm3: np.ndarray, n_blocks: int = DRIFT_BLOCKS) -> dict:
    """Change of the density over a window, from a line through ``n_blocks`` block means.

    Thermo samples are correlated, so the line is fitted to the means of ``n_blocks`` equal blocks
    and its error comes from their scatter about it (n_blocks - 2 degrees of freedom). Returns
    ``density_window_ps``, ``density_drift_g_cm3`` (slope times window), its standard error
    ``density_drift_std_g_cm3``, the block standard error of the mean ``density_block_sem_g_cm3``
    and ``density_drift_significant`` (the drift differs from 0 at 95 % confidence: more than the
    two-sided t quantile with n_blocks - 2 degrees of freedom, 3.18 for 5 blocks, times its
    error); errors are None with fewer than ``n_blocks`` samples. The errors hold when a block is
    longer than the density's correlation time (of the order of the barostat's damping time).
    """
    from scipy.stats import t as student_t

    span = float(time_ps[-1] - time_ps[0]) if len(time_ps) else 0.0
    out: dict = {"density_window_ps": span, "density_drift_g_cm3": None, "density_drift_std_g_cm3": None,
                 "density_block_sem_g_cm3": None, "density_drift_significant": None}
    if len(time_ps) < n_blocks or span <= 0:
        return out
    blocks = np.array_split(np.arange(len(time_ps)), n_blocks)
    t = np.array([time_ps[b].mean() for b in blocks])
    rho = np.array([density_g_cm3[b].mean() for b in blocks])
    (slope, intercept), cov = np.polyfit(t, rho, 1, cov="unscaled")
    residual_var = float(np.sum((rho - (slope * t + intercept)) ** 2) / (n_blocks - 2))
    drift, drift_std = float(slope * span), float(np.sqrt(cov[0, 0] * residual_var) * span)
    out.update(density_drift_g_cm3=drift, density_drift_std_g_cm3=drift_std,
               density_block_sem_g_cm3=float(rho.std(ddof=1) / np.sqrt(n_blocks)),
               density_drift_significant=bool(abs(drift) > student_t.ppf(0.975, n_blocks - 2) * drift_std))
    return out
