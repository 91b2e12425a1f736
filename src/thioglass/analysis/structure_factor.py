"""Partial and total neutron structure factors from g_ij(r) (the paper's section 2.3).

Partial (Faber-Ziman) structure factors, with rho the total number density::

    S_ij(Q) = 1 + rho * integral_0^r_max 4 pi r^2 (g_ij(r) - 1) sin(Qr)/(Qr) [M(r)] dr

damped by the Lorch window ``M(r) = sin(pi r / r_max) / (pi r / r_max)`` (the default: without it the
cut at r_max rings, by several units of S(Q) below 1 1/Å in a 300-atom glass). The paper's total
is ``F(Q) = sum_ij c_i c_j b_i b_j (S_ij(Q) - 1)`` over ordered pairs (fm^2); the reported ``total`` is the
Faber-Ziman normalised ``S(Q) = 1 + F(Q) / (sum_i c_i b_i)^2``, which tends to 1 at large Q.

Low Q
-----
A g(r) known up to r_max says nothing about Q below about 2 pi / r_max, so the default grid
(:class:`NeutronStructureFactor`) starts there. Even a perfect transform does not tend to 0 at low Q
in this normalisation: a glass without number or concentration fluctuations has F(0) = -<b^2>, so
``S(Q -> 0) = 1 - <b^2> / <b>^2`` (``low_q_limit``), -3.7 for 75Li2S-25P2S5, whose Li scatters with
a negative length. ``intensity`` is the same data normalised by <b^2>, ``1 + F(Q) / <b^2>``, a
scattered intensity per atom that physics keeps at or above 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list as ase_neighbor_list
from scipy.integrate import simpson

from thioglass.analysis.neighbors import cell_volume_angstrom3
from thioglass.analysis.rdf import RDFResult, pair_key, species_order, unordered_pairs
from thioglass.elements import NEUTRON_B_FM
from thioglass.errors import ThioglassError

NORMALISATION = (
    "Faber-Ziman: S(Q) = 1 + F(Q)/(sum_i c_i b_i)^2 with F(Q) = sum_ij c_i c_j b_i b_j (S_ij(Q) - 1) "
    "over ordered pairs (the paper's sum, in fm^2, is given as f_q_fm2); "
    "S_ij(Q) = 1 + rho int 4 pi r^2 (g_ij - 1) sin(Qr)/(Qr) dr with rho the total number density"
)


def lorch_window(r: np.ndarray, r_max: float) -> np.ndarray:
    """Lorch modification function ``sin(pi r/r_max) / (pi r/r_max)``."""
    return np.sinc(np.asarray(r) / r_max)  # numpy's sinc(x) is sin(pi x)/(pi x)


def _q_grid(q: np.ndarray | list[float]) -> np.ndarray:
    grid = np.asarray(q, dtype=np.float64)
    if grid.ndim != 1 or grid.size == 0 or not np.all(np.isfinite(grid)) or np.any(grid < 0):
        raise ThioglassError("Q must be a non-empty 1-D array of finite values >= 0 (in 1/Å)")
    return grid


def _sinc_qr(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``sin(Qr)/(Qr)`` on the (Q, r) grid, equal to 1 at Qr = 0."""
    return np.sinc(np.outer(q, r) / np.pi)


def partial_structure_factors(
    rdf: RDFResult, q: np.ndarray | list[float], lorch: bool = True
) -> dict[str, np.ndarray]:
    """``S_ij(Q)`` for every partial of ``rdf`` (same keys), by quadrature over its bins.

    Each bin is weighted by its exact shell volume, the volume ``g_ij`` was normalised with, so the
    transform of a histogram equals the Debye sum over its pairs evaluated at bin centres.
    """
    q = _q_grid(q)
    r = rdf.r
    half = 0.5 * rdf.bin_width_angstrom
    weight = 4.0 / 3.0 * np.pi * ((r + half) ** 3 - (r - half) ** 3)
    if lorch:
        weight = weight * lorch_window(r, rdf.r_max_angstrom)
    kernel = rdf.number_density * _sinc_qr(q, r) * weight[None, :]
    return {key: 1.0 + kernel @ (g - 1.0) for key, g in rdf.partials.items()}


