"""Write structures in the format their file name asks for.

=========================  ==========================================================
name                       format
=========================  ==========================================================
``*.extxyz``, ``*.xyz``    extended XYZ (cell, pbc and per-atom arrays kept)
``*.data``, ``*.lmp``      LAMMPS data, ``atom_style atomic``, all four types of
                           TYPE_MAP (Li Si P S) with a Masses section, so type numbers
                           are the same for every composition and the elements can be
                           read back from the masses
``*.vasp``, ``POSCAR*``,   VASP POSCAR, direct coordinates, atoms sorted in TYPE_MAP
``CONTCAR*``               order
``*.cif``                  CIF
=========================  ==========================================================
"""

from __future__ import annotations

import os
from pathlib import Path

import ase
import ase.io
import numpy as np

from thioglass.elements import TYPE_MAP
from thioglass.errors import ThioglassError
from thioglass.io.formats import SUFFIXES, WRITABLE_FORMATS, format_of_name, is_gzipped

_VASP_NAMES = ("POSCAR", "CONTCAR")
KNOWN_EXTENSIONS = (*(suffix for suffix, fmt in SUFFIXES.items() if fmt in WRITABLE_FORMATS), *_VASP_NAMES)


def structure_format(path: Path | str) -> str:
    """ASE format name for ``path`` (the table of :mod:`thioglass.io.formats`); raises ThioglassError
    for names it cannot write."""
    path = Path(path)
    fmt = None if is_gzipped(path) else format_of_name(path.name)
    if fmt not in WRITABLE_FORMATS:
        raise ThioglassError(
            f"cannot tell the format of '{path.name}'; use one of {', '.join(KNOWN_EXTENSIONS)}"
        )
    return fmt


def write_structure(atoms: ase.Atoms, path: Path | str) -> Path:
    """Write ``atoms`` to ``path`` (format from the name, parent folders created)."""
    path = Path(path)
    fmt = structure_format(path)
    unknown = sorted(set(atoms.get_chemical_symbols()) - set(TYPE_MAP))
    if fmt in ("lammps-data", "vasp") and unknown:
        raise ThioglassError(
            f"elements {', '.join(unknown)} are not in the type map {' '.join(TYPE_MAP)}; "
            "write this structure as .extxyz or .cif"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside and renamed: resumed runs reuse start files, so a kill must not leave half of one.
    temporary = path.with_name(path.name + ".tmp")
    if fmt == "lammps-data":
        ase.io.write(temporary, atoms, format=fmt, atom_style="atomic", specorder=list(TYPE_MAP), masses=True)
    elif fmt == "vasp":
        ase.io.write(temporary, _sorted_by_type(atoms), format=fmt, direct=True, sort=False)
    else:
        ase.io.write(temporary, atoms, format=fmt)
    os.replace(temporary, path)
    return path


def _sorted_by_type(atoms: ase.Atoms) -> ase.Atoms:
    order = np.argsort([TYPE_MAP.index(s) for s in atoms.get_chemical_symbols()], kind="stable")
    return atoms[order]
