"""Rotation of PS4/SiS4 tetrahedra and Li motion nearby: the paddle-wheel analysis (paper, section 3.4).

Each tetrahedron is described by the vectors from its centre (P or Si) to its four S,
followed continuously through the trajectory (each vector is the periodic image nearest its
value in the previous frame, so units that straddle the cell boundary or a fluctuating NPT
box stay whole). The rotation between two times is the Kabsch fit of the four S positions,
each set centred on its own centroid, which removes any translation of the unit; the angle
is that of the proper rotation (det = +1) found.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from thioglass.analysis.unwrap import Unwrapper
from thioglass.elements import FORMERS
from thioglass.errors import ThioglassError


@dataclass(frozen=True)
class Tetrahedra:
    """Centre atoms with exactly four ligands within the bond cutoff.

    Attributes
    ----------
    center_index:
        Atom index of each centre, shape (n,).
    ligand_index:
        Atom indices of the four ligands, shape (n, 4).
    shifts:
        Periodic shift of each ligand (integer lattice vectors), shape (n, 4, 3): the bonded
        image is ``positions[ligand] + shifts @ cell``.
    species:
        Chemical symbol of each centre.
    """

    center_index: np.ndarray
    ligand_index: np.ndarray
    shifts: np.ndarray
    species: tuple[str, ...]

    def ligand_vectors(self, positions: np.ndarray, cell: np.ndarray) -> np.ndarray:
        """Centre-to-ligand vectors (Å), shape (n, 4, 3), for the cell the shifts refer to."""
        image = positions[self.ligand_index] + self.shifts @ cell
        return image - positions[self.center_index][:, None, :]


def find_tetrahedra(
    atoms, centers: tuple[str, ...] = FORMERS, ligand: str = "S", cutoff_angstrom: float = 2.6
) -> Tetrahedra:
    """Tetrahedral units: every ``centers`` atom with exactly four ``ligand`` neighbours.

    Neighbours (periodic images counted as distinct) come from
    :func:`thioglass.analysis.neighbors.neighbor_list` (vesin); positions need not be wrapped.
    """
    from thioglass.analysis.neighbors import neighbor_list

    symbols = np.array(atoms.get_chemical_symbols())
    pairs = neighbor_list(atoms, cutoff_angstrom)
    keep = np.isin(symbols[pairs.i], centers) & (symbols[pairs.j] == ligand)
    i, j, shift = pairs.i[keep], pairs.j[keep], pairs.shift[keep]
    order = np.lexsort((j, i))
    i, j, shift = i[order], j[order], shift[order]
    uniq, start, count = np.unique(i, return_index=True, return_counts=True)
    good = count == 4
    rows = start[good][:, None] + np.arange(4)
    return Tetrahedra(
        center_index=uniq[good].astype(int),
        ligand_index=j[rows].astype(int),
        shifts=shift[rows].astype(int),
        species=tuple(symbols[uniq[good]].tolist()),
    )


def _rotation_angle_deg(R: np.ndarray) -> np.ndarray:
    """Rotation angle of proper rotations (..., 3, 3), stable for small angles."""
    axis = np.stack([R[..., 2, 1] - R[..., 1, 2], R[..., 0, 2] - R[..., 2, 0], R[..., 1, 0] - R[..., 0, 1]], -1)
    cos2 = np.trace(R, axis1=-2, axis2=-1) - 1.0
    return np.degrees(np.arctan2(np.linalg.norm(axis, axis=-1), cos2))


def kabsch_batch(P: ArrayLike, Q: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best proper rotations taking each point set ``P`` onto ``Q`` (Kabsch, 1976).

    Parameters
    ----------
    P, Q:
        Point sets, shape (..., k, 3), k >= 3; each is centred on its centroid first.

    Returns
    -------
    tuple
        ``R`` (..., 3, 3) with ``R @ (p - p̄) ≈ q - q̄`` and det(R) = +1 (a mirror image is
        never returned as a rotation); angle in degrees (...,); RMSD of the fit in Å (...,).
    """
    P, Q = np.asarray(P, dtype=float), np.asarray(Q, dtype=float)
    if P.shape != Q.shape or P.ndim < 2 or P.shape[-1] != 3 or P.shape[-2] < 3:
        raise ThioglassError(f"Kabsch needs two point sets of equal shape (..., k >= 3, 3); got {P.shape}, {Q.shape}")
    Pc = P - P.mean(axis=-2, keepdims=True)
    Qc = Q - Q.mean(axis=-2, keepdims=True)
    H = np.einsum("...ki,...kj->...ij", Pc, Qc)
    U, _, Vt = np.linalg.svd(H)
    V = np.swapaxes(Vt, -1, -2)
    d = np.sign(np.linalg.det(V @ np.swapaxes(U, -1, -2)))
    d = np.where(d == 0, 1.0, d)
    V[..., :, 2] *= d[..., None]
    R = V @ np.swapaxes(U, -1, -2)
    fitted = np.einsum("...ij,...kj->...ki", R, Pc)
    rmsd = np.sqrt(np.mean(np.sum((fitted - Qc) ** 2, axis=-1), axis=-1))
    return R, _rotation_angle_deg(R), rmsd


