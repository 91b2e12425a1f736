"""Short-range order of the glass formers: Q^n, E^n, direct former bonds and local environments.

Definitions (the paper's section 2.3 and Tables 4-9, S1, S2), with bonds = pairs closer than the cutoff
(2.6 Å in the paper) and a neighbour being an atom *and* a periodic image ``(index, shift)``:

- a **bridging S** is an S bonded to two or more formers (P, Si), a **terminal S** to one, a **free S**
  to none;
- **n** of a former F (Q^n, written P^n / Si^n in the paper) is the number of bridging S bonded to F;
- **E^n** counts the other former units (distinct images) with which F shares two or more S (an edge);
- **P-S-X**: for each bridging S of F, every other former bonded to that S (repeats kept, so an
  edge-shared Si shows as "Si, Si");
- **P-X**: formers bonded directly to F (the P-P bond of P2S6^4-, Si-Si, Si-P).

Counts are summed over frames and normalised at the end, so every former of every frame weighs the same.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers

from thioglass.analysis.neighbors import NeighborPairs, neighbor_list, no_frames_error
from thioglass.analysis.rdf import pair_key, species_order
from thioglass.elements import FORMERS
from thioglass.errors import ThioglassError

#: Always reported Q^n and E^n classes (the paper's tables), even when empty.
_BASE_N = range(5)
_BASE_EN = range(3)


@dataclass(frozen=True)
class FrameConnectivity:
    """Per-atom connectivity of one frame (arrays over all atoms; former-only fields are 0 elsewhere).

    Attributes
    ----------
    formers_per_atom : int array (n_atoms,)
        Number of former neighbours (images distinct) of every atom; for S this classifies it.
    n_bridging : int array (n_atoms,)
        Bridging S bonded to each atom (the n of Q^n for formers).
    n_edges : int array (n_atoms,)
        Other former units sharing >= 2 S with each atom (E^n for formers).
    bridged : int array (n_atoms, n_formers)
        Per former species, how many formers are reached through bridging S (P-S-X, with repeats).
    direct : int array (n_atoms, n_formers)
        Per former species, the number of directly bonded formers (P-X).
    """

    formers_per_atom: np.ndarray
    n_bridging: np.ndarray
    n_edges: np.ndarray
    bridged: np.ndarray
    direct: np.ndarray


def _expand_csr(starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows with ``lengths[k]`` entries from ``starts[k]``: (row of each entry, flat entry index)."""
    row = np.repeat(np.arange(lengths.size), lengths)
    first = np.cumsum(lengths) - lengths
    return row, starts[row] + np.arange(row.size) - first[row]


def _encode(first: np.ndarray, second: np.ndarray, shift: np.ndarray, n_atoms: int) -> np.ndarray:
    """One int64 per (atom, atom, cell shift) triple."""
    span = 2 * int(np.abs(shift).max(initial=0)) + 1
    offset = shift + span // 2
    cell_code = (offset[:, 0] * span + offset[:, 1]) * span + offset[:, 2]
    return (first * n_atoms + second) * span**3 + cell_code


