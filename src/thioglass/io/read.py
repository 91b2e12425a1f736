"""Read structures and trajectories as a stream of :class:`ase.Atoms`.

:func:`iter_frames` never holds more than one frame: trajectories (extxyz, LAMMPS dumps) are
parsed frame by frame and frames outside the selection are stepped over without being parsed.
Single-structure formats (POSCAR, CIF, LAMMPS data) are read with ASE.

Unwrapped coordinates, where a file carries them, are kept in ``atoms.arrays["unwrapped"]``
(Cartesian Å): from LAMMPS dumps (``xu yu zu``, ``xsu ysu zsu``, or wrapped coordinates plus
``ix iy iz``; see :mod:`thioglass.io.lammps_dump` for the frame convention), from LAMMPS data
files (positions plus image flags times the cell), and from extxyz files that have an
``unwrapped`` per-atom column. ``atoms.positions`` are always wrapped into the cell.
"""

from __future__ import annotations

import gzip
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Iterator, Sequence, TextIO

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers

from thioglass.elements import TYPE_MAP
from thioglass.errors import ThioglassError
from thioglass.io.extxyz import XYZReader
from thioglass.io.formats import (
    SINGLE_FRAME_FORMATS,
    TRAJECTORY_FORMATS,
    detect_format,
    format_selection,
    is_gzipped,
    parse_frames,
)
from thioglass.io.lammps_dump import DumpReader

_BLOCK_BYTES = 1 << 22


def iter_frames(
    path: Path | str,
    frames: slice | int | str = ":",
    type_map: Sequence[str] | None = None,
    fmt: str | None = None,
) -> Iterator[Atoms]:
    """Yield the selected frames of a structure or trajectory file, one at a time.

    Parameters
    ----------
    path
        extxyz/xyz, POSCAR/CONTCAR/.vasp, CIF, LAMMPS data (.data, .lmp) or LAMMPS text dump
        (.dump, .lammpstrj, dump.*); trajectories may be gzipped.
    frames
        ``"START:STOP:STEP"`` (Python slice semantics, negative START/STOP count from the end),
        a single index, or a slice. Negative indices cost one extra pass to count frames.
    type_map
        Element of each LAMMPS atom type, type 1 first. Used by dumps without an ``element``
        column (default :data:`thioglass.elements.TYPE_MAP`) and, when given, overrides the
        masses of a LAMMPS data file.
    fmt
        Format name (see :mod:`thioglass.io.formats`) when the file name does not tell it.

    Returns
    -------
    Iterator[ase.Atoms]
        A new object per frame, positions wrapped into the cell. The file name, format, type
        map and selection are checked at once; a damaged frame raises when it is reached.
    """
    path = _existing(path)
    fmt = _format(path, fmt)
    types = _check_type_map(type_map)
    selection = parse_frames(frames)
    if _needs_count(selection):
        selection = slice(*selection.indices(count_frames(path, fmt=fmt)))
    return _selected(path, fmt, types, selection, format_selection(parse_frames(frames)))


def read_frame(
    path: Path | str, index: int = -1, type_map: Sequence[str] | None = None, fmt: str | None = None
) -> Atoms:
    """Read one frame (by default the last) of a structure or trajectory file."""
    return next(iter_frames(path, index, type_map=type_map, fmt=fmt))


def count_frames(path: Path | str, fmt: str | None = None) -> int:
    """Number of frames in a file, by scanning headers only (atoms are not parsed).

    A trajectory is read once at the speed of the disk; single-structure formats count 1.
    A truncated last frame raises :class:`ThioglassError`.
    """
    path = _existing(path)
    fmt = _format(path, fmt)
    if fmt not in TRAJECTORY_FORMATS:
        return 1
    with _open_text(path) as fd:
        reader = _trajectory_reader(fd, path, fmt, TYPE_MAP)
        while reader.skip():
            pass
        return reader.index


def frame_timesteps(path: Path | str, fmt: str | None = None) -> list[int | None]:
    """The timestep of every frame of a trajectory, by scanning headers only (None where a frame has none).

    Raises :class:`ThioglassError` at the first repeated or backward timestep, and on a truncated frame.
    """
    path = _existing(path)
    fmt = _format(path, fmt)
    if fmt not in TRAJECTORY_FORMATS:
        return [None]
    steps: list[int | None] = []
    with _open_text(path) as fd:
        reader = _trajectory_reader(fd, path, fmt, TYPE_MAP)
        while reader.skip():
            steps.append(reader.frame_timestep)
    return steps


def _selected(
    path: Path, fmt: str, types: tuple[str, ...] | None, selection: slice, asked: str
) -> Iterator[Atoms]:
    start, stop, step = selection.start or 0, selection.stop, selection.step or 1
    n_yielded = 0
    try:
        for atoms in _raw_frames(path, fmt, types, start, stop, step):
            n_yielded += 1
            yield atoms
    except (EOFError, gzip.BadGzipFile) as err:
        raise ThioglassError(f"'{path}' is a damaged gzip file ({err}); recompress or unzip it") from None
    if n_yielded == 0 and count_frames(path, fmt=fmt) == 0:
        raise ThioglassError(f"'{path}' holds no frames (only blank lines); give a structure or trajectory file")
    if n_yielded == 0:
        raise ThioglassError(
            f"frame selection '{asked}' picks no frame of '{path}' ({count_frames(path, fmt=fmt)} frames); "
            "choose START/STOP inside the file"
        )


