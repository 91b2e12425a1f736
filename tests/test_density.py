"""Density of periodic frames: crystals against pymatgen, trajectory averages, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.io import read

import thioglass
from thioglass.analysis.density import Density, density_g_cm3
from thioglass.errors import ThioglassError

STRUCTURES = Path(thioglass.__file__).parent / "data" / "structures"


def _crystal(prefix: str) -> Atoms:
    return read(next(STRUCTURES.glob(f"{prefix}*")))


def test_li2s_density_is_that_of_antifluorite_li2s():
    # a = 5.670 Å, 4 formula units per conventional cell: 4 * 45.95 g/mol / N_A / a^3 = 1.674 g/cm^3.
    assert density_g_cm3(_crystal("Li2S_")) == pytest.approx(1.674, abs=0.002)


@pytest.mark.parametrize("prefix", ["Li3PS4_beta", "P2S5_", "SiS2_", "Li7P3S11_", "Li4P2S6_"])
def test_density_agrees_with_pymatgen(prefix):
    from pymatgen.io.ase import AseAtomsAdaptor

    atoms = _crystal(prefix)
    expected = AseAtomsAdaptor.get_structure(atoms).density
    # pymatgen's element masses differ from ASE's (IUPAC) in the fourth or fifth digit.
    assert density_g_cm3(atoms) == pytest.approx(expected, rel=5e-4)


def test_density_is_intensive_and_ignores_stored_masses():
    atoms = _crystal("Li3PS4_beta")
    supercell = atoms.repeat((2, 3, 1))
    supercell.set_masses(np.ones(len(supercell)))  # e.g. LAMMPS per-type masses: not used
    assert density_g_cm3(supercell) == pytest.approx(density_g_cm3(atoms), rel=1e-12)


def test_trajectory_mean_and_std_follow_the_box():
    atoms = _crystal("Li2S_")
    scales = [1.0, 1.02, 0.98, 1.05]
    tracker = Density()
    values = []
    for scale in scales:
        frame = atoms.copy()
        frame.set_cell(atoms.cell * scale, scale_atoms=True)
        tracker.compute(frame)
        values.append(density_g_cm3(atoms) / scale**3)
    result = tracker.result()
    assert result["n_frames"] == len(scales)
    assert result["mean"] == pytest.approx(np.mean(values), rel=1e-12)
    assert result["std"] == pytest.approx(np.std(values), rel=1e-9)
    assert result["units"] == "g/cm^3"


def test_non_periodic_or_cell_less_frames_are_rejected():
    molecule = Atoms("PS4", positions=np.eye(5, 3) * 2.0)
    with pytest.raises(ThioglassError, match="periodic"):
        density_g_cm3(molecule)
    no_cell = Atoms("PS4", positions=np.eye(5, 3) * 2.0, pbc=True)
    with pytest.raises(ThioglassError, match="no cell"):
        density_g_cm3(no_cell)
    slab = _crystal("Li2S_")
    slab.pbc = (True, True, False)
    with pytest.raises(ThioglassError):
        density_g_cm3(slab)


def test_result_before_any_frame_is_an_error():
    with pytest.raises(ThioglassError, match="no frames"):
        Density().result()
