"""Elastic tensor by finite strains and VRH averages, checked against pymatgen and an EOS fit."""

from __future__ import annotations

import numpy as np
import pytest
from ase import units
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.eos import EquationOfState

from thioglass.analysis.elastic import (
    elastic_tensor_from_stresses,
    strain_tensor,
    strained_cells,
    vrh,
)
from thioglass.errors import ThioglassError
from thioglass.properties.elastic_static import ElasticSettings, ElasticStep


def _isotropic(b: float, g: float) -> np.ndarray:
    C = np.zeros((6, 6))
    C[:3, :3] = b - 2.0 * g / 3.0
    C[np.arange(3), np.arange(3)] = b + 4.0 * g / 3.0
    C[np.arange(3, 6), np.arange(3, 6)] = g
    return C


@pytest.fixture(scope="module")
def cu():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    return atoms, ElasticStep().calc(atoms, EMT())


def _stresses(atoms, strain):
    """Stresses (GPa, ASE sign) of the 12 strained cells, computed outside ElasticStep."""
    plus, minus, strains, stresses = np.zeros((6, 6)), np.zeros((6, 6)), [], []
    for item in strained_cells(atoms.cell[:], strain):
        a = atoms.copy()
        a.set_cell(item.cell, scale_atoms=True)
        a.calc = EMT()
        s = a.get_stress(voigt=True) / units.GPa
        (plus if item.sign > 0 else minus)[item.voigt_index] = s
        strains.append(item.deformation - np.eye(3))
        stresses.append(a.get_stress(voigt=False) / units.GPa)
    return plus, minus, strains, stresses


def _eq_stress(atoms):
    a = atoms.copy()
    a.calc = EMT()
    return a.get_stress(voigt=False) / units.GPa


def test_emt_copper_is_cubic_and_positive(cu):
    _, r = cu
    C = np.array(r["C_GPa"])
    c11, c12, c44 = np.diag(C)[:3], C[[0, 0, 1], [1, 2, 2]], np.diag(C)[3:]
    assert np.ptp(c11) < 1e-6 and np.ptp(c12) < 1e-6 and np.ptp(c44) < 1e-6
    # EMT copper: C11 > C12 > 0, C44 > 0 and a zero off-block (cubic symmetry).
    assert c11[0] > c12[0] > 50 and c44[0] > 50
    assert np.abs(C[:3, 3:]).max() < 1e-6 and r["mechanically_stable"]
    assert r["asymmetry_GPa"] < 1e-6


def test_matches_pymatgen_on_same_stresses():
    from pymatgen.analysis.elasticity import ElasticTensor, Strain, Stress

    atoms = bulk("Cu", "fcc", a=3.62, cubic=True)
    settings = ElasticSettings(relax_structure=False, relax_deformed=False)
    result = ElasticStep(settings).calc(atoms, EMT())
    plus, minus, strains, stresses = _stresses(atoms, 0.01)
    mine = elastic_tensor_from_stresses(plus, minus, 0.01).C_GPa
    np.testing.assert_allclose(mine, result["C_GPa"], atol=1e-9)
    eq = Stress(_eq_stress(atoms))
    pmg = ElasticTensor.from_independent_strains(
        [Strain(e) for e in strains], [Stress(s) for s in stresses], eq_stress=eq
    )
    np.testing.assert_allclose(mine, pmg.voigt, atol=1e-6 * np.abs(mine).max())
    mod = vrh(mine)
    assert mod["bulk_modulus_vrh_GPa"] == pytest.approx(pmg.k_vrh, rel=1e-9)
    assert mod["shear_modulus_vrh_GPa"] == pytest.approx(pmg.g_vrh, rel=1e-9)
    assert mod["bulk_modulus_reuss_GPa"] == pytest.approx(pmg.k_reuss, rel=1e-9)
    assert mod["shear_modulus_voigt_GPa"] == pytest.approx(pmg.g_voigt, rel=1e-9)
    assert mod["youngs_modulus_GPa"] == pytest.approx(pmg.y_mod / 1e9, rel=1e-9)
    assert mod["poisson_ratio"] == pytest.approx(pmg.homogeneous_poisson, rel=1e-9)


def test_bulk_modulus_matches_equation_of_state(cu):
    atoms, r = cu
    a0 = r["volume_angstrom3"] ** (1 / 3)
    volumes, energies = [], []
    for f in np.linspace(0.99, 1.01, 9):
        a = bulk("Cu", "fcc", a=a0 * f, cubic=True)
        a.calc = EMT()
        volumes.append(a.get_volume())
        energies.append(a.get_potential_energy())
    _, _, b = EquationOfState(volumes, energies).fit()
    assert r["bulk_modulus_vrh_GPa"] == pytest.approx(b / units.GPa, rel=0.01)


def test_linear_regime_independent_of_strain(cu):
    atoms, r = cu
    half = ElasticStep(ElasticSettings(strain=0.005)).calc(atoms, EMT())
    np.testing.assert_allclose(half["C_GPa"], r["C_GPa"], atol=0.01 * np.abs(r["C_GPa"]).max())