def _scattering_lengths(species: tuple[str, ...], b_fm: Mapping[str, float] | None) -> np.ndarray:
    table = NEUTRON_B_FM if b_fm is None else b_fm
    missing = [el for el in species if el not in table]
    if missing:
        raise ThioglassError(
            f"no neutron scattering length for {', '.join(missing)}; thioglass knows "
            f"{', '.join(table)} (pass b_fm to add others)"
        )
    return np.array([table[el] for el in species], dtype=np.float64)


def _combine(
    partials: dict[str, np.ndarray],
    concentrations: dict[str, float],
    q: np.ndarray,
    b_fm: Mapping[str, float] | None,
) -> dict:
    """Weight partials into F(Q) and the Faber-Ziman S(Q)."""
    species = tuple(concentrations)
    b = _scattering_lengths(species, b_fm)
    c = np.array([concentrations[el] for el in species])
    mean_b_squared = float(np.dot(c, b)) ** 2
    if mean_b_squared < 1e-12:
        raise ThioglassError(
            "the mean scattering length sum_i c_i b_i is zero, so the Faber-Ziman S(Q) is undefined"
        )
    f_q = np.zeros_like(q)
    weights = {}
    for a, bb in unordered_pairs(species):
        ia, ib = species.index(a), species.index(bb)
        w = (1.0 if a == bb else 2.0) * c[ia] * c[ib] * b[ia] * b[ib]
        key = f"{a}-{bb}"
        weights[key] = w / mean_b_squared
        f_q += w * (partials[key] - 1.0)
    mean_of_b_squared = float(np.dot(c, b**2))
    return {
        "q": q,
        "total": 1.0 + f_q / mean_b_squared,
        "intensity": 1.0 + f_q / mean_of_b_squared,
        "low_q_limit": 1.0 - mean_of_b_squared / mean_b_squared,
        "f_q_fm2": f_q,
        "partials": partials,
        "weights": weights,
        "mean_b_squared_fm2": mean_b_squared,
        "normalisation": NORMALISATION,
    }


def neutron_structure_factor(
    rdf: RDFResult,
    q: np.ndarray | list[float],
    lorch: bool = True,
    b_fm: Mapping[str, float] | None = None,
) -> dict:
    """Neutron S(Q) from frame-averaged g_ij(r).

    Parameters
    ----------
    rdf
        Result of :class:`~thioglass.analysis.rdf.RDF`.
    q
        Scattering vectors in 1/Å.
    lorch
        Damp truncation ripples with the Lorch window (default).
    b_fm
        Coherent scattering lengths in fm; default ``NEUTRON_B_FM`` (the paper's values).

    Returns
    -------
    dict
        ``q``; ``total`` (Faber-Ziman S(Q)); ``f_q_fm2`` (the paper's weighted sum F(Q));
        ``intensity`` (``1 + F/<b^2>``, >= 0 in physics); ``low_q_limit`` (``1 - <b^2>/<b>^2``);
        ``partials`` (S_ij(Q) keyed ``"Li-S"``); ``weights`` (``total = 1 + sum_k weights[k] *
        (partials[k] - 1)``, unordered pairs with i != j counted twice); ``mean_b_squared_fm2``;
        ``normalisation`` (a sentence).
    """
    q = _q_grid(q)
    return _combine(partial_structure_factors(rdf, q, lorch), rdf.concentrations, q, b_fm)