def _raw_frames(
    path: Path, fmt: str, types: tuple[str, ...] | None, start: int, stop: int | None, step: int
) -> Iterator[Atoms]:
    if fmt not in TRAJECTORY_FORMATS:
        if start == 0 and (stop is None or stop > 0):
            yield _read_single(path, fmt, types)
        return
    with _open_text(path) as fd:
        reader = _trajectory_reader(fd, path, fmt, types or TYPE_MAP)
        index = 0
        while stop is None or index < stop:
            wanted = index >= start and (index - start) % step == 0
            if wanted:
                atoms = reader.read()
                if atoms is None:
                    return
                yield atoms
            elif not reader.skip():
                return
            index += 1


def _trajectory_reader(fd: TextIO, path: Path, fmt: str, types: Sequence[str]) -> XYZReader | DumpReader:
    if fmt == "extxyz":
        return XYZReader(fd, path)
    return DumpReader(fd, path, types)


def _read_single(path: Path, fmt: str, types: tuple[str, ...] | None) -> Atoms:
    import ase.io

    kwargs: dict = {}
    if fmt == "lammps-data":
        kwargs = {"units": "metal", "read_image_flags": True}
        if types is not None:
            kwargs["Z_of_type"] = {i + 1: atomic_numbers[s] for i, s in enumerate(types)}
    try:
        atoms = ase.io.read(path, index=0, format=fmt, **kwargs)
    except KeyError as err:  # ASE's symbol lookup: an element name it does not know
        raise ThioglassError(f"'{path}' names an unknown element {err.args[0]!r}; name atoms by element symbol "
                             "(Li, Si, P, S, ...)") from None
    except Exception as err:  # ASE raises many types for malformed files
        message = (str(err).splitlines() or [type(err).__name__])[0][:120]
        raise ThioglassError(
            f"cannot read '{path}' as {fmt} ({message}); check the file, or its extension if it is another format"
        ) from None
    if fmt == "lammps-data":
        # ASE added image flags times the cell to the positions; like the dump reader, keep
        # those in LAMMPS' frame and move the wrapped positions to a cell starting at 0.
        origin = _lammps_data_origin(path)
        atoms.arrays["unwrapped"] = atoms.positions.copy()
        atoms.positions -= origin
        atoms.info["box_origin"] = origin
    if atoms.cell.rank == 3:
        atoms.wrap()
    return atoms


def _lammps_data_origin(path: Path) -> np.ndarray:
    """``(xlo, ylo, zlo)`` from a LAMMPS data file's header (ASE does not keep it)."""
    origin = np.zeros(3)
    with _open_text(path) as fd:
        for line in islice(fd, 200):
            fields = line.split("#")[0].split()
            for axis, label in enumerate(("xlo", "ylo", "zlo")):
                if len(fields) == 4 and fields[2] == label:
                    origin[axis] = float(fields[0])
            if fields and fields[0] in ("Masses", "Atoms"):
                break
    return origin


def _format(path: Path, fmt: str | None) -> str:
    if fmt is None:
        return detect_format(path)
    if fmt not in TRAJECTORY_FORMATS + SINGLE_FRAME_FORMATS:
        raise ThioglassError(
            f"unknown format '{fmt}'; use one of {', '.join(TRAJECTORY_FORMATS + SINGLE_FRAME_FORMATS)}"
        )
    return fmt


def _needs_count(selection: slice) -> bool:
    return any(v is not None and v < 0 for v in (selection.start, selection.stop))


def _check_type_map(type_map: Sequence[str] | None) -> tuple[str, ...] | None:
    if type_map is None:
        return None
    types = tuple(s.strip() for s in type_map)
    bad = [s for s in types if s not in atomic_numbers or s == "X"]
    if not types or bad:
        raise ThioglassError(
            f"type map {','.join(types)!r} names unknown elements {bad}; give element symbols in LAMMPS "
            "type order, e.g. Li,Si,P,S"
        )
    return types


def _existing(path: Path | str) -> Path:
    path = Path(path)
    if not path.exists():
        raise ThioglassError(f"file '{path}' does not exist; check the path")
    if not path.is_file():
        raise ThioglassError(f"'{path}' is not a file; give a structure or trajectory file")
    if path.stat().st_size == 0:
        raise ThioglassError(f"'{path}' is empty (0 bytes); give a structure or trajectory file")
    return path


@contextmanager
def _open_text(path: Path) -> Iterator[TextIO]:
    if is_gzipped(path):
        with gzip.open(path, "rt", errors="replace") as fd:
            yield fd
        return
    # Undecodable bytes become U+FFFD so that garbage is reported as a corrupt frame.
    with open(path, "r", buffering=_BLOCK_BYTES, errors="replace") as fd:
        yield fd

