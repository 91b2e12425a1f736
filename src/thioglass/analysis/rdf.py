"""Total and partial radial distribution functions g_ij(r), streamed over frames.

Definition (the one ASE >= 3.27, freud's ``exact`` mode and LAMMPS ``compute rdf`` use)::

    g_ij(r) = V / (N_i N_j) * n_ij(r) / (4/3 pi (r_hi^3 - r_lo^3))

with ``n_ij`` the number of ordered pairs (atom of i, atom of j, periodic images included) in the shell.
Each frame is normalised with its own volume and counts, then frames are averaged, so a box that changes
frame to frame (NPT) is handled and memory stays at one histogram. The total is
``g(r) = sum over ordered pairs c_i c_j g_ij(r)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from thioglass.analysis.neighbors import vesin  # patched: no per-frame memory growth
from ase import Atoms
from ase.data import atomic_numbers, chemical_symbols

from thioglass.analysis.neighbors import cell_volume_angstrom3, no_frames_error, pair_distances
from thioglass.elements import TYPE_MAP
from thioglass.errors import ThioglassError


def species_order(symbols: list[str] | np.ndarray) -> tuple[str, ...]:
    """Elements present, in ``TYPE_MAP`` order, then any others by atomic number."""
    present = set(np.unique(np.asarray(symbols)).tolist())
    return tuple(sorted(present, key=_species_rank))


def _species_rank(symbol: str) -> tuple[int, int]:
    if symbol in TYPE_MAP:
        return (0, TYPE_MAP.index(symbol))
    return (1, atomic_numbers[symbol])


def pair_key(a: str, b: str) -> str:
    """Key of an unordered element pair, e.g. ``pair_key("S", "Li") == "Li-S"``."""
    first, second = sorted((a, b), key=_species_rank)
    return f"{first}-{second}"


def unordered_pairs(species: tuple[str, ...]) -> list[tuple[str, str]]:
    """Unordered element pairs ``(a, b)`` with ``a`` not after ``b`` in ``species``."""
    return [(a, b) for n, a in enumerate(species) for b in species[n:]]


@dataclass(frozen=True)
class RDFResult:
    """Frame-averaged radial distribution functions.

    Attributes
    ----------
    r : numpy.ndarray
        Bin centres in Å.
    partials : dict[str, numpy.ndarray]
        ``g_ij(r)`` keyed ``"Li-S"`` (unordered pairs, ``TYPE_MAP`` order).
    total : numpy.ndarray
        ``sum_ij c_i c_j g_ij(r)`` over ordered pairs.
    number_density : float
        Mean number density over frames in Å^-3.
    concentrations : dict[str, float]
        Mean atomic fraction of each element.
    n_frames : int
        Frames averaged.
    """

    r: np.ndarray
    partials: dict[str, np.ndarray]
    total: np.ndarray
    number_density: float
    concentrations: dict[str, float]
    n_frames: int

    @property
    def bin_width_angstrom(self) -> float:
        """Width of one histogram bin in Å."""
        return float(self.r[1] - self.r[0]) if self.r.size > 1 else float(2.0 * self.r[0])

    @property
    def r_max_angstrom(self) -> float:
        """Upper edge of the last bin in Å."""
        return float(self.r[-1] + 0.5 * self.bin_width_angstrom)

    @property
    def species(self) -> tuple[str, ...]:
        """Elements in the order of ``concentrations``."""
        return tuple(self.concentrations)


class RDF:
    """Accumulate g_ij(r) for every element pair over frames.

    Parameters
    ----------
    r_max_angstrom
        Largest distance in Å. It may exceed half the cell width: periodic images are counted.
    n_bins
        Number of equal bins on ``[0, r_max_angstrom]``.
    """

    def __init__(self, r_max_angstrom: float = 10.0, n_bins: int = 200) -> None:
        if not r_max_angstrom > 0:
            raise ThioglassError(f"r_max must be positive, got {r_max_angstrom} Å")
        if int(n_bins) < 1:
            raise ThioglassError(f"n_bins must be at least 1, got {n_bins}")
        self.r_max_angstrom = float(r_max_angstrom)
        self.n_bins = int(n_bins)
        self._edges = np.linspace(0.0, self.r_max_angstrom, self.n_bins + 1)
        self._shell_volumes = 4.0 / 3.0 * np.pi * np.diff(self._edges**3)
        self._calculator = vesin.NeighborList(cutoff=self.r_max_angstrom, full_list=False)
        self._species: tuple[str, ...] | None = None
        self._g_sum: np.ndarray | None = None
        self._concentration_sum: np.ndarray | None = None
        self._density_sum = 0.0
        self._n_frames = 0

    def compute(self, atoms: Atoms) -> RDF:
        """Add the partial g_ij(r) of one frame, normalised with its own volume and counts."""
        volume = cell_volume_angstrom3(atoms)
        numbers = atoms.numbers
        present = [chemical_symbols[z] for z in np.unique(numbers)]
        species = self._check_species(species_order(present))
        types = self._type_of_number[numbers]
        counts = np.bincount(types, minlength=len(species)).astype(np.float64)

        i, j, distance = pair_distances(atoms, self.r_max_angstrom, self._calculator)
        self._g_sum += self._frame_partials(types, counts, volume, i, j, distance)
        self._concentration_sum += counts / counts.sum()
        self._density_sum += counts.sum() / volume
        self._n_frames += 1
        return self

    def _check_species(self, species: tuple[str, ...]) -> tuple[str, ...]:
        """Fix the elements (and lookup tables) on the first frame; later frames must match."""
        if self._species is None:
            self._species = species
            n = len(species)
            self._type_of_number = np.full(len(chemical_symbols), -1, dtype=np.int64)
            self._type_of_number[[atomic_numbers[el] for el in species]] = np.arange(n)
            self._pair_index = np.zeros((n, n), dtype=np.int64)
            self._same = np.zeros(n * (n + 1) // 2, dtype=bool)
            for index, (a, b) in enumerate(unordered_pairs(species)):
                ia, ib = species.index(a), species.index(b)
                self._pair_index[ia, ib] = self._pair_index[ib, ia] = index
                self._same[index] = ia == ib
            self._g_sum = np.zeros((self._same.size, self.n_bins))
            self._concentration_sum = np.zeros(n)
        elif species != self._species:
            raise ThioglassError(
                f"the elements changed between frames ({'-'.join(self._species)} then "
                f"{'-'.join(species)}); analyse one composition per run"
            )
        return self._species

    def _frame_partials(
        self,
        types: np.ndarray,
        counts: np.ndarray,
        volume: float,
        i: np.ndarray,
        j: np.ndarray,
        distance: np.ndarray,
    ) -> np.ndarray:
        n_pairs = self._same.size
        bins = (distance * (self.n_bins / self.r_max_angstrom)).astype(np.int64)
        np.minimum(bins, self.n_bins - 1, out=bins)  # a distance rounding onto r_max
        codes = self._pair_index[types[i], types[j]] * self.n_bins + bins
        histogram = np.bincount(codes, minlength=n_pairs * self.n_bins).reshape(n_pairs, self.n_bins)
        # The half list holds each unordered pair once: same-element partials need both orders.
        ordered = histogram * np.where(self._same, 2.0, 1.0)[:, None]
        pair_i, pair_j = np.triu_indices(counts.size)
        norm = counts[pair_i] * counts[pair_j] / volume
        return ordered / (norm[:, None] * self._shell_volumes[None, :])  # every species has atoms

    def result(self) -> RDFResult:
        """Frame-averaged partial and total g(r)."""
        if self._n_frames == 0:
            raise no_frames_error()
        species = self._species
        partial_arrays = self._g_sum / self._n_frames
        concentrations = self._concentration_sum / self._n_frames
        total = np.zeros(self.n_bins)
        partials = {}
        for index, (a, b) in enumerate(unordered_pairs(species)):
            weight = concentrations[species.index(a)] * concentrations[species.index(b)]
            total += (1.0 if a == b else 2.0) * weight * partial_arrays[index]
            partials[f"{a}-{b}"] = partial_arrays[index].copy()
        return RDFResult(
            r=0.5 * (self._edges[1:] + self._edges[:-1]),
            partials=partials,
            total=total,
            number_density=self._density_sum / self._n_frames,
            concentrations={el: float(c) for el, c in zip(species, concentrations)},
            n_frames=self._n_frames,
        )