def test_internal_relaxation_softens_hcp_and_keeps_hexagonal_symmetry():
    atoms = bulk("Cu", "hcp", a=2.55, c=4.16)  # two atoms per cell: internal strain under shear
    tight = {"fmax_eV_per_angstrom": 1e-4, "max_steps": 2000}
    clamped = np.array(ElasticStep(ElasticSettings(relax_deformed=False, **tight)).calc(atoms, EMT())["C_GPa"])
    relaxed = np.array(ElasticStep(ElasticSettings(relax_deformed=True, **tight)).calc(atoms, EMT())["C_GPa"])
    assert relaxed[5, 5] < 0.9 * clamped[5, 5] and relaxed[0, 0] < 0.95 * clamped[0, 0]
    for C in (clamped, relaxed):
        assert C[5, 5] == pytest.approx((C[0, 0] - C[0, 1]) / 2, rel=0.01)  # C66 = (C11 - C12) / 2
        assert C[3, 3] == pytest.approx(C[4, 4], rel=1e-3)


def test_isotropic_tensor_gives_back_b_and_g():
    b, g = 18.61, 8.39
    r = vrh(_isotropic(b, g))
    for key in ("voigt", "reuss", "vrh"):
        assert r[f"bulk_modulus_{key}_GPa"] == pytest.approx(b, rel=1e-12)
        assert r[f"shear_modulus_{key}_GPa"] == pytest.approx(g, rel=1e-12)
    # The paper's forms of E and nu are the same functions.
    assert r["youngs_modulus_GPa"] == pytest.approx(1.0 / (1.0 / (3 * g) + 1.0 / (9 * b)), rel=1e-12)
    assert r["poisson_ratio"] == pytest.approx(0.5 * (1 - 3 * g / (3 * b + g)), rel=1e-12)
    # Isotropic elasticity: E = 2G(1 + nu).
    assert r["youngs_modulus_GPa"] == pytest.approx(2 * g * (1 + r["poisson_ratio"]), rel=1e-12)
    np.testing.assert_allclose(np.array(r["S_inv_GPa"]) @ _isotropic(b, g), np.eye(6), atol=1e-12)


def test_voigt_bounds_reuss():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(6, 6))
    r = vrh(A @ A.T + 6 * np.eye(6))
    assert r["bulk_modulus_voigt_GPa"] >= r["bulk_modulus_reuss_GPa"]
    assert r["shear_modulus_voigt_GPa"] >= r["shear_modulus_reuss_GPa"]


def test_shear_uses_engineering_strain():
    eps = strain_tensor(3, 0.01)
    assert eps[1, 2] == eps[2, 1] == pytest.approx(0.005) and np.count_nonzero(eps) == 2
    items = strained_cells(np.eye(3) * 5.0, 0.01)
    assert len(items) == 12 and {(i.voigt_index, i.sign) for i in items} == {(j, s) for j in range(6) for s in (1, -1)}
    for item in items:
        np.testing.assert_allclose(item.deformation, item.deformation.T)
        np.testing.assert_allclose(item.cell, 5.0 * item.deformation.T)


def test_sampled_stresses_give_uncertainty():
    rng = np.random.default_rng(7)
    C, strain, noise, n = _isotropic(20.0, 9.0), 0.01, 0.02, 400
    plus = (C * strain)[:, None, :] + rng.normal(scale=noise, size=(6, n, 6))
    minus = (-C * strain)[:, None, :] + rng.normal(scale=noise, size=(6, n, 6))
    res = elastic_tensor_from_stresses(plus, minus, strain)
    expected_diag_err = np.sqrt(2) * noise / np.sqrt(n) / (2 * strain)
    np.testing.assert_allclose(np.diag(res.C_err_GPa), expected_diag_err, rtol=0.15)
    assert np.all(np.abs(res.C_GPa - C) < 4 * res.C_err_GPa)
    assert res.asymmetry_GPa > 0


def test_asymmetry_is_reported():
    C = _isotropic(20.0, 9.0)
    skew = C.copy()
    skew[0, 1] += 2.0
    res = elastic_tensor_from_stresses(skew.T * 0.01, -skew.T * 0.01, 0.01)
    assert res.asymmetry_GPa == pytest.approx(1.0)
    assert res.C_GPa[0, 1] == pytest.approx(C[0, 1] + 1.0)


@pytest.mark.parametrize(
    "C",
    [np.zeros((6, 6)), np.ones((6, 6)), np.eye(5), np.full((6, 6), np.nan)],
    ids=["zero", "rank-one", "wrong-shape", "nan"],
)
def test_bad_tensor_raises(C):
    with pytest.raises(ThioglassError):
        vrh(C)


def test_bad_inputs_raise():
    with pytest.raises(ThioglassError):
        ElasticSettings(strain=0.5)
    with pytest.raises(ThioglassError):
        ElasticSettings(optimizer="LBFGSLineSearch-typo")
    with pytest.raises(ThioglassError):
        elastic_tensor_from_stresses(np.zeros((6, 3)), np.zeros((6, 6)), 0.01)
    with pytest.raises(ThioglassError):
        strained_cells(np.zeros((3, 3)), 0.01)
    molecule = bulk("Cu", "fcc", a=3.6, cubic=True)
    molecule.pbc = False
    with pytest.raises(ThioglassError):
        ElasticStep().calc(molecule, EMT())
