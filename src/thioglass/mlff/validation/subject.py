"""The model under test, its reference, and the systems both are compared on.

Everything a user can get wrong (model file, reference name, output folder) is checked here, before any
reference model is loaded or any MD starts.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from thioglass.errors import ThioglassError
from thioglass.mlff.validation.settings import ValidationSettings

ELEMENTS = ("Li", "Si", "P", "S")


@dataclass(frozen=True)
class Subject:
    """A model (``.pb`` file or calculator spec), the reference it is judged against, the model's cutoff
    and the elements it knows."""

    model: str
    reference: str
    cutoff_angstrom: float
    elements: tuple[str, ...]

    @property
    def is_deepmd(self) -> bool:
        from thioglass.potential import potential_kind

        return potential_kind(self.model) == "deepmd"


def card_reference(model: str) -> str | None:
    """The reference recorded in the model card beside a ``.pb`` file (``default.pb`` -> ``default.json``)."""
    card = Path(model).with_suffix(".json")
    if not card.is_file():
        return None
    try:
        return json.loads(card.read_text()).get("reference")
    except (OSError, json.JSONDecodeError, AttributeError):
        raise ThioglassError(f"the model card {card} is not readable JSON; fix it or pass --reference") from None


def resolve_subject(model: str | None, reference: str | None, settings: ValidationSettings) -> Subject:
    """Check the model and the reference and read the model's cutoff and elements (one-line errors)."""
    from thioglass.potential import check_reference, model_path, potential_kind

    if potential_kind(model) == "deepmd":
        path = model_path(model)
        from thioglass.mlff.evaluate import load_model

        dp = load_model(path)  # a missing or non-DeePMD file fails here
        cutoff, elements, spec = float(dp.get_rcut()), tuple(dp.get_type_map()), path
        reference = reference or card_reference(path)
    else:
        spec, cutoff, elements = str(model), settings.fallback_cutoff_angstrom, ELEMENTS
    if reference is None:
        raise ThioglassError(f"no model card beside {spec} names its reference; pass --reference NAME")
    check_reference(reference)
    if settings.cutoff_angstrom is not None:
        cutoff = settings.cutoff_angstrom
    return Subject(spec, reference, cutoff, elements)


def check_output_folder(out: Path) -> None:
    """The output folder exists or can be made, and is writable."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ThioglassError(f"cannot create the output folder {out} ({err.strerror}); choose another -o") from None
    if not out.is_dir() or not os.access(out, os.W_OK):
        raise ThioglassError(f"the output folder {out} is not a writable folder; choose another -o")


@lru_cache(maxsize=4)
def calculator(spec: str, threads: int) -> Any:
    """One ASE calculator per potential and process (model weights load once)."""
    from thioglass.potential import make_calculator

    return make_calculator(spec, threads=threads)


def cell_widths(cell: np.ndarray) -> np.ndarray:
    """Distances between opposite faces of a cell (Å)."""
    cell = np.asarray(cell, dtype=float)
    volume = abs(np.linalg.det(cell))
    return np.array([volume / np.linalg.norm(np.cross(cell[(k + 1) % 3], cell[(k + 2) % 3])) for k in range(3)])


def wide_supercell(atoms: Atoms, min_width_angstrom: float) -> Atoms:
    """The smallest supercell wider than ``min_width_angstrom`` in every direction: diagonal repeats or, when
    fewer atoms do it (the 3-atom fcc cell of Li2S), the most cubic supercell of ASE's shape search."""
    from ase.build import find_optimal_cell_shape, make_supercell

    reps = [math.floor(min_width_angstrom / w) + 1 for w in cell_widths(atoms.cell)]
    best = atoms.repeat(reps)
    # A cell's volume is at least the product of its widths, so fewer cells than this cannot do it.
    smallest = max(2, math.ceil(min_width_angstrom**3 / atoms.get_volume()))
    for size in range(smallest, int(np.prod(reps))):
        try:
            matrix = find_optimal_cell_shape(atoms.cell, size, "sc", verbose=False)
        except (ValueError, RuntimeError):
            continue
        if matrix is not None and cell_widths(np.asarray(matrix) @ atoms.cell).min() > min_width_angstrom:
            best = make_supercell(atoms, matrix)
            break
    best.info = dict(atoms.info)
    return best


def crystal_list(names: tuple[str, ...] | None, subject: Subject) -> tuple[str, ...]:
    """``names`` checked against the library, or every bundled crystal made of the model's elements."""
    from thioglass.build.crystals import crystal_info, list_crystals, load_crystal

    if names is None:
        return tuple(info.name for info in list_crystals()
                     if set(load_crystal(info.name).get_chemical_symbols()) <= set(subject.elements))
    return tuple(crystal_info(name).name for name in names)


def crystal_cell(name: str, subject: Subject) -> Atoms:
    """Bundled crystal ``name`` in a supercell wider than twice the model's cutoff, rotated so its cell is
    lower-triangular (LAMMPS' form), so the model's and the reference's MD start from the same frame."""
    return _crystal_cell(name, subject.cutoff_angstrom).copy()


@lru_cache(maxsize=32)
def _crystal_cell(name: str, cutoff_angstrom: float) -> Atoms:
    from thioglass.build.crystals import load_crystal
    from thioglass.properties.elastic import lammps_frame

    atoms, _ = lammps_frame(wide_supercell(load_crystal(name), 2 * cutoff_angstrom))
    atoms.wrap()
    atoms.info = {"system": name, "family": family(atoms.get_chemical_symbols())}
    return atoms


def glass_cell(composition: str, subject: Subject, settings: ValidationSettings) -> Atoms:
    """A randomly packed glass of ``composition``, grown from ``glass_atoms`` until wider than twice the cutoff."""
    from thioglass.build import BuildSettings, build_glass

    n_atoms = settings.glass_atoms
    while True:
        atoms = build_glass(composition, settings=BuildSettings(n_atoms=n_atoms, seed=settings.seed))
        if cell_widths(atoms.cell).min() > 2 * subject.cutoff_angstrom:
            atoms.info.update(system=composition, family=family(atoms.get_chemical_symbols()))
            return atoms
        n_atoms = int(n_atoms * 1.25) + 1


def family(symbols: list[str]) -> str:
    """Li2S-SiS2-P2S5 family of a frame from the elements present (crystals and glasses alike), as in the
    model card's held-out tables."""
    present = set(symbols)
    parts = [name for name, element in (("Li2S", "Li"), ("SiS2", "Si"), ("P2S5", "P")) if element in present]
    return "-".join(parts) if parts else "S"
