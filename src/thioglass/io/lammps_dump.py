"""Streaming reader for LAMMPS text dumps (``dump custom`` / ``dump atom``).

Why not ``ase.io.iread(..., format="lammps-dump-text")``: it streams, but it keeps neither
unwrapped coordinates nor image flags (the MSD needs them), maps types past the end of
``specorder`` to an ``IndexError``, and a frame cut short surfaces as a numpy parse error
without the frame number. This reader keeps one frame in memory at a time.

Conventions of the frames it returns:

* ``atoms.positions`` are wrapped into the cell, with the cell's origin moved to 0
  (LAMMPS' ``xlo ylo zlo`` is in ``atoms.info["box_origin"]``);
* ``atoms.arrays["unwrapped"]`` (when the dump has ``xu``/``xsu`` columns or image flags) are
  the unwrapped Cartesian coordinates in LAMMPS' own frame, not shifted by the origin, so that
  differences between frames are true displacements even when the box changes (NPT);
* ``atoms.arrays["id"]``, ``["type"]`` and ``["image"]`` when present; atoms are sorted by id;
* ``atoms.info["timestep"]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Sequence, TextIO

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers

from thioglass.elements import TYPE_MAP
from thioglass.errors import ThioglassError

_POSITION_SETS = (("x", "y", "z"), ("xs", "ys", "zs"), ("xu", "yu", "zu"), ("xsu", "ysu", "zsu"))
_IMAGE = ("ix", "iy", "iz")


@dataclass(frozen=True)
class DumpBox:
    """A LAMMPS box as ASE sees it.

    Attributes
    ----------
    cell
        Rows are the cell vectors a, b, c in Å (lower-triangular for a restricted triclinic box).
    origin
        LAMMPS' ``(xlo, ylo, zlo)`` (or the general-triclinic origin) in Å.
    pbc
        Periodicity along a, b, c.
    """

    cell: np.ndarray
    origin: np.ndarray
    pbc: tuple[bool, bool, bool]


@dataclass(frozen=True)
class DumpHeader:
    """The per-frame header of a dump: everything before the atom lines."""

    timestep: int | None
    n_atoms: int
    box: DumpBox
    columns: tuple[str, ...]


def parse_box(item: str, lines: Sequence[str]) -> DumpBox:
    """Build a :class:`DumpBox` from a ``BOX BOUNDS ...`` item and its three value lines.

    Follows the LAMMPS ``Howto triclinic`` page: the dump stores the bounding box of a tilted
    cell, so the tilt factors are removed from the bounds before taking the edge lengths.
    """
    tokens = item.split()[2:]
    rows = np.array([[float(v) for v in line.split()] for line in lines])
    flags = [t for t in tokens if t not in ("xy", "xz", "yz", "abc", "origin")]
    pbc = tuple("p" in f.lower() for f in flags[:3]) if len(flags) >= 3 else (True, True, True)
    if tokens[:1] == ["abc"]:
        return DumpBox(cell=rows[:, :3].copy(), origin=rows[:, 3].copy(), pbc=pbc)
    tilt = np.zeros(3)
    if rows.shape[1] >= 3:
        labels = [t for t in tokens if t in ("xy", "xz", "yz")] or ["xy", "xz", "yz"]
        tilt[[("xy", "xz", "yz").index(lab) for lab in labels]] = rows[:, 2]
    xy, xz, yz = tilt
    xlo = rows[0, 0] - min(0.0, xy, xz, xy + xz)
    xhi = rows[0, 1] - max(0.0, xy, xz, xy + xz)
    ylo = rows[1, 0] - min(0.0, yz)
    yhi = rows[1, 1] - max(0.0, yz)
    zlo, zhi = rows[2, 0], rows[2, 1]
    cell = np.array([[xhi - xlo, 0.0, 0.0], [xy, yhi - ylo, 0.0], [xz, yz, zhi - zlo]])
    return DumpBox(cell=cell, origin=np.array([xlo, ylo, zlo]), pbc=pbc)


class DumpReader:
    """Reads a LAMMPS text dump one frame at a time from an open text stream.

    Parameters
    ----------
    fd
        Open text stream positioned at the start of the dump.
    path
        Used in error messages only.
    type_map
        Element of each LAMMPS type (type 1 first); used when the dump has no ``element`` column.
    """

    def __init__(self, fd: TextIO, path: Path | str, type_map: Sequence[str]) -> None:
        self.fd = fd
        self.path = str(path)
        self.type_map = tuple(type_map)
        self.index = 0  # index of the frame about to be read
        self.timestep: int | None = None  # timestep of the last frame read or skipped
        self.frame_timestep: int | None = None  # the same (both readers have it)

    def skip(self) -> bool:
        """Step over the next frame without parsing its atoms; False at the end of the file."""
        header = self._read_header()
        if header is None:
            return False
        found = sum(1 for _ in islice(self.fd, header.n_atoms))
        self._check_count(header, found)
        self.index += 1
        return True

    def read(self) -> Atoms | None:
        """Parse the next frame; None at the end of the file."""
        header = self._read_header()
        if header is None:
            return None
        lines = list(islice(self.fd, header.n_atoms))
        self._check_count(header, len(lines))
        atoms = self._build(header, lines)
        self.index += 1
        return atoms

    # -- header -------------------------------------------------------------------------
    def _fail(self, what: str) -> ThioglassError:
        return ThioglassError(f"LAMMPS dump '{self.path}' frame {self.index}: {what}")

    def _truncated(self) -> ThioglassError:
        return self._fail(
            "the file ends inside this frame (truncated); drop the incomplete last frame "
            "or select earlier frames with --frames"
        )

    def _value_line(self) -> str:
        line = self.fd.readline()
        if not line:
            raise self._truncated()
        return line

    def _read_header(self) -> DumpHeader | None:
        timestep: int | None = None
        n_atoms: int | None = None
        box: DumpBox | None = None
        started = False
        while True:
            line = self.fd.readline()
            if not line:
                if started:
                    raise self._truncated()
                return None
            if not line.strip():
                continue
            if not line.startswith("ITEM:"):
                raise self._fail(f"expected an 'ITEM:' line, found '{line.strip()[:60]}'; the file is corrupt")
            started = True
            item = line[5:].strip()
            try:
                if item.startswith("TIMESTEP"):
                    timestep = int(self._value_line().split()[0])
                elif item.startswith("NUMBER OF ATOMS"):
                    n_atoms = int(self._value_line().split()[0])
                elif item.startswith("BOX BOUNDS"):
                    box = parse_box(item, [self._value_line() for _ in range(3)])
                elif item.startswith("ATOMS"):
                    self._check_order(timestep)
                    return self._header(timestep, n_atoms, box, tuple(item.split()[1:]))
                else:  # UNITS, TIME and other one-line items LAMMPS may add
                    self._value_line()
            except ThioglassError:
                raise
            except (ValueError, IndexError):
                raise self._fail(f"cannot parse the '{item[:40]}' item; the file is corrupt") from None

    def _check_order(self, timestep: int | None) -> None:
        # Two writers appending to one dump (a rerun beside an orphaned LAMMPS) repeat or rewind timesteps.
        if timestep is not None and self.timestep is not None and timestep <= self.timestep:
            kind = "repeats" if timestep == self.timestep else "goes back from"
            raise self._fail(
                f"timestep {timestep} {kind} {self.timestep}; timesteps must increase (two runs wrote into this "
                "file?): rerun the MD into a new folder"
            )
        self.timestep = self.frame_timestep = timestep

    def _header(
        self, timestep: int | None, n_atoms: int | None, box: DumpBox | None, columns: tuple[str, ...]
    ) -> DumpHeader:
        if n_atoms is None or box is None:
            raise self._fail("the ATOMS item comes before NUMBER OF ATOMS or BOX BOUNDS; the file is corrupt")
        if n_atoms <= 0:
            raise self._fail(f"NUMBER OF ATOMS is {n_atoms}; a frame needs atoms")
        if not any(set(s) <= set(columns) for s in _POSITION_SETS):
            raise self._fail(
                f"columns {' '.join(columns)} hold no coordinates; dump x y z, xs ys zs, xu yu zu or xsu ysu zsu"
            )
        if "element" not in columns and "type" not in columns:
            raise self._fail("the dump has neither an 'element' nor a 'type' column; add one to the dump command")
        return DumpHeader(timestep=timestep, n_atoms=n_atoms, box=box, columns=columns)

    def _check_count(self, header: DumpHeader, found: int) -> None:
        if found < header.n_atoms:
            raise self._fail(
                f"expected {header.n_atoms} atom lines, the file ends after {found} (truncated); "
                "drop the incomplete last frame or select earlier frames with --frames"
            )

    # -- atoms --------------------------------------------------------------------------
    def _build(self, header: DumpHeader, lines: list[str]) -> Atoms:
        columns = header.columns
        numeric = [i for i, name in enumerate(columns) if name != "element"]
        col = {columns[i]: k for k, i in enumerate(numeric)}
        try:
            table = np.loadtxt(lines, usecols=numeric, ndmin=2, comments=None)
            elements = (
                np.loadtxt(lines, usecols=columns.index("element"), dtype=str, ndmin=1, comments=None)
                if "element" in columns
                else None
            )
        except ValueError:
            raise self._fail(
                f"an atom line is not {len(columns)} values for {' '.join(columns)}; the file is corrupt or truncated"
            ) from None
        if "id" in col:
            order = np.argsort(table[:, col["id"]], kind="stable")
            table = table[order]
            elements = elements[order] if elements is not None else None
        numbers = self._numbers(table, col, elements)
        positions, unwrapped = _coordinates(table, col, header.box)
        atoms = Atoms(numbers=numbers, positions=positions, cell=header.box.cell, pbc=header.box.pbc)
        atoms.wrap()
        if unwrapped is not None:
            atoms.arrays["unwrapped"] = unwrapped
        for name in ("id", "type"):
            if name in col:
                atoms.arrays[name] = table[:, col[name]].astype(np.int64)
        if set(_IMAGE) <= set(col):
            atoms.arrays["image"] = table[:, [col[c] for c in _IMAGE]].astype(np.int64)
        atoms.info["timestep"] = header.timestep
        atoms.info["box_origin"] = header.box.origin.copy()
        return atoms

    def _numbers(self, table: np.ndarray, col: dict[str, int], elements: np.ndarray | None) -> np.ndarray:
        if elements is not None:
            symbols, inverse = np.unique(elements, return_inverse=True)
            unknown = [str(s) for s in symbols if s not in atomic_numbers]
            if unknown:
                raise self._fail(f"unknown element(s) {', '.join(unknown)} in the 'element' column")
            return np.array([atomic_numbers[s] for s in symbols])[inverse]
        types = table[:, col["type"]].astype(np.int64)
        if types.min() < 1 or types.max() > len(self.type_map):
            raise self._fail(
                f"atom types run from {types.min()} to {types.max()} but the type map "
                f"{','.join(self.type_map)} names {len(self.type_map)}; pass --type-map with one element "
                "per LAMMPS type, in type order"
            )
        lookup = np.array([0] + [atomic_numbers[s] for s in self.type_map])
        return lookup[types]


def _coordinates(table: np.ndarray, col: dict[str, int], box: DumpBox) -> tuple[np.ndarray, np.ndarray | None]:
    """Wrapped positions relative to the box origin, and unwrapped LAMMPS-frame ones if known."""

    def block(names: tuple[str, ...]) -> np.ndarray | None:
        if not set(names) <= set(col):
            return None
        return table[:, [col[n] for n in names]]

    cart, scaled, cart_u, scaled_u = (block(names) for names in _POSITION_SETS)
    image = block(_IMAGE)
    if cart is not None:
        absolute = cart
    elif scaled is not None:
        absolute = scaled @ box.cell + box.origin
    elif cart_u is not None:
        absolute = cart_u
    else:
        absolute = scaled_u @ box.cell + box.origin
    if cart_u is not None:
        unwrapped = cart_u
    elif scaled_u is not None:
        unwrapped = scaled_u @ box.cell + box.origin
    elif image is not None:
        unwrapped = absolute + image @ box.cell
    else:
        unwrapped = None
    return absolute - box.origin, unwrapped


def dump_frame_text(atoms: Atoms, timestep: int = 0, type_map: Sequence[str] | None = None) -> str:
    """One frame of a LAMMPS text dump (``id type x y z``) for ``atoms``.

    The cell must be in LAMMPS' restricted triclinic form (lower-triangular rows a, b, c as ASE
    stores them), as every cell thioglass builds is. Types follow ``type_map`` (default TYPE_MAP).
    """
    types_of = {el: i + 1 for i, el in enumerate(type_map or TYPE_MAP)}
    missing = sorted(set(atoms.get_chemical_symbols()) - set(types_of))
    if missing:
        raise ThioglassError(f"elements {missing} are not in the type map {list(types_of)}; extend the type map")
    cell = atoms.cell.array
    if np.any(np.abs(cell[np.triu_indices(3, 1)]) > 1e-10):
        raise ThioglassError("the cell is not lower-triangular (LAMMPS form); standardise it before writing a dump")
    (lx, _, _), (xy, ly, _), (xz, yz, lz) = cell
    tilted = bool(np.any(np.abs([xy, xz, yz]) > 0.0))
    x_lo, x_hi = min(0.0, xy, xz, xy + xz), lx + max(0.0, xy, xz, xy + xz)
    y_lo, y_hi = min(0.0, yz), ly + max(0.0, yz)
    if tilted:
        box = f"ITEM: BOX BOUNDS xy xz yz pp pp pp\n{x_lo} {x_hi} {xy}\n{y_lo} {y_hi} {xz}\n0.0 {lz} {yz}\n"
    else:
        box = f"ITEM: BOX BOUNDS pp pp pp\n0.0 {lx}\n0.0 {ly}\n0.0 {lz}\n"
    types = np.array([types_of[s] for s in atoms.get_chemical_symbols()])
    rows = "\n".join(
        f"{i + 1} {t} {x:.6f} {y:.6f} {z:.6f}" for i, (t, (x, y, z)) in enumerate(zip(types, atoms.positions))
    )
    return f"ITEM: TIMESTEP\n{timestep}\nITEM: NUMBER OF ATOMS\n{len(atoms)}\n{box}ITEM: ATOMS id type x y z\n{rows}\n"
