"""Periodic neighbour lists for every structural analysis, built on vesin.

A neighbour is a pair ``(j, shift)``: atom ``j`` translated by ``shift`` (integer multiples of the cell
vectors), so periodic images are distinct neighbours. This is what makes bond counting right in cells
smaller than twice the cutoff, where an atom can meet several images of the same partner (or of itself).
vesin handles cutoffs larger than half the cell width and any triclinic cell (checked against
``ase.neighborlist`` in the tests), so no supercell is built here.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np
import vesin
import vesin._neighbors
from ase import Atoms

from thioglass.errors import ThioglassError

_memory_view = ctypes.pythonapi.PyMemoryView_FromMemory
_memory_view.restype = ctypes.py_object
_memory_view.argtypes = (ctypes.c_void_p, ctypes.c_ssize_t, ctypes.c_int)
_PYBUF_READ = 0x100


#: vesin releases whose ``_ptr_to_numpy`` leaks (see below); the pin in pyproject.toml is one of them.
#: A newer vesin is used as it is: check tests/test_neighbors.py's memory test before adding it here.
LEAKY_VESIN_VERSIONS = ("0.6.2",)


def _ptr_to_numpy(ptr, shape, dtype, owner, device):  # noqa: ANN001 - vesin's private signature
    # vesin 0.6.2 views its output through np.ctypeslib.as_array, which creates (and ctypes caches
    # forever) a new array type for every list length: memory grows with the number of frames
    # analysed (~6 MB per 500 lists). A plain memoryview of the same buffer has no such cache;
    # vesin copies the view right away (copy=True), so the buffer's lifetime is unchanged.
    count = int(np.prod(shape))
    size = count * ctypes.sizeof(dtype)
    view = _memory_view(ctypes.cast(ptr, ctypes.c_void_p), size, _PYBUF_READ)
    return np.frombuffer(view, dtype=np.dtype(dtype), count=count).reshape(shape)


if vesin.__version__ in LEAKY_VESIN_VERSIONS:
    vesin._neighbors._ptr_to_numpy = _ptr_to_numpy

#: Below this volume (Å^3) a cell is treated as missing: ASE gives a zero cell to files without one.
_MIN_VOLUME_A3 = 1e-6


@dataclass(frozen=True)
class NeighborPairs:
    """All pairs closer than a cutoff, listed in both directions (``i -> j`` and ``j -> i``).

    Attributes
    ----------
    i, j : numpy.ndarray of int64, shape (n_pairs,)
        Indices of the central atom and of its neighbour.
    distance : numpy.ndarray of float64, shape (n_pairs,)
        ``|r_j + shift @ cell - r_i|`` in Å.
    shift : numpy.ndarray of int64, shape (n_pairs, 3)
        Cell translation applied to atom ``j``.
    """

    i: np.ndarray
    j: np.ndarray
    distance: np.ndarray
    shift: np.ndarray

    def __len__(self) -> int:
        return int(self.i.size)


def cell_volume_angstrom3(atoms: Atoms) -> float:
    """Volume of a fully periodic cell in Å^3.

    Raises
    ------
    ThioglassError
        If the frame is empty, not periodic in all three directions, has no (zero-volume) cell or
        has non-finite positions: every analysis checks its frames here.
    """
    if len(atoms) == 0:
        raise ThioglassError("the structure has no atoms; check the input file")
    if not np.all(np.isfinite(atoms.positions)):
        raise ThioglassError("the structure has NaN or infinite positions; the input file is corrupt")
    if not np.all(atoms.pbc):
        raise ThioglassError(
            f"structure analysis needs a cell periodic in x, y and z (pbc is {atoms.pbc.tolist()}); "
            "give a file with a periodic cell (extxyz Lattice=..., POSCAR, CIF, LAMMPS data or dump)"
        )
    volume = abs(float(np.linalg.det(atoms.cell.array)))
    if not np.isfinite(volume) or volume < _MIN_VOLUME_A3:
        raise ThioglassError(
            "the structure has no cell (zero volume); give a file that stores the periodic cell"
        )
    return volume


def no_frames_error() -> ThioglassError:
    """The error every accumulator raises when asked for a result before any frame."""
    return ThioglassError("no frames were analysed; check the --frames selection and the input file")


def neighbor_list(atoms: Atoms, cutoff_angstrom: float, full_list: bool = True) -> NeighborPairs:
    """Every pair of atoms (periodic images included) closer than ``cutoff_angstrom``.

    Parameters
    ----------
    atoms
        A fully periodic frame with any triclinic cell; positions need not be wrapped.
    cutoff_angstrom
        Pair cutoff in Å; it may exceed half the cell width.
    full_list
        ``True`` (default) lists each pair in both directions; ``False`` lists it once.

    Returns
    -------
    NeighborPairs
    """
    cell_volume_angstrom3(atoms)
    if not cutoff_angstrom > 0:
        raise ThioglassError(f"the neighbour cutoff must be positive, got {cutoff_angstrom} Å")
    calculator = vesin.NeighborList(cutoff=float(cutoff_angstrom), full_list=full_list)
    i, j, shift, distance = calculator.compute(
        points=np.ascontiguousarray(atoms.positions, dtype=np.float64),
        box=np.ascontiguousarray(atoms.cell.array, dtype=np.float64),
        periodic=True,
        quantities="ijSd",
    )
    return NeighborPairs(
        i=i.astype(np.int64),
        j=j.astype(np.int64),
        distance=np.asarray(distance, dtype=np.float64),
        shift=shift.astype(np.int64),
    )


def pair_distances(
    atoms: Atoms, cutoff_angstrom: float, calculator: vesin.NeighborList | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Half list ``(i, j, distance)``: each pair closer than the cutoff once, periodic images included.

    The lean path for histograms (no shifts, no dtype conversions). ``calculator`` lets a caller
    reuse one ``vesin.NeighborList(cutoff=..., full_list=False)`` across frames; the arrays are then
    views into it, valid only until its next ``compute``.
    """
    cell_volume_angstrom3(atoms)
    owned = calculator is None
    if owned:
        calculator = vesin.NeighborList(cutoff=float(cutoff_angstrom), full_list=False)
    i, j, distance = calculator.compute(
        points=np.ascontiguousarray(atoms.positions, dtype=np.float64),
        box=np.ascontiguousarray(atoms.cell.array, dtype=np.float64),
        periodic=True,
        quantities="ijd",
        copy=owned,
    )
    return i, j, distance
