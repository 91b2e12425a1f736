"""The crystal library: reference crystals shipped in ``thioglass/data/structures``.

The registry is the table in that folder's ``SOURCES.md`` (one row per crystal, keyed by
its ``name`` column), so a structure and its provenance cannot drift apart.  Files are read
through :mod:`importlib.resources`, so the library works from an installed wheel too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import as_file, files

import ase
import ase.io
import numpy as np

from thioglass.elements import AVOGADRO
from thioglass.errors import ThioglassError

_PACKAGE_DIR = ("thioglass", "data/structures")

#: Room-temperature lattice of Li10SiP2S12 (the paper's Table 1, experiment), Å.
LI10SIP2S12_A_ANGSTROM = 8.651
LI10SIP2S12_C_ANGSTROM = 12.5095


@dataclass(frozen=True)
class CrystalInfo:
    """One row of the crystal library.

    ``density_g_cm3`` is that of the stored cell, ``literature_density_g_cm3`` the
    experimental value quoted in SOURCES.md.
    """

    name: str
    formula: str
    space_group: str
    source: str
    file: str
    phase: str
    density_g_cm3: float
    literature_density_g_cm3: float
    notes: str


def _resource(filename: str):
    return files(_PACKAGE_DIR[0]).joinpath(_PACKAGE_DIR[1], filename)


@cache
def list_crystals() -> list[CrystalInfo]:
    """Every crystal of the library, in the order of SOURCES.md."""
    rows = _table_rows(_resource("SOURCES.md").read_text(encoding="utf-8"))
    return [_info(row) for row in rows]


def crystal_names() -> list[str]:
    """Short names accepted by :func:`load_crystal`."""
    return [info.name for info in list_crystals()]


def crystal_info(name: str) -> CrystalInfo:
    """The library row of ``name`` (case-insensitive); unknown names raise ThioglassError."""
    for info in list_crystals():
        if info.name.lower() == name.strip().lower():
            return info
    raise ThioglassError(f"unknown crystal '{name}'; known crystals: {', '.join(crystal_names())}")


def load_crystal(name: str, supercell: tuple[int, int, int] = (1, 1, 1)) -> ase.Atoms:
    """Read crystal ``name`` from the library, repeated ``supercell`` times along a, b, c."""
    from thioglass.checks import check_atom_count

    info = crystal_info(name)
    reps = _checked_supercell(supercell)
    atoms = _read(info.file)
    check_atom_count(len(atoms) * reps[0] * reps[1] * reps[2], f"{info.name} {'x'.join(map(str, reps))}")
    atoms.info = {"crystal": info.name, "space_group": info.space_group, "source_file": info.file}
    return atoms.repeat(reps)


def derive_li10sip2s12(parent: ase.Atoms | None = None) -> ase.Atoms:
    """Li10SiP2S12 from the Li10GeP2S12 cell: Ge -> Si, lattice scaled to experiment.

    The fractional coordinates are kept.  The tetragonal c axis is found as the lattice
    vector whose length differs from the other two, so a permuted cell is scaled correctly.
    ``parent`` defaults to the library's Li10GeP2S12.
    """
    atoms = parent if parent is not None else _read(crystal_info("Li10GeP2S12").file)
    symbols = ["Si" if s == "Ge" else s for s in atoms.get_chemical_symbols()]
    lengths = atoms.cell.lengths()
    c_axis = int(np.argmax([abs(lengths[k] - np.mean(np.delete(lengths, k))) for k in range(3)]))
    target = np.full(3, LI10SIP2S12_A_ANGSTROM)
    target[c_axis] = LI10SIP2S12_C_ANGSTROM
    cell = np.asarray(atoms.cell) * (target / lengths)[:, None]
    return ase.Atoms(symbols=symbols, scaled_positions=atoms.get_scaled_positions(), cell=cell, pbc=True)


def density_g_cm3(atoms: ase.Atoms) -> float:
    """Mass density of a periodic cell in g/cm3."""
    return float(atoms.get_masses().sum() / AVOGADRO / (atoms.get_volume() * 1e-24))


def _read(filename: str) -> ase.Atoms:
    with as_file(_resource(filename)) as path:
        if not path.is_file():
            raise ThioglassError(f"crystal file {filename} is missing from the package; reinstall thioglass")
        return ase.io.read(path)


def _checked_supercell(supercell) -> tuple[int, int, int]:
    reps = tuple(supercell)
    if len(reps) != 3 or not all(isinstance(n, (int, np.integer)) and n >= 1 for n in reps):
        raise ThioglassError(f"supercell must be three positive integers such as 2x2x2, got {supercell!r}")
    return tuple(int(n) for n in reps)


def parse_supercell(text: str) -> tuple[int, int, int]:
    """Read ``2x2x2`` (or a single ``2`` for all three axes)."""
    parts = re.split(r"[x,*×\s]+", text.strip().lower())
    try:
        numbers = [int(p) for p in parts if p]
    except ValueError:
        numbers = []
    if len(numbers) == 1:
        numbers *= 3
    if len(numbers) != 3 or min(numbers) < 1:
        raise ThioglassError(f"cannot read supercell '{text}'; write three positive integers such as 2x2x2")
    return tuple(numbers)


def _table_rows(markdown: str) -> list[dict[str, str]]:
    lines = [ln.strip() for ln in markdown.splitlines() if ln.strip().startswith("|")]
    header = [h.strip() for h in lines[0].strip("|").split("|")]
    rows = []
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows.append(dict(zip(header, cells)))
    return rows


def _info(row: dict[str, str]) -> CrystalInfo:
    stored, literature = (_number(x) for x in row["density g/cm³ (stored / literature)"].split("/"))
    name = row["name"]
    return CrystalInfo(
        name=name,
        formula=re.sub(r"^[a-z]+-", "", name),
        space_group=row["space group"],
        source=row["source"],
        file=row["file"],
        phase=row["phase"],
        density_g_cm3=stored,
        literature_density_g_cm3=literature,
        notes=row["notes"],
    )


def _number(text: str) -> float:
    return float(re.sub(r"[^0-9.]", "", text))
