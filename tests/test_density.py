"""Density of periodic frames: crystals against pymatgen, trajectory averages, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.io import read

import thioglass
from thioglass.analysis.density import DENSITY_DRIFT_KEYS, Density, density_drift, density_g_cm3
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


# --- drift over the averaging window (issue 17) ---------------------------------------------------


def _correlated_series(seed: int, n: int, drift_g_cm3: float, noise: float = 0.01, a: float = 0.5):
    """A density series over 10 ps with a linear drift and AR(1) noise (correlated neighbouring samples)."""
    rng = np.random.default_rng(seed)
    x = np.empty(n)
    x[0] = rng.normal(scale=noise)
    for k in range(1, n):
        x[k] = a * x[k - 1] + rng.normal(scale=noise * np.sqrt(1 - a**2))
    time_ps = np.linspace(0.0, 10.0, n)
    return time_ps, 1.85 + drift_g_cm3 * time_ps / 10.0 + x


def test_density_drift_recovers_a_known_drift_with_a_calibrated_error():
    z, flagged = [], 0
    for seed in range(200):
        t, rho = _correlated_series(seed, 500, drift_g_cm3=0.02)
        got = density_drift(t, rho)
        assert set(got) == set(DENSITY_DRIFT_KEYS) and got["density_window_ps"] == pytest.approx(10.0)
        z.append((got["density_drift_g_cm3"] - 0.02) / got["density_drift_std_g_cm3"])
        flagged += got["density_drift_significant"]
    # With 3 degrees of freedom the standardised error follows Student's t (std sqrt(3) = 1.7).
    assert abs(np.mean(z)) < 0.3 and 1.2 < np.std(z) < 2.3
    assert flagged > 150  # a drift of 0.02 g/cm³ against block noise of about 0.002 is found


def test_density_drift_of_a_flat_series_is_seldom_significant():
    flagged = sum(density_drift(*_correlated_series(seed, 500, drift_g_cm3=0.0))["density_drift_significant"]
                  for seed in range(200))
    assert flagged < 25  # 95 % confidence: about 10 of 200 by chance


def test_density_drift_needs_samples():
    got = density_drift(np.array([0.0, 1.0]), np.array([1.8, 1.9]))
    assert got["density_window_ps"] == 1.0 and got["density_drift_g_cm3"] is None
    assert got["density_drift_significant"] is None
