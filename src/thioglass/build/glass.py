"""Random-packed periodic glass cells with the exact stoichiometry of a composition."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import ase
import numpy as np

from thioglass.build.density import cubic_cell_length, estimate_density
from thioglass.build.distances import min_distance_matrix
from thioglass.build.packing import Block, Packer, PackingLimits
from thioglass.build.units import check_recipe, decompose, templates
from thioglass.composition import MOL_PERCENT_TOLERANCE, Composition, formula_string, parse_composition
from thioglass.elements import TYPE_MAP
from thioglass.errors import ThioglassError


@dataclass(frozen=True)
class BuildSettings:
    """How to build a glass cell.

    Parameters
    ----------
    n_atoms
        Target number of atoms; the cell gets the exact stoichiometry closest to it.
    density_g_cm3
        Mass density; None takes :func:`~thioglass.build.density.estimate_density`.
    seed
        Seed of the ``numpy.random.Generator``: the same seed gives the same cell.
    min_distances
        Overrides of :data:`~thioglass.build.distances.DEFAULT_MIN_DISTANCES_ANGSTROM`,
        e.g. ``{"S-S": 2.8}`` (Å).
    units
        ``"atoms"`` packs single atoms; ``"auto"`` packs the molecular units of
        :func:`~thioglass.build.units.decompose`; a mapping such as ``{"PS4": 10, "P2S6": 2}``
        packs those units and the remaining atoms singly.
    tolerance_mol_percent
        How far the built composition may be from the requested one (see
        :meth:`~thioglass.composition.Composition.formula_unit`).
    cutoff_angstrom
        If given, refuse a cell thinner than twice this cutoff (e.g. 6.0 Å, the paper's
        DeePMD rcut) before packing; see :func:`check_cell_size`.
    """

    n_atoms: int
    density_g_cm3: float | None = None
    seed: int = 0
    min_distances: Mapping[str, float] = field(default_factory=dict)
    units: str | Mapping[str, int] = "auto"
    tolerance_mol_percent: float = MOL_PERCENT_TOLERANCE
    cutoff_angstrom: float | None = None


def build_glass(composition: Composition | str, *, settings: BuildSettings) -> ase.Atoms:
    """Pack a periodic cubic cell of the composition at random.

    Returns an :class:`ase.Atoms` with atoms grouped by unit, a per-atom ``unit_id`` array
    (atoms of one rigid unit share it), and ``info`` holding the composition label,
    density, seed, units mode and the unit counts.

    Raises
    ------
    ThioglassError
        If ``n_atoms`` is below one formula unit, the units do not fit the stoichiometry, or
        the atoms cannot be packed at this density with these minimum distances.
    """
    from thioglass.checks import check_atom_count, check_seed

    check_atom_count(settings.n_atoms, f"a glass of --atoms {settings.n_atoms}")
    check_seed(settings.seed)
    if isinstance(composition, str):
        composition = parse_composition(composition)
    counts = composition.atom_counts(settings.n_atoms, tolerance_mol_percent=settings.tolerance_mol_percent)
    units = _unit_counts(settings.units, counts)
    density = settings.density_g_cm3 if settings.density_g_cm3 is not None else estimate_density(composition)
    length = cubic_cell_length(counts, density)
    if settings.cutoff_angstrom is not None:
        check_cell_size(ase.Atoms(cell=np.eye(3) * length, pbc=True), settings.cutoff_angstrom)
    matrix = min_distance_matrix(settings.min_distances)
    _check_packing_fraction(counts, length, matrix)
    _check_room_for_units(units, length, matrix)
    blocks, symbols = _blocks(units, counts)
    positions = Packer(blocks, length, matrix).pack(np.random.default_rng(settings.seed), PackingLimits())
    atoms = ase.Atoms(symbols=symbols, positions=positions, cell=np.eye(3) * length, pbc=True)
    atoms.arrays["unit_id"] = _unit_ids(blocks)
    atoms.info.update(
        composition=composition.label,
        formula=formula_string(counts),
        density_g_cm3=float(density),
        seed=int(settings.seed),
        units=settings.units if isinstance(settings.units, str) else "recipe",
        unit_counts=",".join(f"{k}={v}" for k, v in units.items()) or "none",
    )
    return atoms


def check_cell_size(atoms: ase.Atoms, cutoff_angstrom: float) -> None:
    """Raise :class:`ThioglassError` if a periodic cell is thinner than twice the cutoff.

    The thickness along each direction is the distance between opposite cell faces, so
    skewed cells are judged correctly.  A cell thinner than 2 x cutoff lets an atom see
    its own periodic image within the cutoff.
    """
    cell = np.asarray(atoms.cell)
    volume = abs(np.linalg.det(cell))
    if volume == 0:
        raise ThioglassError("cell has zero volume; give a periodic structure with a full 3-D cell")
    thickness = [volume / np.linalg.norm(np.cross(cell[(k + 1) % 3], cell[(k + 2) % 3])) for k in range(3)]
    thinnest = min(thickness)
    if thinnest < 2.0 * cutoff_angstrom:
        raise ThioglassError(
            f"cell {thinnest:.2f} Å thick is smaller than twice the cutoff ({2 * cutoff_angstrom:.2f} Å); "
            "use more atoms or a supercell"
        )


def _unit_counts(mode: str | Mapping[str, int], counts: dict[str, int]) -> dict[str, int]:
    if isinstance(mode, str):
        if mode == "atoms":
            return {}
        if mode == "auto":
            return decompose(counts)
        raise ThioglassError(f"unknown units mode '{mode}'; use atoms, auto or a recipe like PS4=10,P2S6=2")
    recipe = {name: n for name, n in mode.items() if n}
    check_recipe(recipe, counts)
    return recipe


def _check_room_for_units(units: dict[str, int], length: float, matrix: np.ndarray) -> None:
    """A unit must not reach its own periodic image: the packer only checks other units' atoms."""
    if not units:
        return
    span = max(2.0 * np.linalg.norm(templates()[name].positions, axis=1).max() for name in units)
    if length < span + matrix.max():
        raise ThioglassError(
            f"a {length:.2f} Å cell is too small for units {', '.join(units)} ({span:.1f} Å across); "
            "use more atoms or --units atoms"
        )


