"""Q^n, E^n, former-former bonds and local environments on crystals and hand-built clusters."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.io import read
from ase.neighborlist import neighbor_list

import thioglass
from thioglass.analysis.shortrange import ShortRangeOrder
from thioglass.errors import ThioglassError

STRUCTURES = Path(thioglass.__file__).parent / "data" / "structures"


def _crystal(prefix: str) -> Atoms:
    return read(next(STRUCTURES.glob(f"{prefix}*")))


def _sro(*frames: Atoms, **kwargs) -> dict:
    analysis = ShortRangeOrder(**kwargs)
    for frame in frames:
        analysis.compute(frame)
    return analysis.result()


def _only(distribution: dict[str, float]) -> str:
    """The one class holding 100 % (fails if there is none)."""
    full = [key for key, percent in distribution.items() if percent == pytest.approx(100.0)]
    assert len(full) == 1, distribution
    assert sum(distribution.values()) == pytest.approx(100.0)
    return full[0]


def test_beta_li3ps4_has_only_isolated_ps4():
    result = _sro(_crystal("Li3PS4_beta"))
    assert _only(result["qn"]["P"]) == "0"
    assert _only(result["en"]["P"]) == "0"
    assert result["sulfur"]["terminal_fraction"] == pytest.approx(1.0)
    assert result["coordination"]["P"]["S"] == pytest.approx(4.0)
    assert "Si" not in result["qn"]  # absent formers are omitted


def test_p4s10_has_only_p3_and_no_edges():
    result = _sro(_crystal("P2S5_"))
    assert _only(result["qn"]["P"]) == "3"
    assert _only(result["en"]["P"]) == "0"
    # P4S10: 6 bridging S of the adamantane cage and 4 terminal S per molecule.
    assert result["sulfur"]["bridging_fraction"] == pytest.approx(0.6)
    assert result["environments"]["P"] == [
        {"n": 3, "en": 0, "bridged": ["P"] * 3, "direct": [], "percent": pytest.approx(100.0), "count": 8}
    ]


def test_li7p3s11_has_one_third_p0_and_two_thirds_p1():
    result = _sro(_crystal("Li7P3S11_"))
    assert result["qn"]["P"]["0"] == pytest.approx(100 / 3)
    assert result["qn"]["P"]["1"] == pytest.approx(200 / 3)
    assert _only(result["en"]["P"]) == "0"
    p1 = [row for row in result["environments"]["P"] if row["n"] == 1]
    assert [(row["bridged"], row["direct"]) for row in p1] == [(["P"], [])]  # P2S7: P-S-P corner


def test_li4p2s6_has_a_p_p_bond_on_every_p():
    result = _sro(_crystal("Li4P2S6_").repeat((2, 1, 1)))
    assert result["bonds"]["P-P"]["fraction_of_P"] == pytest.approx(1.0)
    assert result["bonds"]["P-P"]["count_per_frame"] == pytest.approx(2.0)  # 4 P, 2 dimers
    assert _only(result["qn"]["P"]) == "0"
    assert [(row["direct"], row["percent"]) for row in result["environments"]["P"]] == [
        (["P"], pytest.approx(100.0))
    ]


def test_sis2_chains_are_si4_e2_in_the_tiny_cell_and_in_a_supercell():
    primitive = _crystal("SiS2_")
    assert len(primitive) == 6  # two Si: their chain neighbours are periodic images of each other
    small = _sro(primitive)
    large = _sro(primitive.repeat((3, 3, 3)))
    for result in (small, large):
        assert _only(result["qn"]["Si"]) == "4"
        assert _only(result["en"]["Si"]) == "2"
        assert result["sulfur"]["bridging_fraction"] == pytest.approx(1.0)
        [row] = result["environments"]["Si"]
        assert (row["n"], row["en"], row["bridged"], row["direct"]) == (4, 2, ["Si"] * 4, [])
    assert small["qn"] == large["qn"] and small["en"] == large["en"]


def test_an_atom_bridged_to_its_own_images_is_counted_correctly():
    # A straight -P-S-P-S- chain along x with one P and one S per 4.2 Å cell: each P bonds to the S of
    # its own cell and to an image of that same S, and reaches two images of itself through them.
    chain = Atoms("PS", positions=[[0, 0, 0], [2.1, 0, 0]], cell=[4.2, 8.0, 8.0], pbc=True)
    for frame in (chain, chain.repeat((3, 1, 1))):
        result = _sro(frame)
        assert _only(result["qn"]["P"]) == "2"
        assert _only(result["en"]["P"]) == "0"  # neighbours share one S each, not an edge
        [row] = result["environments"]["P"]
        assert row["bridged"] == ["P", "P"]


def _clusters() -> Atoms:
    """Four isolated motifs, 20 Å apart in a 40 Å box, with bonds placed by hand (2.6 Å cutoff)."""
    motifs = [
        # Si and P sharing an edge (two S), each with one terminal S.
        ("SiPSSSS", [[0, 0, 0], [2.9, 0, 0], [1.45, 1.5, 0], [1.45, -1.5, 0], [-1.2, 0, 1.7], [4.1, 0, 1.7]]),
        # A P-P dimer whose first P also shares a corner S with a Si.
        ("PPSSi", [[0, 0, 0], [2.25, 0, 0], [0, 0, 2.1], [0, 0, 4.2]]),
        # One S bonded to three formers (as in Table S2, "1 0 P, P").
        ("SSiPP", [[0, 0, 0], [2.1, 0, 0], [-1.05, 1.8, 0], [-1.05, -1.8, 0]]),
        # A direct Si-P bond and a free S ion.
        ("SiPS", [[0, 0, 0], [2.3, 0, 0], [0, 0, 8.0]]),
    ]
    atoms = Atoms(cell=[40.0, 40.0, 40.0], pbc=True)
    for k, (formula, positions) in enumerate(motifs):
        corner = np.array([(k % 2) * 20.0 + 5.0, (k // 2) * 20.0 + 5.0, 5.0])
        atoms += Atoms(formula, positions=np.asarray(positions, dtype=float) + corner)
    return atoms


def test_hand_built_environments_follow_the_papers_definitions():
    result = _sro(_clusters())
    si_rows, p_rows = (
        {(r["n"], r["en"], tuple(r["bridged"]), tuple(r["direct"])): r["count"] for r in rows}
        for rows in (result["environments"]["Si"], result["environments"]["P"])
    )
    assert si_rows == {
        (2, 1, ("P", "P"), ()): 1,  # edge shared with a P
        (1, 0, ("P",), ()): 1,  # corner to the dimer's P
        (1, 0, ("P", "P"), ()): 1,  # S shared by three formers
        (0, 0, (), ("P",)): 1,  # direct Si-P bond
    }
    assert p_rows == {
        (2, 1, ("Si", "Si"), ()): 1,
        (1, 0, ("Si",), ("P",)): 1,  # dimer P with a corner to Si
        (0, 0, (), ("P",)): 1,  # the other dimer P
        (1, 0, ("Si", "P"), ()): 2,  # listed in TYPE_MAP order, Si before P
        (0, 0, (), ("Si",)): 1,
    }
    assert result["qn"]["Si"]["1"] == pytest.approx(50.0)
    assert result["en"]["P"]["1"] == pytest.approx(100 / 6)
    assert result["bonds"]["P-P"] == {"count_per_frame": 1.0, "fraction_of_P": pytest.approx(2 / 6)}
    assert result["bonds"]["Si-P"] == {
        "count_per_frame": 1.0, "fraction_of_Si": pytest.approx(0.25), "fraction_of_P": pytest.approx(1 / 6)
    }
    assert result["bonds"]["Si-Si"]["count_per_frame"] == 0.0
    assert result["sulfur"]["free_fraction"] == pytest.approx(1 / 7)
    assert result["sulfur"]["formers_per_S_fraction"]["3"] == pytest.approx(1 / 7)
    # Percentages within each former add up to 100.
    for former in ("Si", "P"):
        assert sum(r["percent"] for r in result["environments"][former]) == pytest.approx(100.0)


def _environments_by_loops(atoms: Atoms, cutoff: float = 2.6) -> Counter:
    """The definitions written out atom by atom on ASE's neighbour list: a slow, plain reference."""
    order = ("Si", "P")
    symbols = atoms.get_chemical_symbols()
    neighbours = defaultdict(list)
    for i, j, shift in zip(*neighbor_list("ijS", atoms, cutoff)):
        neighbours[i].append((j, tuple(shift)))
    formers_of = {
        s: [(g, shift) for g, shift in neighbours[s] if symbols[g] in order]
        for s in range(len(atoms)) if symbols[s] == "S"
    }
    found = Counter()
    for f, element in enumerate(symbols):
        if element not in order:
            continue
        bridges = [(s, shift) for s, shift in neighbours[f] if symbols[s] == "S" and len(formers_of[s]) >= 2]
        reached = []
        for s, to_s in bridges:
            for g, to_g in formers_of[s]:
                image = tuple(a + b for a, b in zip(to_s, to_g))
                if (g, image) != (f, (0, 0, 0)):
                    reached.append((g, image))
        edges = sum(1 for count in Counter(reached).values() if count >= 2)
        bridged = tuple(sorted((symbols[g] for g, _ in reached), key=order.index))
        direct = tuple(sorted((symbols[g] for g, _ in neighbours[f] if symbols[g] in order), key=order.index))
        found[(element, len(bridges), edges, bridged, direct)] += 1
    return found


