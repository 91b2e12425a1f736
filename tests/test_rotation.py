"""Tetrahedron rotation by Kabsch fits and its correlation with Li motion (paddle-wheel)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.io import read
from scipy.spatial.transform import Rotation

from thioglass.analysis.rotation import TetrahedronRotation, find_tetrahedra, kabsch_batch, kabsch_rotation
from thioglass.errors import ThioglassError

STRUCTURES = Path(__file__).resolve().parents[1] / "src" / "thioglass" / "data" / "structures"
#: Regular tetrahedron with 2.05 Å P-S bonds (vertices of a cube).
PS4 = 2.05 / np.sqrt(3) * np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float)


def _rotation(angle_deg: float, rng: np.random.Generator) -> np.ndarray:
    axis = rng.normal(size=3)
    return Rotation.from_rotvec(np.radians(angle_deg) * axis / np.linalg.norm(axis)).as_matrix()


def _ps4_frame(centres: np.ndarray, rotations: list[np.ndarray], li: np.ndarray, cell: np.ndarray) -> Atoms:
    positions = []
    for c, R in zip(centres, rotations):
        positions += [c] + list(c + PS4 @ R.T)
    symbols = "".join("PS4" for _ in centres) + f"Li{len(li)}"
    atoms = Atoms(symbols, positions=np.vstack(positions + [li]), cell=cell, pbc=True)
    atoms.wrap()
    return atoms


@pytest.mark.parametrize("angle", [0.5, 17.3, 90.0, 179.0])
def test_kabsch_finds_known_rotation(angle):
    rng = np.random.default_rng(int(angle * 10))
    R = _rotation(angle, rng)
    P = rng.normal(size=(6, 3))
    Q = P @ R.T + rng.normal(size=3)  # rotated and translated
    found, got = kabsch_rotation(P, Q)
    assert got == pytest.approx(angle, abs=1e-6)
    np.testing.assert_allclose(found, R, atol=1e-9)


def test_kabsch_matches_scipy_align_vectors():
    rng = np.random.default_rng(1)
    P, Q = rng.normal(size=(20, 4, 3)), rng.normal(size=(20, 4, 3))
    R, angle, _ = kabsch_batch(P, Q)
    for k in range(20):
        Pc, Qc = P[k] - P[k].mean(0), Q[k] - Q[k].mean(0)
        ref, _ = Rotation.align_vectors(Qc, Pc)
        np.testing.assert_allclose(R[k], ref.as_matrix(), atol=1e-8)
        assert angle[k] == pytest.approx(np.degrees(ref.magnitude()), abs=1e-6)


def test_translation_gives_zero_and_reflection_is_not_a_rotation():
    _, angle = kabsch_rotation(PS4, PS4 + [3.0, -1.0, 7.0])
    assert angle == pytest.approx(0.0, abs=1e-6)
    # The mirror image of a labelled tetrahedron is reached exactly by diag(-1, 1, 1), which is
    # not a rotation: Kabsch must return a proper rotation and a fit that does not close.
    R, _, rmsd = kabsch_batch(PS4, PS4 * [-1, 1, 1])
    assert np.linalg.det(R) == pytest.approx(1.0) and rmsd > 0.5
    assert not np.allclose(R, np.diag([-1.0, 1.0, 1.0]))
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)


def test_find_tetrahedra_in_beta_li3ps4():
    atoms = read(next(STRUCTURES.glob("Li3PS4_beta*")))
    tets = find_tetrahedra(atoms)
    n_p = atoms.get_chemical_symbols().count("P")
    assert tets.center_index.size == n_p and set(tets.species) == {"P"}
    bonds = np.linalg.norm(tets.ligand_vectors(atoms.get_positions(), atoms.cell[:]), axis=-1)
    assert np.all((bonds > 1.95) & (bonds < 2.15))
    symbols = np.array(atoms.get_chemical_symbols())
    assert np.all(symbols[tets.ligand_index] == "S")


def test_only_units_with_four_ligands():
    cell = np.eye(3) * 12.0
    atoms = _ps4_frame(np.array([[3.0, 3, 3], [8, 8, 8]]), [np.eye(3)] * 2, np.zeros((0, 3)), cell)
    del atoms[[9]]  # one S of the second unit
    tets = find_tetrahedra(atoms)
    assert tets.center_index.tolist() == [0]


def test_rotation_across_periodic_boundary_in_changing_box():
    rng = np.random.default_rng(5)
    cell0 = np.eye(3) * 10.0
    centres = np.array([[0.2, 9.9, 0.1], [5.0, 5.0, 5.0]])  # the first straddles a corner
    angles = [23.0, 4.0]
    rotations = [_rotation(a, rng) for a in angles]
    li = np.array([[1.5, 0.5, 9.0], [6.0, 6.0, 6.0]])
    frames = [_ps4_frame(centres, [np.eye(3)] * 2, li, cell0)]
    cell1 = cell0 * 1.01
    moved = centres + [0.4, -0.3, 0.2]
    frames.append(_ps4_frame(moved, rotations, li + [[1.0, 0, 0], [0, 0.5, 0]], cell1))
    analysis = TetrahedronRotation(window_ps=0.001, timestep_fs=1.0, li_radius_angstrom=3.0)
    for f in frames:
        analysis.compute(f)
    res = analysis.result()
    rows = {r["center_index"]: r for r in res["table"]}
    assert res["n_tetrahedra"] == 2 and res["n_windows"] == 1
    assert rows[0]["angle_deg"] == pytest.approx(23.0, abs=1e-6)
    assert rows[5]["angle_deg"] == pytest.approx(4.0, abs=1e-6)
    assert rows[0]["fit_rmsd_angstrom"] < 1e-9
    assert rows[0]["n_li"] == 1 and rows[0]["li_displacement_mean_angstrom"] == pytest.approx(1.0, abs=0.1)
    assert rows[5]["n_li"] == 1 and rows[5]["li_displacement_mean_angstrom"] == pytest.approx(0.5, abs=0.1)


def test_li_motion_correlated_with_rotation_is_detected():
    rng = np.random.default_rng(9)
    grid = np.stack(np.meshgrid(*[np.arange(3)] * 3, indexing="ij"), -1).reshape(-1, 3)
    centres = 3.0 + grid * 7.0  # 27 units 7 Å apart in a 21 Å box
    cell = np.eye(3) * 21.0
    angles = rng.uniform(0.0, 30.0, size=len(centres))
    li = centres + rng.normal(size=(len(centres), 3)) * 0.2 + [0.0, 0.0, 3.0]
    direction = rng.normal(size=(len(centres), 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    step = (0.05 * angles + rng.normal(scale=0.2, size=len(centres)).clip(-0.5, 0.5))[:, None] * direction
    frames = [
        _ps4_frame(centres, [np.eye(3)] * len(centres), li, cell),
        _ps4_frame(centres, [_rotation(a, rng) for a in angles], li + step, cell),
    ]
    analysis = TetrahedronRotation(window_ps=0.002, timestep_fs=2.0, li_radius_angstrom=3.5)
    for f in frames:
        analysis.compute(f)
    res = analysis.result()
    np.testing.assert_allclose([r["angle_deg"] for r in res["table"]], angles, atol=1e-6)
    corr = res["correlation"]
    assert corr["n"] == 27 and corr["pearson_r"] > 0.8 and corr["pearson_p"] < 1e-4
    assert corr["spearman_rho"] > 0.7 and corr["spearman_p"] < 1e-3
    assert res["angle_by_species"]["P"]["n"] == 27


def test_windows_are_counted_and_errors_raised():
    cell = np.eye(3) * 12.0
    frame = _ps4_frame(np.array([[6.0, 6, 6]]), [np.eye(3)], np.array([[6.0, 6, 9.5]]), cell)
    analysis = TetrahedronRotation(window_ps=0.002, timestep_fs=1.0)
    analysis.compute(frame)
    with pytest.raises(ThioglassError):
        analysis.result()  # shorter than one window
    for _ in range(6):
        analysis.compute(frame)
    res = analysis.result()
    assert res["n_windows"] == 3 and all(r["angle_deg"] == pytest.approx(0.0, abs=1e-6) for r in res["table"])
    assert res["correlation"]["pearson_r"] is None
    with pytest.raises(ThioglassError):
        TetrahedronRotation(window_ps=0.0)
    with pytest.raises(ThioglassError):
        TetrahedronRotation(window_ps=1.0).compute(Atoms("Li2S", positions=np.eye(3), cell=[8] * 3, pbc=True))
    with pytest.raises(ThioglassError):
        kabsch_rotation(np.zeros((2, 3)), np.zeros((2, 3)))