@dataclass(frozen=True)
class NeutronStructureFactor:
    """S(Q) on ``n_q`` points from ``q_min`` to ``q_max`` (1/Å), the Lorch window on by default.

    ``q_min`` None starts the grid at ``2 pi / r_max`` of the g(r) transformed (:meth:`grid`).
    """

    q_max: float = 20.0
    n_q: int = 400
    lorch: bool = True
    q_min: float | None = None

    def __post_init__(self) -> None:
        if not self.q_max > 0 or self.n_q < 1:
            raise ThioglassError(f"need q_max > 0 and n_q >= 1, got {self.q_max} and {self.n_q}")
        if self.q_min is not None and not 0 <= self.q_min < self.q_max:
            raise ThioglassError(f"need 0 <= q_min < q_max, got {self.q_min} and {self.q_max}")

    def q_start(self, r_max_angstrom: float) -> float:
        """First Q of the grid: ``q_min``, or ``2 pi / r_max`` (below it a g(r) to r_max resolves nothing)."""
        return min(2.0 * np.pi / r_max_angstrom, self.q_max / 2) if self.q_min is None else self.q_min

    def grid(self, r_max_angstrom: float) -> np.ndarray:
        """The Q grid in 1/Å for a g(r) up to ``r_max_angstrom``."""
        return np.linspace(self.q_start(r_max_angstrom), self.q_max, self.n_q)

    def window_name(self) -> str:
        return "Lorch" if self.lorch else "none"

    def from_rdf(self, rdf: RDFResult) -> dict:
        """See :func:`neutron_structure_factor`; adds ``q_min`` and ``window``."""
        out = neutron_structure_factor(rdf, self.grid(rdf.r_max_angstrom), self.lorch)
        out.update(q_min=float(out["q"][0]), window=self.window_name())
        return out


def _uniform_background(q: np.ndarray, r_max: float, lorch: bool) -> np.ndarray:
    """``integral_0^r_max 4 pi r^2 sin(Qr)/(Qr) [M(r)] dr`` by fine Simpson quadrature."""
    r = np.linspace(0.0, r_max, 20001)
    integrand = 4.0 * np.pi * r**2 * _sinc_qr(q, r)
    if lorch:
        integrand = integrand * lorch_window(r, r_max)[None, :]
    return simpson(integrand, x=r, axis=1)


def debye_structure_factor(
    atoms: Atoms,
    q: np.ndarray | list[float],
    r_max: float,
    lorch: bool = True,
    b_fm: Mapping[str, float] | None = None,
) -> dict:
    """Reference S(Q) of one frame by a direct Debye sum over exact pair distances below ``r_max``.

    ``S_ij(Q) = 1 + N/(N_i N_j) sum_{pairs 0 < d < r_max} sin(Qd)/(Qd) [M(d)] - rho int_0^r_max
    4 pi r^2 sin(Qr)/(Qr) [M(r)] dr``: the same truncated transform as the g(r) route, without
    histogram bins, and with ASE's neighbour list (independent of the vesin one). Slow (all pairs
    times all Q): for tests and small cells. Returns the dict of :func:`neutron_structure_factor`.
    """
    q = _q_grid(q)
    volume = cell_volume_angstrom3(atoms)
    symbols = np.asarray(atoms.get_chemical_symbols())
    species = species_order(symbols)
    counts = {el: int(np.count_nonzero(symbols == el)) for el in species}
    n_atoms = len(atoms)
    i, j, d = ase_neighbor_list("ijd", atoms, r_max, self_interaction=False)
    keep = d > 0.0
    i, j, d = i[keep], j[keep], d[keep]
    damping = lorch_window(d, r_max) if lorch else np.ones_like(d)
    background = n_atoms / volume * _uniform_background(q, r_max, lorch)
    keys = np.array([pair_key(a, b) for a, b in zip(symbols[i], symbols[j])])
    partials = {}
    for a, b in unordered_pairs(species):
        key = f"{a}-{b}"
        mask = keys == key
        # Both orders of an a-b pair are in the full list: halve the sum for a != b to get a->b.
        ordered_sum = _sinc_qr(q, d[mask]) @ damping[mask] * (1.0 if a == b else 0.5)
        partials[key] = 1.0 + n_atoms / (counts[a] * counts[b]) * ordered_sum - background
    concentrations = {el: counts[el] / n_atoms for el in species}
    return _combine(partials, concentrations, q, b_fm)