def _blocks(units: dict[str, int], counts: dict[str, int]) -> tuple[list[Block], list[str]]:
    """Blocks of rigid units, then single atoms of what the units leave, in TYPE_MAP order."""
    left = dict(counts)
    blocks, symbols = [], []
    for name, n in units.items():
        template = templates()[name]
        for el, k in template.counts.items():
            left[el] -= n * k
        index = np.array([TYPE_MAP.index(s) for s in template.symbols])
        blocks.append(Block(template.positions, index, n))
        symbols += list(template.symbols) * n
    for el in TYPE_MAP:
        if left.get(el, 0) > 0:
            blocks.append(Block(np.zeros((1, 3)), np.array([TYPE_MAP.index(el)]), left[el]))
            symbols += [el] * left[el]
    return blocks, symbols


def _unit_ids(blocks: list[Block]) -> np.ndarray:
    sizes = np.concatenate([np.full(b.n_units, b.n_per_unit) for b in blocks if b.n_units])
    return np.repeat(np.arange(len(sizes)), sizes)


def _check_packing_fraction(counts: dict[str, int], length: float, matrix: np.ndarray) -> None:
    """Fail fast when the atoms of one element alone could not keep their like-pair distance.

    Spheres of diameter d(X-X) around every X atom may not overlap, so they can fill at
    most 74 % of the cell (the densest packing of equal spheres).
    """
    for el, n in counts.items():
        d = matrix[TYPE_MAP.index(el), TYPE_MAP.index(el)]
        fraction = n * np.pi / 6.0 * d**3 / length**3
        if fraction > 0.7405:
            raise ThioglassError(
                f"{n} {el} atoms at least {d:g} Å apart cannot fit in a {length:.2f} Å cell (they would fill "
                f"{fraction:.0%} of it, more than the densest sphere packing); lower --density or the {el}-{el} "
                "minimum distance (--min-distance)"
            )