def kabsch_rotation(P: ArrayLike, Q: ArrayLike) -> tuple[np.ndarray, float]:
    """Best proper rotation ``R`` (3x3) taking point set ``P`` (k, 3) onto ``Q``, and its angle (degrees)."""
    R, angle, _ = kabsch_batch(P, Q)
    return R, float(angle)


def _pair_neighbors(
    centres: np.ndarray, others: np.ndarray, cell: np.ndarray, radius: float
) -> tuple[np.ndarray, np.ndarray]:
    """Unique (centre, other) index pairs closer than ``radius`` (Å) under periodic boundaries."""
    from thioglass.analysis.neighbors import vesin  # patched: no per-frame memory growth

    inv = np.linalg.inv(cell)
    points = np.concatenate([centres, others]) @ inv
    points = (points - np.floor(points)) @ cell
    i, j = vesin.NeighborList(cutoff=radius, full_list=True).compute(points, cell, True, quantities="ij")
    n_c = centres.shape[0]
    keep = (i < n_c) & (j >= n_c)
    pairs = np.unique(np.column_stack([i[keep], j[keep] - n_c]), axis=0)
    return pairs[:, 0].astype(int), pairs[:, 1].astype(int)


class TetrahedronRotation:
    """Rotation angle of each tetrahedron over a time window and the motion of Li nearby.

    Tetrahedra are identified in the first frame and followed by atom index; a unit that
    deforms or breaks during a window shows up as a large ``fit_rmsd_angstrom`` in its row.
    For each window origin t0 (every ``origin_stride_ps``) a row per tetrahedron gives the
    Kabsch angle between t0 and t0 + window and the mean displacement over the same window
    of the Li within ``li_radius_angstrom`` of its centre at t0 (Li unwrapped as in
    :mod:`thioglass.analysis.unwrap`). Only the frames at window ends are kept in memory.

    Parameters
    ----------
    window_ps:
        Time between the two frames compared (ps); the paper shows 30 ps.
    timestep_fs:
        MD time step (fs).
    stride:
        MD steps between two frames passed to :meth:`compute`.
    li_radius_angstrom:
        Li within this distance of a tetrahedron's centre at the window start count as
        nearby (4.0 Å covers the first Li shell around P and Si in these glasses).
    origin_stride_ps:
        Spacing of window origins (ps); default ``window_ps`` (non-overlapping windows).
    centers, ligand, carrier, cutoff_angstrom:
        Chemistry: centre species, ligand species, mobile ion, centre-ligand bond cutoff (Å).
    """

    def __init__(
        self,
        window_ps: float,
        timestep_fs: float = 1.0,
        stride: int = 1,
        li_radius_angstrom: float = 4.0,
        origin_stride_ps: float | None = None,
        centers: tuple[str, ...] = FORMERS,
        ligand: str = "S",
        carrier: str = "Li",
        cutoff_angstrom: float = 2.6,
    ) -> None:
        if window_ps <= 0 or timestep_fs <= 0 or stride < 1 or li_radius_angstrom <= 0:
            raise ThioglassError("window_ps, timestep_fs and li_radius_angstrom must be > 0 and stride >= 1")
        frame_ps = timestep_fs * stride / 1000.0
        self.window_frames = int(round(window_ps / frame_ps))
        self.origin_frames = int(round((origin_stride_ps or window_ps) / frame_ps))
        if self.window_frames < 1 or self.origin_frames < 1:
            raise ThioglassError(f"window and origin spacing must be at least one frame interval ({frame_ps} ps)")
        self.frame_ps = frame_ps
        self.li_radius_angstrom = li_radius_angstrom
        self.chemistry = (tuple(centers), ligand, carrier, cutoff_angstrom)
        self._tets: Tetrahedra | None = None
        self._carrier_mask: np.ndarray | None = None
        self._vectors: np.ndarray | None = None
        self._unwrapper = Unwrapper()
        self._n_frames = 0
        self._kept_vectors: dict[int, np.ndarray] = {}
        self._kept_li: dict[int, np.ndarray] = {}
        self._neighbors: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _start(self, frame) -> None:
        centers, ligand, carrier, cutoff = self.chemistry
        self._tets = find_tetrahedra(frame, centers, ligand, cutoff)
        if self._tets.center_index.size == 0:
            raise ThioglassError(f"no {'/'.join(centers)} centre has exactly 4 {ligand} within {cutoff} A")
        self._carrier_mask = np.array([s == carrier for s in frame.get_chemical_symbols()])
        if not self._carrier_mask.any():
            raise ThioglassError(f"the frame has no {carrier} atoms")
        self._vectors = self._tets.ligand_vectors(frame.get_positions(), frame.cell[:])

    def _follow(self, positions: np.ndarray, cell: np.ndarray) -> None:
        """Advance each centre-ligand vector to its image nearest the previous one."""
        t = self._tets
        raw = positions[t.ligand_index] - positions[t.center_index][:, None, :]
        jump = np.rint((raw - self._vectors) @ np.linalg.inv(cell))
        self._vectors = raw - jump @ cell

    def compute(self, frame) -> TetrahedronRotation:
        """Add one frame (``ase.Atoms``, same atoms in the same order every frame)."""
        positions, cell = frame.get_positions(), frame.cell[:]
        if self._tets is None:
            self._start(frame)
        elif len(frame) != self._carrier_mask.size:
            raise ThioglassError("the number of atoms changed between frames; give one consistent trajectory")
        else:
            self._follow(positions, cell)
        li = self._unwrapper.update(positions, cell)[self._carrier_mask]
        k = self._n_frames
        is_origin = k % self.origin_frames == 0
        is_end = k >= self.window_frames and (k - self.window_frames) % self.origin_frames == 0
        if is_origin or is_end:
            self._kept_vectors[k] = self._vectors.copy()
            self._kept_li[k] = li.copy()
        if is_origin:
            centres = positions[self._tets.center_index]
            self._neighbors[k] = _pair_neighbors(centres, positions[self._carrier_mask], cell, self.li_radius_angstrom)
        self._n_frames += 1
        return self

    def _window_rows(self, k0: int) -> list[dict]:
        t = self._tets
        k1 = k0 + self.window_frames
        _, angle, rmsd = kabsch_batch(self._kept_vectors[k0], self._kept_vectors[k1])
        tet, li = self._neighbors[k0]
        disp = np.linalg.norm(self._kept_li[k1][li] - self._kept_li[k0][li], axis=1)
        n_tet = t.center_index.size
        n_li = np.bincount(tet, minlength=n_tet)
        total = np.bincount(tet, weights=disp, minlength=n_tet)
        mean = np.divide(total, n_li, out=np.full(n_tet, np.nan), where=n_li > 0)
        return [
            {
                "window": k0 // self.origin_frames,
                "t0_ps": k0 * self.frame_ps,
                "center_index": int(t.center_index[m]),
                "species": t.species[m],
                "angle_deg": float(angle[m]),
                "fit_rmsd_angstrom": float(rmsd[m]),
                "li_displacement_mean_angstrom": None if n_li[m] == 0 else float(mean[m]),
                "n_li": int(n_li[m]),
            }
            for m in range(n_tet)
        ]

    def result(self) -> dict:
        """Table of (window, tetrahedron) rows, per-species angle statistics and correlations.

        Returns
        -------
        dict
            JSON-ready: ``window_ps``, ``n_windows``, ``n_tetrahedra``, ``table`` (rows with
            ``species``, ``angle_deg``, ``fit_rmsd_angstrom``, ``li_displacement_mean_angstrom``,
            ``n_li``), ``angle_by_species`` and ``correlation`` (Pearson and Spearman between
            angle and mean nearby-Li displacement over rows with nearby Li, with p-values).
        """
        origins = [k for k in sorted(self._neighbors) if k + self.window_frames < self._n_frames]
        if not origins:
            raise ThioglassError(
                f"the trajectory ({self._n_frames} frames) is shorter than one window "
                f"({self.window_frames} frames); shorten window_ps or run longer"
            )
        table = [row for k0 in origins for row in self._window_rows(k0)]
        angles = np.array([r["angle_deg"] for r in table])
        species = np.array([r["species"] for r in table])
        by_species = {
            sp: {"n": int(np.sum(species == sp)), "mean_deg": float(angles[species == sp].mean()),
                 "std_deg": float(angles[species == sp].std())}
            for sp in sorted(set(species.tolist()))
        }
        return {
            "window_ps": self.window_frames * self.frame_ps,
            "li_radius_angstrom": self.li_radius_angstrom,
            "n_windows": len(origins),
            "n_tetrahedra": int(self._tets.center_index.size),
            "table": table,
            "angle_by_species": by_species,
            "correlation": correlate(table),
        }


def correlate(table: list[dict]) -> dict:
    """Pearson and Spearman correlation of rotation angle and mean nearby-Li displacement."""
    from scipy import stats

    rows = [r for r in table if r["n_li"] > 0]
    x = np.array([r["angle_deg"] for r in rows])
    y = np.array([r["li_displacement_mean_angstrom"] for r in rows])
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return {"n": int(x.size), "pearson_r": None, "pearson_p": None, "spearman_rho": None, "spearman_p": None,
                "message": "fewer than 3 rows with nearby Li, or constant data: no correlation"}
    pearson = stats.pearsonr(x, y)
    spearman = stats.spearmanr(x, y)
    return {
        "n": int(x.size),
        "pearson_r": float(pearson.statistic),
        "pearson_p": float(pearson.pvalue),
        "spearman_rho": float(spearman.statistic),
        "spearman_p": float(spearman.pvalue),
        "message": "ok",
    }
