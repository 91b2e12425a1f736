"""Mass density of periodic frames, one frame or averaged over a trajectory."""

from __future__ import annotations

import math

from ase import Atoms
from ase.data import atomic_masses, atomic_numbers

from thioglass.analysis.neighbors import cell_volume_angstrom3, no_frames_error
from thioglass.elements import AVOGADRO, MASS_G_MOL

_A3_TO_CM3 = 1e-24


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

