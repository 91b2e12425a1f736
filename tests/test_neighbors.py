"""Neighbour lists: agreement with ASE and memory that does not grow with the number of frames."""

import tracemalloc

import numpy as np
from ase.build import bulk
from ase.neighborlist import neighbor_list as ase_neighbor_list

from thioglass.analysis.neighbors import neighbor_list, vesin


def test_pairs_match_ase_in_a_small_skewed_cell():
    atoms = bulk("Si", "diamond", a=5.43)  # primitive fcc cell: thinner than the cutoff
    atoms.rattle(0.05, seed=2)
    ours = neighbor_list(atoms, 6.0)
    i, j, d = ase_neighbor_list("ijd", atoms, 6.0)
    assert len(ours) == len(i)
    assert np.allclose(np.sort(ours.distance), np.sort(d))


def test_memory_is_flat_over_many_lists_of_different_lengths():
    rng = np.random.default_rng(0)
    calculator = vesin.NeighborList(cutoff=4.0, full_list=True)

    def run(n: int) -> None:
        for _ in range(n):
            m = 200 + int(rng.integers(0, 50))
            calculator.compute(rng.random((m, 3)) * 15, np.eye(3) * 15, True, "ijSd")

    run(20)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    run(300)
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert grown < 200_000, f"neighbour lists retained {grown / 1e6:.1f} MB"
