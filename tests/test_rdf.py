"""Neighbour lists and g_ij(r): ideal gas, ASE and freud, periodic images, changing boxes, bad input."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.geometry.rdf import get_rdf
from ase.io import read
from ase.neighborlist import neighbor_list as ase_neighbor_list

import thioglass
from thioglass.analysis.neighbors import neighbor_list
from thioglass.analysis.rdf import RDF, pair_key
from thioglass.errors import ThioglassError

STRUCTURES = Path(thioglass.__file__).parent / "data" / "structures"
SKEWED_CELL = np.array([[14.0, 0.0, 0.0], [2.0, 14.0, 0.0], [-1.5, 1.0, 14.0]])


def _random_frame(
    seed: int, cell: np.ndarray = SKEWED_CELL, counts: dict | None = None
) -> Atoms:
    counts = counts or {"Li": 300, "P": 60, "S": 240}
    symbols = [el for el, n in counts.items() for _ in range(n)]
    rng = np.random.default_rng(seed)
    return Atoms(symbols, scaled_positions=rng.uniform(0, 1, (len(symbols), 3)), cell=cell, pbc=True)


def _beta_li3ps4() -> Atoms:
    return read(next(STRUCTURES.glob("Li3PS4_beta*")))


def _pair_set(i, j, shift, distance):
    return sorted(zip(i.tolist(), j.tolist(), map(tuple, shift.tolist()), np.round(distance, 9)))


@pytest.mark.parametrize("cutoff", [2.6, 7.5])
def test_neighbor_list_matches_ase_in_a_cell_smaller_than_the_cutoff(cutoff):
    # 7 atoms in a skewed ~5 Å cell: at 7.5 Å every atom meets many images of every other and itself.
    rng = np.random.default_rng(0)
    cell = np.array([[5.0, 0.0, 0.0], [3.5, 4.0, 0.0], [-2.0, 1.5, 3.0]])
    atoms = Atoms("Li4S3", positions=rng.uniform(-10, 10, (7, 3)), cell=cell, pbc=True)
    pairs = neighbor_list(atoms, cutoff)
    i, j, shift, distance = ase_neighbor_list("ijSd", atoms, cutoff)
    assert _pair_set(pairs.i, pairs.j, pairs.shift, pairs.distance) == _pair_set(i, j, shift, distance)
    vectors = atoms.positions[pairs.j] + pairs.shift @ atoms.cell.array - atoms.positions[pairs.i]
    assert np.allclose(np.linalg.norm(vectors, axis=1), pairs.distance)
    assert np.any(pairs.i == pairs.j) == (cutoff > 3.0)  # self-images appear once the cutoff allows


def test_ideal_gas_gives_g_equal_one_for_every_partial():
    rdf = RDF(r_max_angstrom=6.0, n_bins=30)
    counts = {"Li": 400, "Si": 100, "P": 100, "S": 400}
    for seed in range(4):
        rdf.compute(_random_frame(seed, counts=counts))
    result = rdf.result()
    assert result.n_frames == 4
    assert set(result.partials) == {
        "Li-Li", "Li-Si", "Li-P", "Li-S", "Si-Si", "Si-P", "Si-S", "P-P", "P-S", "S-S"
    }
    volume = abs(np.linalg.det(SKEWED_CELL))
    shells = 4.0 / 3.0 * np.pi * np.diff(np.linspace(0, 6.0, 31) ** 3)
    for key, g in result.partials.items():
        a, b = key.split("-")
        # Poisson noise on the number of distinct pairs expected in each shell over all frames.
        pairs = counts[a] * (counts[b] - (a == b)) / (1 + (a == b)) * shells / volume * 4
        sigma = 1.0 / np.sqrt(pairs)
        assert np.all(np.abs(g - 1.0)[5:] < 5 * sigma[5:]), key
        assert abs(np.average(g[5:], weights=pairs[5:]) - 1.0) < 5 * np.sqrt(1 / pairs[5:].sum()) + 0.01
    assert np.all(np.abs(result.total[5:] - 1.0) < 0.05)
    assert result.number_density == pytest.approx(1000 / volume)
    assert result.concentrations == {"Li": 0.4, "Si": 0.1, "P": 0.1, "S": 0.4}


def test_partials_and_total_match_ase_and_freud():
    import freud

    atoms = _random_frame(3)
    result = RDF(r_max_angstrom=6.0, n_bins=60).compute(atoms).result()
    box = freud.box.Box.from_matrix(atoms.cell.array.T)
    symbols = np.array(atoms.get_chemical_symbols())
    positions = atoms.positions
    for key, g in result.partials.items():
        a, b = key.split("-")
        expected_ase = get_rdf(atoms, 6.0, 60, elements=(a, b), no_dists=True)
        assert np.allclose(g, expected_ase, rtol=1e-10, atol=1e-12), key
        freud_rdf = freud.density.RDF(bins=60, r_max=6.0)
        if a == b:
            freud_rdf.compute((box, positions[symbols == a]))
        else:
            freud_rdf.compute((box, positions[symbols == b]), query_points=positions[symbols == a])
        assert np.allclose(g, freud_rdf.rdf, rtol=1e-4, atol=1e-5), key  # freud works in float32
        assert np.allclose(result.r, freud_rdf.bin_centers, atol=1e-5)
    reverse = get_rdf(atoms, 6.0, 60, elements=("S", "Li"), no_dists=True)
    assert np.allclose(result.partials["Li-S"], reverse, rtol=1e-10, atol=1e-12)  # g_ij = g_ji
    total = freud.density.RDF(bins=60, r_max=6.0).compute((box, positions))
    assert np.allclose(result.total, total.rdf, rtol=1e-4, atol=1e-5)
    assert np.allclose(result.total, get_rdf(atoms, 6.0, 60, no_dists=True), rtol=1e-10)


def test_r_max_beyond_half_the_cell_equals_the_supercell_result():
    atoms = _beta_li3ps4()  # widths about 6, 8 and 12 Å: r_max 8 Å reaches several images
    small = RDF(r_max_angstrom=8.0, n_bins=80).compute(atoms).result()
    supercell = atoms.repeat((3, 2, 2))
    large = RDF(r_max_angstrom=8.0, n_bins=80).compute(supercell).result()
    for key in small.partials:
        assert np.allclose(small.partials[key], large.partials[key], rtol=1e-9, atol=1e-9), key
        a, b = key.split("-")
        assert np.allclose(
            small.partials[key], get_rdf(supercell, 8.0, 80, elements=(a, b), no_dists=True),
            rtol=1e-9, atol=1e-9,
        ), key
    assert small.number_density == pytest.approx(large.number_density)


def test_frames_with_different_boxes_average_their_own_normalised_g():
    first = _random_frame(5)
    second = _random_frame(6, cell=SKEWED_CELL * 1.1)
    both = RDF(6.0, 30).compute(first).compute(second).result()
    alone = [RDF(6.0, 30).compute(frame).result() for frame in (first, second)]
    for key in both.partials:
        assert np.allclose(both.partials[key], 0.5 * (alone[0].partials[key] + alone[1].partials[key]))
    assert both.number_density == pytest.approx(0.5 * (alone[0].number_density + alone[1].number_density))


def test_total_is_the_concentration_weighted_sum_over_ordered_pairs():
    result = RDF(6.0, 30).compute(_random_frame(7)).result()
    c = result.concentrations
    expected = sum(
        c[a] * c[b] * result.partials[pair_key(a, b)] for a in result.species for b in result.species
    )
    assert np.allclose(result.total, expected)
    assert result.r_max_angstrom == pytest.approx(6.0)
    assert result.bin_width_angstrom == pytest.approx(0.2)


def test_memory_does_not_grow_with_frames():
    rdf = RDF(6.0, 60)
    frame = _random_frame(8)
    for _ in range(3):
        rdf.compute(frame)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(20):
        rdf.compute(frame)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert after - before < 50_000


def test_bad_input_is_rejected():
    molecule = Atoms("PS4", positions=np.eye(5, 3) * 2.0)
    with pytest.raises(ThioglassError, match="periodic"):
        RDF().compute(molecule)
    with pytest.raises(ThioglassError, match="no cell"):
        neighbor_list(Atoms("PS4", positions=np.eye(5, 3) * 2.0, pbc=True), 3.0)
    with pytest.raises(ThioglassError):
        neighbor_list(_random_frame(0), 0.0)
    corrupt = _random_frame(0)
    corrupt.positions[3, 1] = np.nan
    with pytest.raises(ThioglassError, match="NaN"):
        RDF().compute(corrupt)
    with pytest.raises(ThioglassError, match="no atoms"):
        RDF().compute(Atoms(cell=[5, 5, 5], pbc=True))
    with pytest.raises(ThioglassError, match="no frames"):
        RDF().result()
    with pytest.raises(ThioglassError):
        RDF(r_max_angstrom=-1.0)
    rdf = RDF(6.0, 30).compute(_random_frame(1))
    with pytest.raises(ThioglassError, match="elements changed"):
        rdf.compute(_random_frame(1, counts={"Li": 300, "S": 300}))
