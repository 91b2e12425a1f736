"""Rigid molecular units for packing glasses, and the rule that splits a cell into them.

Geometries are idealised from the crystals in ``data/structures`` (bond lengths in Å):

======== =========================================================================
PS4      P-S 2.05, regular tetrahedron (beta-Li3PS4: 2.03-2.08)
SiS4     Si-S 2.13, regular tetrahedron
P2S7     corner-sharing PS4 pair: P-S(bridge) 2.15, P-S 2.05, P-S-P 117 deg (Li7P3S11)
P2S6     P2S6(4-) dimer with a P-P bond 2.25, P-S 2.04, P-P-S 104.7 deg, staggered
         (Li4P2S6: 2.27, 2.04, 104.7 deg)
Si2S6    edge-sharing SiS4 pair (Si2S6(4-)): Si-S 2.13, Si-S-Si 80.8 deg so Si-Si 2.77
         (the edge-sharing chains of SiS2)
Si2S7    corner-sharing SiS4 pair (Si2S7(6-)): Si-S(bridge) 2.18, Si-S 2.13, Si-S-Si 110 deg
======== =========================================================================

Li+ and S2- are single atoms.  :func:`decompose` is the ``units="auto"`` rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np

from thioglass.elements import TYPE_MAP
from thioglass.errors import ThioglassError

_TETRAHEDRAL_DEG = math.degrees(math.acos(-1.0 / 3.0))


@dataclass(frozen=True)
class UnitTemplate:
    """A rigid unit: element symbols and positions in Å, centred on their centroid."""

    name: str
    symbols: tuple[str, ...]
    positions: np.ndarray

    @property
    def counts(self) -> dict[str, int]:
        """Atoms of each element in one unit."""
        return {el: self.symbols.count(el) for el in TYPE_MAP if el in self.symbols}


def _frame(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors perpendicular to ``u`` and to each other (deterministic)."""
    helper = np.array([0.0, 0.0, 1.0]) if abs(u[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    e1 = np.cross(u, helper)
    e1 /= np.linalg.norm(e1)
    return e1, np.cross(u, e1)


def _cone(center: np.ndarray, axis: np.ndarray, angle_deg: float, bond: float, twist_deg: float) -> np.ndarray:
    """Three points at ``bond`` from ``center``, ``angle_deg`` from ``axis``, 120 deg apart around it."""
    u = axis / np.linalg.norm(axis)
    e1, e2 = _frame(u)
    theta = math.radians(angle_deg)
    phis = np.radians(twist_deg + np.array([0.0, 120.0, 240.0]))
    dirs = math.cos(theta) * u + math.sin(theta) * (np.cos(phis)[:, None] * e1 + np.sin(phis)[:, None] * e2)
    return center + bond * dirs


def _centred(name: str, symbols: list[str], positions: list[np.ndarray] | np.ndarray) -> UnitTemplate:
    pos = np.asarray(np.vstack(positions), dtype=float)
    return UnitTemplate(name, tuple(symbols), pos - pos.mean(axis=0))


def _tetrahedron(name: str, center: str, bond: float) -> UnitTemplate:
    vertices = bond * np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / math.sqrt(3.0)
    return _centred(name, [center] + ["S"] * 4, [np.zeros(3), vertices])


def _corner_pair(name: str, former: str, bridge: float, bond: float, angle_deg: float) -> UnitTemplate:
    """Two tetrahedra sharing one S; twists chosen to keep terminal S of the two apart."""
    half = math.radians(angle_deg) / 2.0
    s_bridge = np.zeros(3)
    formers = [bridge * np.array([sign * math.sin(half), -math.cos(half), 0.0]) for sign in (1.0, -1.0)]

    def terminals(twist_a: float, twist_b: float) -> list[np.ndarray]:
        return [_cone(x, x - s_bridge, 180.0 - _TETRAHEDRAL_DEG, bond, t) for x, t in zip(formers, (twist_a, twist_b))]

    twists = np.arange(0.0, 120.0, 5.0)
    best = max(
        ((a, b) for a in twists for b in twists),
        key=lambda ab: _min_cross_distance(*terminals(*ab)),
    )
    s_a, s_b = terminals(*best)
    return _centred(name, [former, former] + ["S"] * 7, [formers[0], formers[1], s_bridge, s_a, s_b])


def _min_cross_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.min(np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)))


def _p2s6(p_p: float = 2.25, p_s: float = 2.04, angle_deg: float = 104.7) -> UnitTemplate:
    axis = np.array([1.0, 0.0, 0.0])
    p1, p2 = -0.5 * p_p * axis, 0.5 * p_p * axis
    s1 = _cone(p1, -axis, 180.0 - angle_deg, p_s, 0.0)
    s2 = _cone(p2, axis, 180.0 - angle_deg, p_s, 60.0)  # staggered, as in Li4P2S6
    return _centred("P2S6", ["P", "P"] + ["S"] * 6, [p1, p2, s1, s2])