@pytest.mark.parametrize("length", [9.0, 5.5])
def test_vectorised_kernel_matches_plain_loops_on_dense_random_cells(length):
    # Far denser than a glass, so every kind of path (edges, 3-former S, images of itself) occurs.
    rng = np.random.default_rng(int(length))
    n = int(0.09 * length**3)
    symbols = rng.choice(["Li", "Si", "P", "S", "S", "S"], size=n).tolist()
    cell = np.array([[length, 0, 0], [0.8, length, 0], [-0.5, 0.6, length]])
    atoms = Atoms(symbols, scaled_positions=rng.uniform(0, 1, (n, 3)), cell=cell, pbc=True)
    result = _sro(atoms)
    table = Counter()
    for former, rows in result["environments"].items():
        for row in rows:
            table[(former, row["n"], row["en"], tuple(row["bridged"]), tuple(row["direct"]))] += row["count"]
    expected = _environments_by_loops(atoms)
    assert table == expected
    assert any(key[2] > 0 for key in expected) and any(key[4] for key in expected)


def test_frames_are_pooled_atom_by_atom():
    # 4 P of beta-Li3PS4 (P^0) and 8 P of P4S10 (P^3): P^0 = 4/12 of all P seen.
    result = _sro(_crystal("Li3PS4_beta"), _crystal("P2S5_"))
    assert result["n_frames"] == 2
    assert result["qn"]["P"]["0"] == pytest.approx(100 * 4 / 12)
    assert result["qn"]["P"]["3"] == pytest.approx(100 * 8 / 12)


def test_only_the_chosen_formers_are_classified():
    result = _sro(_clusters(), formers=("Si",))
    assert set(result["qn"]) == {"Si"}
    assert _only(result["qn"]["Si"]) == "0"  # P is no former now: no S bridges two formers


def test_bad_input_is_rejected():
    with pytest.raises(ThioglassError, match="periodic"):
        ShortRangeOrder().compute(Atoms("PS4", positions=np.eye(5, 3) * 2.0))
    with pytest.raises(ThioglassError):
        ShortRangeOrder(cutoff_angstrom=0.0)
    with pytest.raises(ThioglassError):
        ShortRangeOrder(formers=("S",))
    with pytest.raises(ThioglassError):
        ShortRangeOrder(formers=("Xx",))
    with pytest.raises(ThioglassError, match="no frames"):
        ShortRangeOrder().result()
