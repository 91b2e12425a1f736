"""Neutron S(Q): g(r) route against a direct Debye sum, ideal gas limit, weights, and the full analysis."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.io import read

import thioglass
from thioglass.analysis.rdf import RDF
from thioglass.analysis.structure import StructureAnalysis, StructureSettings
from thioglass.analysis.structure_factor import (
    NeutronStructureFactor,
    debye_structure_factor,
    lorch_window,
    neutron_structure_factor,
    partial_structure_factors,
)
from thioglass.elements import NEUTRON_B_FM
from thioglass.errors import ThioglassError

STRUCTURES = Path(thioglass.__file__).parent / "data" / "structures"


def _crystal(prefix: str) -> Atoms:
    return read(next(STRUCTURES.glob(f"{prefix}*")))


def _ideal_gas(seed: int, n_atoms: int = 2000) -> Atoms:
    rng = np.random.default_rng(seed)
    # 75Li2S-25P2S5 stoichiometry (Li3PS4) at a glass-like number density.
    symbols = ["Li"] * (3 * n_atoms // 8) + ["P"] * (n_atoms // 8) + ["S"] * (n_atoms // 2)
    length = (len(symbols) / 0.045) ** (1 / 3)
    return Atoms(symbols, positions=rng.uniform(0, length, (len(symbols), 3)), cell=[length] * 3, pbc=True)


@pytest.mark.parametrize("lorch", [False, True])
def test_crystal_sq_from_g_of_r_matches_a_direct_debye_sum(lorch):
    atoms = _crystal("Li3PS4_beta")
    q = np.linspace(0.3, 8.0, 60)
    r_max = 9.0  # larger than half of every cell width: periodic images included in both routes
    debye = debye_structure_factor(atoms, q, r_max, lorch=lorch)
    errors = []
    for n_bins in (3000, 6000):
        rdf = RDF(r_max_angstrom=r_max, n_bins=n_bins).compute(atoms).result()
        from_rdf = neutron_structure_factor(rdf, q, lorch=lorch)
        for key, expected in debye["partials"].items():
            assert np.allclose(from_rdf["partials"][key], expected, atol=0.02), key
        assert np.allclose(from_rdf["f_q_fm2"], debye["f_q_fm2"], atol=0.1)
        errors.append(np.abs(from_rdf["total"] - debye["total"]).max())
    # Only the binning (pair distances moved to bin centres) separates the two routes: finer bins,
    # smaller difference.
    assert errors[0] < 0.02
    assert errors[1] < 0.7 * errors[0]
    # The crystal's strongest features are far from 1, so the agreement above is not trivial.
    assert np.ptp(debye["total"]) > 1.0


GLASS = Path(__file__).parent / "data" / "glass_75Li2S-25P2S5_304.extxyz"


def test_default_sq_of_a_glass_frame_is_honest_at_low_q():
    # A 304-atom quick-preset glass: the g(r) -> S(Q) transform of a 10 Å g(r) without a window,
    # from Q near 0, rings far below what any glass scatters.
    glass = read(GLASS)
    sq = StructureAnalysis().compute(glass).result()["sq"]
    q = np.asarray(sq["q_inv_angstrom"])
    assert sq["window"] == "Lorch" and sq["lorch"] is True
    assert q[0] == pytest.approx(2 * np.pi / 10.0) == sq["q_min_inv_angstrom"]
    b2 = np.array([NEUTRON_B_FM[el] for el in glass.get_chemical_symbols()])
    assert sq["low_q_limit"] == pytest.approx(1 - np.mean(b2**2) / np.mean(b2) ** 2)  # -3.75: Li scatters negatively
    low = q < 1.0
    total, intensity = np.asarray(sq["total"])[low], np.asarray(sq["intensity"])[low]
    assert total.min() > sq["low_q_limit"] - 0.5
    assert intensity.min() > -0.2  # a scattered intensity: >= 0 up to what a 304-atom frame resolves
    raw = neutron_structure_factor(RDF(10.0, 200).compute(glass).result(), np.linspace(0.05, 1.0, 40), lorch=False)
    assert raw["total"].min() < sq["low_q_limit"] - 1.0 and raw["intensity"].min() < -0.3  # the checks can fail


def test_crystal_sq_peaks_sit_at_the_bragg_reflections_of_pymatgen():
    # Independent route: pymatgen's neutron powder pattern (its own scattering lengths and Lorentz
    # factor) for antifluorite Li2S. Our Lorch-damped transform of g(r) to 20 Å must put its three
    # highest maxima below 8 1/Å at the three strongest reflections there.
    from pymatgen.analysis.diffraction.neutron import NDCalculator
    from pymatgen.io.ase import AseAtomsAdaptor

    atoms = _crystal("Li2S_antifluorite")
    wavelength = 0.7
    pattern = NDCalculator(wavelength=wavelength).get_pattern(AseAtomsAdaptor.get_structure(atoms), two_theta_range=(0, 70))
    # pymatgen lists symmetry-equivalent families of the primitive cell apart: merge equal Q.
    q_bragg, where = np.unique(np.round(4 * np.pi * np.sin(np.radians(pattern.x / 2)) / wavelength, 4),
                               return_inverse=True)
    intensity = np.bincount(where, weights=pattern.y)
    keep = q_bragg < 8.0
    strongest = np.sort(q_bragg[keep][np.argsort(intensity[keep])[::-1][:3]])
    q = np.linspace(0.5, 8.0, 1500)
    total = neutron_structure_factor(RDF(20.0, 4000).compute(atoms).result(), q)["total"]
    maxima = np.flatnonzero((total[1:-1] > total[:-2]) & (total[1:-1] > total[2:])) + 1
    ours = np.sort(q[maxima[np.argsort(total[maxima])[::-1][:3]]])
    np.testing.assert_allclose(ours, strongest, atol=0.05)


def test_ideal_gas_sq_is_one_at_large_q():
    rdf = RDF(r_max_angstrom=8.0, n_bins=160)
    for seed in range(3):
        rdf.compute(_ideal_gas(seed))
    sq = NeutronStructureFactor(q_max=20.0, n_q=200, lorch=True).from_rdf(rdf.result())
    large_q = sq["q"] > 5.0
    # Noise of 3 x 2000 random atoms; the sparse P-P partial (250 P per frame) is the noisiest.
    assert np.all(np.abs(sq["total"][large_q] - 1.0) < 0.05)
    assert np.mean(np.abs(sq["total"][large_q] - 1.0)) < 0.015
    for key, partial in sq["partials"].items():
        assert np.all(np.abs(partial[large_q] - 1.0) < 0.1), key


def test_total_is_the_scattering_length_weighted_sum_over_ordered_pairs():
    result = RDF(8.0, 160).compute(_ideal_gas(4, 800)).result()
    q = np.linspace(0.5, 15.0, 50)
    sq = neutron_structure_factor(result, q)
    partials = partial_structure_factors(result, q)
    c = result.concentrations
    f_q = np.zeros_like(q)
    for a in c:  # every ordered pair: Li-S and S-Li both appear
        for b in c:
            key = "-".join(sorted((a, b), key=list(c).index))
            f_q += c[a] * c[b] * NEUTRON_B_FM[a] * NEUTRON_B_FM[b] * (partials[key] - 1.0)
    mean_b = sum(c[a] * NEUTRON_B_FM[a] for a in c)
    assert np.allclose(sq["f_q_fm2"], f_q)
    assert np.allclose(sq["total"], 1.0 + f_q / mean_b**2)
    weighted = sum(w * (sq["partials"][k] - 1.0) for k, w in sq["weights"].items())
    assert np.allclose(sq["total"], 1.0 + weighted)
    assert sum(sq["weights"].values()) == pytest.approx(
        sum(c[a] * c[b] * NEUTRON_B_FM[a] * NEUTRON_B_FM[b] for a in c for b in c) / mean_b**2
    )
    assert "Faber-Ziman" in sq["normalisation"]


def test_lorch_window_and_custom_scattering_lengths():
    assert lorch_window(np.array([0.0]), 10.0)[0] == pytest.approx(1.0)
    assert lorch_window(np.array([10.0]), 10.0)[0] == pytest.approx(0.0, abs=1e-15)
    result = RDF(8.0, 80).compute(_ideal_gas(5, 400)).result()
    q = np.linspace(1.0, 10.0, 20)
    # Equal scattering lengths: the total is the number-weighted (Bhatia-Thornton N-N) S(Q).
    equal = neutron_structure_factor(result, q, b_fm={"Li": 1.0, "P": 1.0, "S": 1.0})
    c = result.concentrations
    expected = 1.0 + sum(
        (1 if a == b else 2) * c[a] * c[b] * (equal["partials"][f"{a}-{b}"] - 1.0)
        for n, a in enumerate(c) for b in list(c)[n:]
    )
    assert np.allclose(equal["total"], expected)


def test_bad_input_is_rejected():
    result = RDF(8.0, 80).compute(_ideal_gas(6, 400)).result()
    with pytest.raises(ThioglassError):
        neutron_structure_factor(result, [-1.0, 2.0])
    with pytest.raises(ThioglassError):
        partial_structure_factors(result, np.ones((2, 2)))
    with pytest.raises(ThioglassError, match="scattering length for S"):
        neutron_structure_factor(result, [1.0], b_fm={"Li": 1.0, "P": 1.0})
    with pytest.raises(ThioglassError):
        NeutronStructureFactor(q_max=0.0)
    with pytest.raises(ThioglassError, match="periodic"):
        debye_structure_factor(Atoms("PS4", positions=np.eye(5, 3) * 2.0), [1.0], 5.0)


def test_structure_analysis_gives_one_json_ready_report():
    settings = StructureSettings(r_max_angstrom=8.0, n_bins=80, q_max_inv_angstrom=12.0, n_q=60)
    analysis = StructureAnalysis(settings)
    crystal = _crystal("Li7P3S11_")
    analysis.compute(crystal).compute(crystal.repeat((1, 1, 2)))
    report = json.loads(json.dumps(analysis.result()))
    assert report["n_frames"] == 2
    assert report["density_g_cm3"] == pytest.approx(1.872, abs=0.002)
    assert report["density_std_g_cm3"] == pytest.approx(0.0, abs=1e-9)
    assert len(report["rdf"]["r_angstrom"]) == 80 and len(report["sq"]["q_inv_angstrom"]) == 60
    assert set(report["rdf"]["partials"]) == set(report["sq"]["partials"]) == {
        "Li-Li", "Li-P", "Li-S", "P-P", "P-S", "S-S"
    }
    assert "Faber-Ziman" in report["sq"]["normalisation"]
    assert report["qn"]["P"]["0"] == pytest.approx(100 / 3)
    assert report["qn"]["P"]["1"] == pytest.approx(200 / 3)
    assert report["en"]["P"]["0"] == pytest.approx(100.0)
    assert report["bonds"]["P-P"]["fraction_of_P"] == 0.0
    assert report["sulfur"]["bridging_fraction"] == pytest.approx(2 / 22)
    assert report["coordination"]["P"]["S"] == pytest.approx(4.0)


def test_structure_analysis_reports_partials_without_a_total_for_unknown_scatterers():
    lgps = _crystal("Li10GeP2S12")
    settings = StructureSettings(r_max_angstrom=6.0, n_bins=30, n_q=20)
    report = StructureAnalysis(settings).compute(lgps).result()
    assert report["sq"]["total"] is None and "Ge" in report["sq"]["normalisation"]
    assert "S-Ge" in report["sq"]["partials"]  # TYPE_MAP elements first, then others


def test_bad_settings_are_rejected():
    with pytest.raises(ThioglassError):
        StructureSettings(bond_cutoff_angstrom=0.0)
    with pytest.raises(ThioglassError):
        StructureSettings(n_bins=0)