def _si2s6(bond: float = 2.13, bridge_angle_deg: float = 80.8) -> UnitTemplate:
    """Edge-sharing pair: a planar Si2S2 rhombus, terminal S in the perpendicular plane."""
    half = math.radians(bridge_angle_deg) / 2.0
    x, y = bond * math.sin(half), bond * math.cos(half)
    si = [np.array([x, 0.0, 0.0]), np.array([-x, 0.0, 0.0])]
    bridges = [np.array([0.0, y, 0.0]), np.array([0.0, -y, 0.0])]
    alpha = math.radians(_TETRAHEDRAL_DEG / 2.0)
    terminals = [
        s + bond * np.array([np.sign(s[0]) * math.cos(alpha), 0.0, sz * math.sin(alpha)]) for s in si for sz in (1, -1)
    ]
    return _centred("Si2S6", ["Si", "Si"] + ["S"] * 6, [*si, *bridges, *terminals])


@cache
def templates() -> dict[str, UnitTemplate]:
    """All multi-atom unit templates by name."""
    return {
        "PS4": _tetrahedron("PS4", "P", 2.05),
        "SiS4": _tetrahedron("SiS4", "Si", 2.13),
        "P2S7": _corner_pair("P2S7", "P", bridge=2.15, bond=2.05, angle_deg=117.0),
        "P2S6": _p2s6(),
        "Si2S6": _si2s6(),
        "Si2S7": _corner_pair("Si2S7", "Si", bridge=2.18, bond=2.13, angle_deg=110.0),
    }


def decompose(counts: dict[str, int]) -> dict[str, int]:
    """Split an exact stoichiometry into units by sulfur balance (the ``units="auto"`` rule).

    With every P and Si in an isolated tetrahedron the cell would need ``4 (nP + nSi)`` S.
    The shortfall ``D = 4 (nP + nSi) - nS`` is the number of bridging S the formers must
    share.  Li2S goes preferentially to P (PS4(3-) is the most stable thioanion; the paper's
    60Li2S-32SiS2-8P2S5 glass keeps most P as PS4 while Si forms networks), so bridges are
    made on Si first: edge-sharing Si2S6 (two bridges each, as in SiS2-rich glasses), then
    corner-sharing Si2S7 (one), then corner-sharing P2S7 (one).  Remaining P and Si are
    PS4 and SiS4; surplus S (D < 0) is free S2-.  If the formers are richer than dimers can
    hold (or an odd former is left short of S), isolated tetrahedra are dissolved into
    single atoms until the S balance closes, so the composition is always exact.  Li is
    always single Li+.  Returns unit name -> count for multi-atom units only; the atoms not
    in them are packed one by one.
    """
    n_p, n_si, n_s = (counts.get(el, 0) for el in ("P", "Si", "S"))
    deficit = 4 * (n_p + n_si) - n_s
    units = dict.fromkeys(templates(), 0)
    si_pairs, p_pairs = n_si // 2, n_p // 2
    units["Si2S6"] = min(si_pairs, max(deficit, 0) // 2)
    deficit -= 2 * units["Si2S6"]
    units["Si2S7"] = min(si_pairs - units["Si2S6"], max(deficit, 0))
    deficit -= units["Si2S7"]
    units["P2S7"] = min(p_pairs, max(deficit, 0))
    units["SiS4"] = n_si - 2 * (units["Si2S6"] + units["Si2S7"])
    units["PS4"] = n_p - 2 * units["P2S7"]
    for name in ("SiS4", "PS4", "Si2S7", "P2S7", "Si2S6"):
        while _sulfur_left(units, n_s) < 0 and units[name] > 0:
            units[name] -= 1
    return {name: n for name, n in units.items() if n}


def _sulfur_left(units: dict[str, int], n_s: int) -> int:
    return n_s - sum(n * templates()[name].counts.get("S", 0) for name, n in units.items())


def check_recipe(units: dict[str, int], counts: dict[str, int]) -> None:
    """Raise :class:`ThioglassError` if the units need more atoms than ``counts`` holds."""
    known = templates()
    for name, n in units.items():
        if name not in known:
            raise ThioglassError(f"unknown unit '{name}'; known units: {', '.join(known)}")
        if not isinstance(n, int) or n < 0:
            raise ThioglassError(f"unit count for {name} must be a non-negative integer, got {n!r}")
    needed = dict.fromkeys(TYPE_MAP, 0)
    for name, n in units.items():
        for el, k in known[name].counts.items():
            needed[el] += n * k
    short = {el: needed[el] - counts.get(el, 0) for el in TYPE_MAP if needed[el] > counts.get(el, 0)}
    if short:
        detail = ", ".join(f"{k} more {el}" for el, k in short.items())
        raise ThioglassError(f"the units {units} need {detail} than the cell has; use fewer units or more atoms")


def parse_units(text: str) -> str | dict[str, int]:
    """Read ``atoms``, ``auto`` or an explicit recipe ``PS4=10,P2S6=2`` (other atoms packed singly)."""
    word = text.strip()
    if word.lower() in ("atoms", "auto"):
        return word.lower()
    recipe: dict[str, int] = {}
    for item in word.split(","):
        name, sep, value = item.partition("=")
        if not sep or not value.strip().isdigit():
            raise ThioglassError(
                f"cannot read units '{text}'; use atoms, auto or a list such as PS4=10,P2S6=2 "
                f"(known units: {', '.join(templates())})"
            )
        recipe[name.strip()] = int(value)
    return recipe