def _bridge_paths(
    pairs: NeighborPairs, is_former: np.ndarray, is_sulfur: np.ndarray, formers_per_atom: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every path F - bridging S - G with G != F (as an image): (F index, G index, G's cell shift).

    Joins the F -> S bonds with the S -> G bonds of the same S, grouped per S atom (CSR).
    """
    i, j, shift = pairs.i, pairs.j, pairs.shift
    bridging = is_sulfur & (formers_per_atom >= 2)
    f_to_s = is_former[i] & bridging[j]
    f_index, s_index, shift_fs = i[f_to_s], j[f_to_s], shift[f_to_s]
    s_to_f = is_sulfur[i] & is_former[j]
    order = np.argsort(i[s_to_f], kind="stable")
    sf_former, sf_shift = j[s_to_f][order], shift[s_to_f][order]
    sf_start = np.cumsum(formers_per_atom * is_sulfur) - formers_per_atom * is_sulfur
    bond, entry = _expand_csr(sf_start[s_index], formers_per_atom[s_index])
    start, end = f_index[bond], sf_former[entry]
    end_shift = shift_fs[bond] + sf_shift[entry]
    other = (end != start) | np.any(end_shift != 0, axis=1)  # the way back to F itself
    return start[other], end[other], end_shift[other]


def connectivity(
    former_type: np.ndarray, is_sulfur: np.ndarray, pairs: NeighborPairs, n_formers: int
) -> FrameConnectivity:
    """Bridging S, Q^n, E^n, P-S-X and P-X counts of one frame, vectorised over atoms.

    Parameters
    ----------
    former_type
        Per atom, the index of its former species (0 .. n_formers-1) or -1 if not a former.
    is_sulfur
        Per atom, whether it is S.
    pairs
        Full neighbour list at the bond cutoff.
    n_formers
        Number of former species.
    """
    n_atoms = former_type.size
    is_former = former_type >= 0
    formers_per_atom = np.bincount(pairs.i[is_former[pairs.j]], minlength=n_atoms)
    bridging = is_sulfur & (formers_per_atom >= 2)
    n_bridging = np.bincount(pairs.i[is_former[pairs.i] & bridging[pairs.j]], minlength=n_atoms)

    start, end, end_shift = _bridge_paths(pairs, is_former, is_sulfur, formers_per_atom)
    bridged = np.bincount(
        start * n_formers + former_type[end], minlength=n_atoms * n_formers
    ).reshape(n_atoms, n_formers)
    # An edge: the same neighbouring unit (atom and image) reached through two or more S.
    _, first, shared = np.unique(
        _encode(start, end, end_shift, n_atoms), return_index=True, return_counts=True
    )
    n_edges = np.bincount(start[first[shared >= 2]], minlength=n_atoms)

    f_to_f = is_former[pairs.i] & is_former[pairs.j]
    direct = np.bincount(
        pairs.i[f_to_f] * n_formers + former_type[pairs.j[f_to_f]], minlength=n_atoms * n_formers
    ).reshape(n_atoms, n_formers)
    return FrameConnectivity(formers_per_atom, n_bridging, n_edges, bridged, direct)


def _percent(counts: Counter, total: int, base: range) -> dict[str, float]:
    keys = sorted(set(base) | set(counts))
    return {str(k): 100.0 * counts.get(k, 0) / total for k in keys}


def _repeat_names(counts: tuple[int, ...], names: tuple[str, ...]) -> list[str]:
    return [name for name, count in zip(names, counts) for _ in range(count)]


class ShortRangeOrder:
    """Accumulate Q^n, E^n, former-former bonds, S classes and local environments over frames.

    Parameters
    ----------
    cutoff_angstrom
        Bond cutoff in Å (2.6 in the paper, from the first minimum of the RDFs).
    formers
        Glass-former elements whose tetrahedra are classified.
    """

    def __init__(self, cutoff_angstrom: float = 2.6, formers: tuple[str, ...] = FORMERS) -> None:
        if not cutoff_angstrom > 0:
            raise ThioglassError(f"the bond cutoff must be positive, got {cutoff_angstrom} Å")
        if not formers or "S" in formers or not set(formers) <= set(atomic_numbers):
            raise ThioglassError(f"formers must name cation elements such as P and Si, got {formers}")
        self.cutoff_angstrom = float(cutoff_angstrom)
        self.formers = species_order(list(formers))
        self._environments: Counter = Counter()  # (former, n, en, bridged, direct) -> atoms
        self._former_atoms: Counter = Counter()
        self._bond_count: Counter = Counter()  # "P-P" -> bonds summed over frames
        self._bonded_atoms: Counter = Counter()  # ("P-P", "P") -> P atoms with such a bond
        self._sulfur: Counter = Counter()  # formers bonded -> S atoms
        self._neighbours: Counter = Counter()  # (A, B) -> B neighbours of all A atoms
        self._atoms: Counter = Counter()
        self._n_frames = 0

    def compute(self, atoms: Atoms) -> ShortRangeOrder:
        """Add one frame."""
        pairs = neighbor_list(atoms, self.cutoff_angstrom)
        symbols = np.asarray(atoms.get_chemical_symbols())
        former_type = np.full(len(atoms), -1, dtype=np.int64)
        for index, element in enumerate(self.formers):
            former_type[symbols == element] = index
        frame = connectivity(former_type, symbols == "S", pairs, len(self.formers))
        self._add_coordination(symbols, pairs)
        self._add_environments(former_type, frame)
        self._add_bonds(former_type, frame)
        self._sulfur.update(frame.formers_per_atom[symbols == "S"].tolist())
        self._n_frames += 1
        return self

    def _add_coordination(self, symbols: np.ndarray, pairs: NeighborPairs) -> None:
        present, codes = np.unique(symbols, return_inverse=True)
        present = present.tolist()
        n = len(present)
        table = np.bincount(codes[pairs.i] * n + codes[pairs.j], minlength=n * n).reshape(n, n)
        for a, row in zip(present, table):
            self._atoms[a] += int(np.count_nonzero(symbols == a))
            for b, count in zip(present, row):
                self._neighbours[(a, b)] += int(count)

    def _add_environments(self, former_type: np.ndarray, frame: FrameConnectivity) -> None:
        rows = np.column_stack(
            (former_type, frame.n_bridging, frame.n_edges, frame.bridged, frame.direct)
        )[former_type >= 0]
        kinds, counts = np.unique(rows, axis=0, return_counts=True)
        n_formers = len(self.formers)
        for row, count in zip(kinds.tolist(), counts.tolist()):
            bridged = tuple(row[3 : 3 + n_formers])
            direct = tuple(row[3 + n_formers :])
            self._environments[(self.formers[row[0]], row[1], row[2], bridged, direct)] += count
            self._former_atoms[self.formers[row[0]]] += count

    def _add_bonds(self, former_type: np.ndarray, frame: FrameConnectivity) -> None:
        for a_index, a in enumerate(self.formers):
            is_a = former_type == a_index
            for b_index, b in enumerate(self.formers[a_index:], start=a_index):
                key = pair_key(a, b)
                ends = frame.direct[is_a, b_index]
                # Each a-a bond is seen from both ends; an a-b bond once from its a end.
                self._bond_count[key] += int(ends.sum()) // (2 if a == b else 1)
                self._bonded_atoms[(key, a)] += int(np.count_nonzero(ends))
                if a != b:
                    is_b = former_type == b_index
                    self._bonded_atoms[(key, b)] += int(np.count_nonzero(frame.direct[is_b, a_index]))

    def result(self) -> dict:
        """JSON-ready summary; percentages are of all atoms of that former over all frames.

        Keys: ``n_frames``, ``cutoff_angstrom``, ``qn`` and ``en`` ({former: {"n": percent}}),
        ``environments`` ({former: [{"n", "en", "bridged", "direct", "percent", "count"}]}, sorted by n,
        E^n, then falling population), ``bonds`` ({"P-P": {"count_per_frame", "fraction_of_P"}} for
        every pair of formers present), ``sulfur`` (free / terminal / bridging fractions of S and the
        distribution of formers per S) and ``coordination`` ({A: {B: mean number of B within the
        cutoff of an A}}). Formers absent from every frame are omitted.
        """
        if self._n_frames == 0:
            raise no_frames_error()
        present = [f for f in self.formers if self._former_atoms[f] > 0]
        return {
            "n_frames": self._n_frames,
            "cutoff_angstrom": self.cutoff_angstrom,
            "qn": {f: self._marginal(f, 1, _BASE_N) for f in present},
            "en": {f: self._marginal(f, 2, _BASE_EN) for f in present},
            "environments": {f: self._environment_table(f) for f in present},
            "bonds": self._bonds_summary(present),
            "sulfur": self._sulfur_summary(),
            "coordination": self._coordination_summary(),
        }

    def _marginal(self, former: str, field: int, base: range) -> dict[str, float]:
        counts: Counter = Counter()
        for key, count in self._environments.items():
            if key[0] == former:
                counts[key[field]] += count
        return _percent(counts, self._former_atoms[former], base)

    def _environment_table(self, former: str) -> list[dict]:
        total = self._former_atoms[former]
        rows = [
            {
                "n": n,
                "en": en,
                "bridged": _repeat_names(bridged, self.formers),
                "direct": _repeat_names(direct, self.formers),
                "percent": 100.0 * count / total,
                "count": count,
            }
            for (f, n, en, bridged, direct), count in self._environments.items()
            if f == former
        ]
        return sorted(rows, key=lambda row: (row["n"], row["en"], -row["count"], row["bridged"]))

    def _bonds_summary(self, present: list[str]) -> dict:
        summary = {}
        for index, a in enumerate(present):
            for b in present[index:]:
                key = pair_key(a, b)
                entry = {"count_per_frame": self._bond_count[key] / self._n_frames}
                for end in dict.fromkeys((a, b)):
                    entry[f"fraction_of_{end}"] = self._bonded_atoms[(key, end)] / self._former_atoms[end]
                summary[key] = entry
        return summary

    def _coordination_summary(self) -> dict:
        species = species_order(list(self._atoms))
        return {
            a: {b: self._neighbours[(a, b)] / self._atoms[a] for b in species} for a in species
        }

    def _sulfur_summary(self) -> dict:
        total = sum(self._sulfur.values())
        if total == 0:
            return {}
        bridging = sum(count for n, count in self._sulfur.items() if n >= 2)
        return {
            "free_fraction": self._sulfur[0] / total,
            "terminal_fraction": self._sulfur[1] / total,
            "bridging_fraction": bridging / total,
            "formers_per_S_fraction": {str(n): self._sulfur[n] / total for n in sorted(self._sulfur)},
        }
