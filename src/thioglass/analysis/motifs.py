"""Bonding motifs of the crystals the paper's chemistry is built from, counted frame by frame.

Each motif is a count of one frame from the short-range-order analysis
(:class:`~thioglass.analysis.shortrange.ShortRangeOrder`, bonds within 2.6 Å, periodic images distinct):

=================  ===================================================================  ==============
motif              what is counted                                                      kept by
=================  ===================================================================  ==============
``P-P``            P-P bonds (the P2S6^4- dimer)                                        Li4P2S6
``P0``             P with no bridging S and no former bonded to it (isolated PS4)       beta-Li3PS4
``P1``             P with exactly one bridging S (the P-S-P bridge of P2S7^4-)          Li7P3S11
``P3``             P with three bridging S (the P4S10 cage)                             P2S5
``Si edge``        Si sharing an edge (two S) with another former (E^n >= 1)            SiS2
``Si0``            Si with no bridging S and no former bonded to it (isolated SiS4)     Li10SiP2S12
=================  ===================================================================  ==============
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
from ase import Atoms

from thioglass.analysis.shortrange import ShortRangeOrder
from thioglass.errors import ThioglassError

BOND_CUTOFF_ANGSTROM = 2.6


def _former_count(former: str, keep: Callable[[dict], bool]) -> Callable[[dict], float]:
    def count(result: dict) -> float:
        return float(sum(row["count"] for row in result["environments"].get(former, []) if keep(row)))

    return count


def _pp_bonds(result: dict) -> float:
    return float(result["bonds"].get("P-P", {}).get("count_per_frame", 0.0))


#: motif name -> count of one frame from a single-frame :meth:`ShortRangeOrder.result`.
MOTIFS: dict[str, Callable[[dict], float]] = {
    "P-P": _pp_bonds,
    "P0": _former_count("P", lambda row: row["n"] == 0 and not row["direct"]),
    "P1": _former_count("P", lambda row: row["n"] == 1),
    "P3": _former_count("P", lambda row: row["n"] == 3),
    "Si edge": _former_count("Si", lambda row: row["en"] >= 1),
    "Si0": _former_count("Si", lambda row: row["n"] == 0 and not row["direct"]),
}

#: The motifs each bundled crystal is built from (issue 13).
CRYSTAL_MOTIFS: dict[str, tuple[str, ...]] = {
    "Li4P2S6": ("P-P",),
    "beta-Li3PS4": ("P0",),
    "Li7P3S11": ("P1",),
    "SiS2": ("Si edge",),
    "P2S5": ("P3",),
    "Li10SiP2S12": ("P0", "Si0"),
}


def motif_counts(atoms: Atoms, motifs: Iterable[str] = tuple(MOTIFS),
                 cutoff_angstrom: float = BOND_CUTOFF_ANGSTROM) -> dict[str, float]:
    """Count each of ``motifs`` in one frame."""
    unknown = sorted(set(motifs) - set(MOTIFS))
    if unknown:
        raise ThioglassError(f"unknown motif(s) {unknown}; known: {', '.join(MOTIFS)}")
    result = ShortRangeOrder(cutoff_angstrom).compute(atoms).result()
    return {name: MOTIFS[name](result) for name in motifs}


def last_frames_mean(frames: list[Atoms], motifs: Iterable[str], *, last_fraction: float,
                     cutoff_angstrom: float = BOND_CUTOFF_ANGSTROM) -> dict[str, float]:
    """Mean count of each motif over the last ``last_fraction`` of ``frames`` (at least one frame)."""
    if not frames:
        raise ThioglassError("no frames to count motifs in; did the MD write a trajectory?")
    if not 0 < last_fraction <= 1:
        raise ThioglassError(f"last_fraction must be in (0, 1], got {last_fraction}")
    kept = frames[-max(1, round(last_fraction * len(frames))):]
    counts = [motif_counts(atoms, motifs, cutoff_angstrom) for atoms in kept]
    return {name: float(np.mean([c[name] for c in counts])) for name in motifs}


def motif_verdict(model: float, reference: float, initial: float, *, tolerance: float) -> str:
    """``kept``, ``lost`` or ``not kept by the reference`` for one motif.

    A motif is lost when the model's count falls below ``(1 - tolerance)`` times the reference's. When the
    reference itself keeps less than half of the starting crystal's count, the motif is not a test of the
    model and is reported as such rather than failed.
    """
    if initial > 0 and reference < 0.5 * initial:
        return "not kept by the reference"
    return "lost" if model < (1 - tolerance) * reference else "kept"
