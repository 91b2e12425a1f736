"""Which reader a file needs, decided from its name, and the frame-selection syntax.

Formats are named as ASE names them where ASE reads them (``extxyz``, ``vasp``, ``cif``,
``lammps-data``); LAMMPS text dumps are ``lammps-dump``, read by :mod:`thioglass.io.lammps_dump`.
"""

from __future__ import annotations

from pathlib import Path

from thioglass.errors import ThioglassError

#: Formats whose files may hold many frames; they are streamed frame by frame.
TRAJECTORY_FORMATS: tuple[str, ...] = ("extxyz", "lammps-dump")

#: Formats that hold one structure.
SINGLE_FRAME_FORMATS: tuple[str, ...] = ("vasp", "cif", "lammps-data")

#: File-name suffix -> format: the one table that readers (:func:`detect_format`), the writer
#: (:func:`thioglass.io.write.structure_format`) and the labelled-data reader of
#: :mod:`thioglass.mlff.dataset` decide by.
SUFFIXES: dict[str, str] = {
    ".extxyz": "extxyz",
    ".xyz": "extxyz",
    ".vasp": "vasp",
    ".poscar": "vasp",
    ".cif": "cif",
    ".data": "lammps-data",
    ".lmp": "lammps-data",
    ".dump": "lammps-dump",
    ".lammpstrj": "lammps-dump",
}

#: Formats :func:`thioglass.io.write.write_structure` writes.
WRITABLE_FORMATS: tuple[str, ...] = ("extxyz", "lammps-data", "vasp", "cif")
#: File-name starts that name a format whatever follows (``POSCAR_relaxed``, ``dump.melt``).
_PREFIXES: dict[str, str] = {"poscar": "vasp", "contcar": "vasp", "dump.": "lammps-dump"}

_SUPPORTED = (
    ".extxyz/.xyz, POSCAR/CONTCAR/.vasp, .cif, .data/.lmp (LAMMPS data), "
    ".dump/.lammpstrj/dump.* (LAMMPS text dump), optionally gzipped (.gz) for the trajectories"
)


def is_gzipped(path: Path | str) -> bool:
    """True when the file name ends in ``.gz``."""
    return Path(path).name.lower().endswith(".gz")


def detect_format(path: Path | str) -> str:
    """Name the format of ``path`` from its file name.

    Parameters
    ----------
    path
        File name; a trailing ``.gz`` is ignored when deciding the format.

    Returns
    -------
    str
        One of :data:`TRAJECTORY_FORMATS` or :data:`SINGLE_FRAME_FORMATS`.
    """
    fmt = format_of_name(Path(path).name)
    if fmt is None:
        raise ThioglassError(
            f"cannot tell the format of '{path}' from its name; rename it to one of {_SUPPORTED}"
        )
    return fmt


def format_of_name(name: str) -> str | None:
    """The format a file name asks for (a trailing ``.gz`` ignored), or None."""
    lower = name.lower().removesuffix(".gz")
    for start, fmt in _PREFIXES.items():
        if lower.startswith(start):
            return fmt
    return SUFFIXES.get(Path(lower).suffix)


def parse_frames(frames: slice | int | str = ":") -> slice:
    """Turn a frame selection into a slice over frame indices (0-based, file order).

    Parameters
    ----------
    frames
        A slice, a single index, or a string ``"START:STOP:STEP"`` (any part may be empty,
        negative START/STOP count from the end as in Python) or ``"INDEX"`` (``"-1"`` is
        the last frame).

    Returns
    -------
    slice
        With a positive (or ``None``) step: trajectories are read in file order.
    """
    if isinstance(frames, slice):
        selection = frames
    elif isinstance(frames, int) and not isinstance(frames, bool):
        selection = _single_index(frames)
    elif isinstance(frames, str):
        selection = _parse_frame_string(frames)
    else:
        raise ThioglassError(f"frame selection {frames!r} is neither a slice, an index nor 'START:STOP:STEP'")
    if selection.step is not None and selection.step <= 0:
        raise ThioglassError(
            f"frame selection {frames!r} has step {selection.step}; frames are read in file order, "
            "so give a positive STEP"
        )
    return selection


def _single_index(index: int) -> slice:
    # -1 -> slice(-1, None): the last frame, not an empty range ending at it.
    return slice(index, index + 1 if index != -1 else None)


def _parse_frame_string(text: str) -> slice:
    parts = text.strip().split(":")
    if len(parts) > 3 or (len(parts) == 1 and not parts[0]):
        raise ThioglassError(f"frame selection '{text}' is not START:STOP:STEP (e.g. '100:', '::10', '-50:')")
    try:
        values = [int(p) if p.strip() else None for p in parts]
    except ValueError:
        raise ThioglassError(
            f"frame selection '{text}' is not START:STOP:STEP with integers (e.g. '100:', '::10', '-50:')"
        ) from None
    if len(values) == 1:
        return _single_index(values[0])
    return slice(*values)


def format_selection(selection: slice) -> str:
    """Write a slice back as ``START:STOP:STEP`` for messages."""
    text = ":".join("" if v is None else str(v) for v in (selection.start, selection.stop))
    return text if selection.step is None else f"{text}:{selection.step}"
