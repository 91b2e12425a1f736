"""Streaming readers: formats round-trip, LAMMPS conventions, frame selection, errors, laziness."""

from __future__ import annotations

import gzip
from pathlib import Path

import ase.io
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.geometry import find_mic

from thioglass.errors import ThioglassError
from thioglass.io import count_frames, detect_format, iter_frames, parse_frames, read_frame
from thioglass.io.lammps_dump import dump_frame_text

STRUCTURES = Path(__file__).resolve().parents[1] / "src" / "thioglass" / "data" / "structures"

# Written by LAMMPS 22 Jul 2025 (atom_style atomic, a tilted box deformed between the two frames,
# atoms that crossed the boundaries): `dump custom ... id type xu yu zu ix iy iz x y z`, then
# `write_data` of the last frame. Types 1, 2, 3 are Li, P, S.
LAMMPS_DUMP = """\
ITEM: TIMESTEP
0
ITEM: NUMBER OF ATOMS
8
ITEM: BOX BOUNDS xy xz yz pp pp pp
-2.2000000000000002e+00 6.5000000000000000e+00 1.5000000000000000e+00
5.0000000000000000e-01 7.2999999999999998e+00 -1.2000000000000000e+00
-2.0000000000000000e+00 4.0000000000000000e+00 8.0000000000000004e-01
ITEM: ATOMS id type xu yu zu ix iy iz x y z
7 3 -0.08472326984 3.04492252 -1.547527994 0 0 0 -0.08472326984 3.04492252 -1.547527994
3 1 2.526935434 5.114499687 -0.3268539274 0 0 0 2.526935434 5.114499687 -0.3268539274
1 1 5.091776119 4.158888267 0.236858884 0 0 0 5.091776119 4.158888267 0.236858884
2 1 5.51889487 5.006820381 -1.179291832 0 0 0 5.51889487 5.006820381 -1.179291832
4 1 -0.5505456444 3.766622428 3.049828663 0 0 0 -0.5505456444 3.766622428 3.049828663
5 2 3.401218781 4.942707722 2.048842692 0 0 0 3.401218781 4.942707722 2.048842692
6 2 2.003726523 6.777634838 3.478286821 0 0 0 2.003726523 6.777634838 3.478286821
8 3 1.710661443 5.726527177 3.8608265 0 0 0 1.710661443 5.726527177 3.8608265
ITEM: TIMESTEP
20
ITEM: NUMBER OF ATOMS
8
ITEM: BOX BOUNDS xy xz yz pp pp pp
-2.5000000000000000e+00 7.3000000000000007e+00 2.0000000000000000e+00
5.0000000000000000e-01 7.2999999999999998e+00 -1.2000000000000000e+00
-2.0000000000000000e+00 4.0000000000000000e+00 8.0000000000000004e-01
ITEM: ATOMS id type xu yu zu ix iy iz x y z
7 3 -0.6805010713 2.15230382 -1.480931055 0 0 0 -0.6805010713 2.15230382 -1.480931055
3 1 -0.5107845887 6.879252339 1.260458998 -1 0 0 6.089215411 6.879252339 1.260458998
1 1 1.806121874 2.100130557 2.357249787 0 0 0 1.806121874 2.100130557 2.357249787
2 1 5.735137996 5.750966888 -2.807797528 0 0 -1 4.535137996 6.550966888 3.192202472
4 1 2.515046321 3.468034043 3.520253429 0 0 0 2.515046321 3.468034043 3.520253429
5 2 4.845698805 3.918813244 0.9069590747 0 0 0 4.845698805 3.918813244 0.9069590747
6 2 2.447560451 7.858854836 2.185066826 0 1 0 0.4475604513 1.858854836 2.185066826
8 3 2.61391121 6.530962795 5.594628062 0 0 1 3.81391121 5.730962795 -0.4053719375
"""

LAMMPS_DATA = """\
LAMMPS data file via write_data, version 22 Jul 2025, timestep = 20, units = metal

8 atoms
3 atom types

-1.3000000000000003 5.300000000000001 xlo xhi
0.5 6.5 ylo yhi
-2 4 zlo zhi
2 -1.2 0.8 xy xz yz

Masses

1 6.94
2 30.97
3 32.06

Atoms # atomic

7 3 -0.6805010712624048 2.1523038203648026 -1.4809310554796133 0 0 0
3 1 6.089215411265661 6.87925233853228 1.2604589976451153 -1 0 0
1 1 1.8061218738482978 2.1001305567360258 2.3572497869532274 0 0 0
2 1 4.5351379955208895 6.550966887798399 3.192202472456543 0 0 -1
4 1 2.5150463212227536 3.4680340431255385 3.5202534289323744 0 0 0
5 2 4.845698805310779 3.918813244286608 0.9069590746746989 0 0 0
6 2 0.4475604512749176 1.8588548363439332 2.1850668264236077 0 1 0
8 3 3.8139112097048105 5.730962794921553 -0.4053719375025069 0 0 1
"""


def _same_wrapped(a: Atoms, b: Atoms, tol: float = 1e-6) -> bool:
    """Positions equal up to lattice translations."""
    delta, _ = find_mic(a.positions - b.positions, a.cell)
    return bool(np.abs(delta).max() < tol)


def _frames(n: int = 5) -> list[Atoms]:
    base = bulk("Li", "bcc", a=3.5, cubic=True).repeat(2)
    base.symbols[::3] = "S"
    frames = []
    for k in range(n):
        frame = base.copy()
        frame.rattle(0.05, seed=k)
        frame.info["step"] = k
        frames.append(frame)
    return frames


# -- formats -------------------------------------------------------------------------------------
def test_multiframe_extxyz_round_trip(tmp_path):
    frames = _frames()
    path = tmp_path / "traj.extxyz"
    ase.io.write(path, frames)
    back = list(iter_frames(path))
    assert len(back) == len(frames) == count_frames(path)
    for original, read in zip(frames, back):
        assert read.get_chemical_symbols() == original.get_chemical_symbols()
        assert np.allclose(read.cell, original.cell)
        assert _same_wrapped(read, original)
        assert read.info["step"] == original.info["step"]


@pytest.mark.parametrize("name", ["POSCAR", "cell.vasp", "cell.cif", "cell.data"])
def test_single_frame_round_trip(tmp_path, name):
    original = _frames(1)[0]
    path = tmp_path / name
    if name.endswith(".data"):
        ase.io.write(path, original, format="lammps-data", specorder=["Li", "Si", "P", "S"], masses=True)
    else:
        ase.io.write(path, original)
    (read,) = list(iter_frames(path))
    assert sorted(read.get_chemical_symbols()) == sorted(original.get_chemical_symbols())
    assert np.allclose(read.cell.cellpar(), original.cell.cellpar(), atol=1e-5)
    assert count_frames(path) == 1


def test_lammps_data_elements_from_masses_or_type_map(tmp_path):
    path = tmp_path / "cell.data"
    path.write_text(LAMMPS_DATA)
    assert read_frame(path).get_chemical_formula() == "Li4P2S2"  # masses 6.94, 30.97, 32.06
    relabelled = read_frame(path, type_map=["Na", "Si", "Se"])
    assert relabelled.get_chemical_formula() == "Na4Se2Si2"


def test_every_bundled_crystal_reads():
    files = sorted(p for p in STRUCTURES.iterdir() if p.suffix in (".vasp", ".cif"))
    assert len(files) >= 8
    for path in files:
        atoms = read_frame(path)
        assert len(atoms) > 0 and atoms.cell.volume > 10.0, path.name
        assert set(atoms.get_chemical_symbols()) <= {"Li", "Si", "Ge", "P", "S"}, path.name


# -- LAMMPS dumps --------------------------------------------------------------------------------
def test_lammps_dump_matches_lammps_data_file(tmp_path):
    """The last dump frame and LAMMPS' own data file of it describe the same atoms and cell."""
    dump, data = tmp_path / "md.lammpstrj", tmp_path / "md.data"
    dump.write_text(LAMMPS_DUMP)
    data.write_text(LAMMPS_DATA)
    frames = list(iter_frames(dump, type_map=["Li", "P", "S"]))
    reference = read_frame(data, type_map=["Li", "P", "S"])
    last = frames[-1]
    assert [f.info["timestep"] for f in frames] == [0, 20]
    assert np.allclose(last.cell, reference.cell, atol=1e-9)
    assert np.allclose(last.positions, reference.positions, atol=1e-8)
    assert np.allclose(last.arrays["unwrapped"], reference.arrays["unwrapped"], atol=1e-8)
    assert last.get_chemical_symbols() == reference.get_chemical_symbols()
    assert list(last.arrays["id"]) == list(range(1, 9))
    # The box changed between frames (x stretched by 10 %, xy tilt 1.5 -> 2.0).
    assert frames[0].cell[1, 0] == pytest.approx(1.5) and last.cell[1, 0] == pytest.approx(2.0)
    assert last.cell[0, 0] == pytest.approx(1.1 * frames[0].cell[0, 0])
    scaled = last.get_scaled_positions(wrap=False)
    assert scaled.min() >= 0.0 and scaled.max() < 1.0


def _column_subset(text: str, columns: list[str]) -> str:
    """Rewrite LAMMPS_DUMP keeping only ``columns`` (in the order given)."""
    out, names = [], None
    for line in text.splitlines():
        if line.startswith("ITEM: ATOMS"):
            names = line.split()[2:]
            out.append("ITEM: ATOMS " + " ".join(columns))
        elif names and not line.startswith("ITEM"):
            values = dict(zip(names, line.split()))
            out.append(" ".join(values[c] for c in columns))
        else:
            names = None if line.startswith("ITEM: TIMESTEP") else names
            out.append(line)
    return "\n".join(out) + "\n"


@pytest.mark.parametrize(
    "columns",
    [
        ["type", "z", "x", "id", "y", "iz", "ix", "iy"],  # wrapped + image flags, shuffled order
        ["xu", "yu", "zu", "id", "type"],  # unwrapped only
    ],
)
def test_dump_column_orders_give_same_frames(tmp_path, columns):
    full, subset = tmp_path / "full.dump", tmp_path / "subset.dump"
    full.write_text(LAMMPS_DUMP)
    subset.write_text(_column_subset(LAMMPS_DUMP, columns))
    for a, b in zip(iter_frames(full, type_map=["Li", "P", "S"]), iter_frames(subset, type_map=["Li", "P", "S"])):
        assert _same_wrapped(a, b, tol=1e-7)
        assert np.allclose(a.arrays["unwrapped"], b.arrays["unwrapped"], atol=1e-7)


def _triclinic_cell(k: int) -> np.ndarray:
    return np.array([[9.0 + 0.3 * k, 0, 0], [1.2 - 0.5 * k, 8.5, 0], [-0.7, 0.4 * k, 10.0]])


def _hand_dump(frames: list[Atoms], images: list[np.ndarray], element_column: bool, rng) -> str:
    """A dump written from the LAMMPS manual's bounding-box rules, ids shuffled, scaled coordinates."""
    blocks = []
    for step, (atoms, image) in enumerate(zip(frames, images)):
        (lx, _, _), (xy, ly, _), (xz, yz, lz) = atoms.cell.array
        origin = np.array([-3.0, 1.0, 0.5 * step])
        xlo, ylo, zlo = origin
        bounds = (
            f"{xlo + min(0, xy, xz, xy + xz)} {xlo + lx + max(0, xy, xz, xy + xz)} {xy}\n"
            f"{ylo + min(0, yz)} {ylo + ly + max(0, yz)} {xz}\n{zlo} {zlo + lz} {yz}\n"
        )
        cols = "id element xs ys zs ix iy iz" if element_column else "id type xs ys zs ix iy iz"
        lines = []
        for i in rng.permutation(len(atoms)):
            label = atoms[i].symbol if element_column else {"Li": 1, "P": 3, "S": 4}[atoms[i].symbol]
            s = atoms.get_scaled_positions()[i]
            flags = " ".join(str(v) for v in image[i])
            lines.append(f"{i + 1} {label} {s[0]:.12f} {s[1]:.12f} {s[2]:.12f} {flags}")
        blocks.append(
            f"ITEM: TIMESTEP\n{100 * step}\nITEM: NUMBER OF ATOMS\n{len(atoms)}\n"
            f"ITEM: BOX BOUNDS xy xz yz pp pp pp\n{bounds}ITEM: ATOMS {cols}\n" + "\n".join(lines) + "\n"
        )
    return "".join(blocks)


@pytest.mark.parametrize("element_column", [True, False])
def test_hand_written_triclinic_dump(tmp_path, element_column):
    rng = np.random.default_rng(3)
    symbols = ["Li"] * 6 + ["P"] * 2 + ["S"] * 4
    frames, images = [], []
    for k in range(3):
        cell = _triclinic_cell(k)
        frames.append(Atoms(symbols, scaled_positions=rng.random((12, 3)), cell=cell, pbc=True))
        images.append(rng.integers(-2, 3, size=(12, 3)))
    path = tmp_path / "dump.glass"
    path.write_text(_hand_dump(frames, images, element_column, rng))
    assert detect_format(path) == "lammps-dump" and count_frames(path) == 3
    for expected, image, read in zip(frames, images, iter_frames(path)):
        assert read.get_chemical_symbols() == symbols
        assert np.allclose(read.cell, expected.cell, atol=1e-9)
        assert _same_wrapped(read, expected)
        origin = read.info["box_origin"]
        assert np.allclose(read.arrays["unwrapped"], expected.positions + origin + image @ expected.cell, atol=1e-8)
        assert np.array_equal(read.arrays["image"], image)


def test_dump_writer_round_trip_and_gzip(tmp_path):
    frames = _frames(3)
    text = "".join(dump_frame_text(f, timestep=10 * k) for k, f in enumerate(frames))
    path = tmp_path / "traj.dump.gz"
    with gzip.open(path, "wt") as fd:
        fd.write(text)
    back = list(iter_frames(path))
    assert count_frames(path) == 3
    for original, read in zip(frames, back):
        assert read.get_chemical_symbols() == original.get_chemical_symbols()
        assert _same_wrapped(read, original, tol=1e-5)


# -- selection -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "spec, steps",
    [(":", [0, 1, 2, 3, 4]), ("1:4", [1, 2, 3]), ("::2", [0, 2, 4]), ("-2:", [3, 4]), ("-1", [4]),
     ("3", [3]), (":-3", [0, 1]), ("1::3", [1, 4]), (slice(0, 2), [0, 1]), (2, [2]), ("10:-1", None)],
)
def test_frame_selection(tmp_path, spec, steps):
    path = tmp_path / "traj.xyz"
    ase.io.write(path, _frames(), format="extxyz")
    if steps is None:
        with pytest.raises(ThioglassError, match="picks no frame"):
            list(iter_frames(path, spec))
    else:
        assert [f.info["step"] for f in iter_frames(path, spec)] == steps


@pytest.mark.parametrize("spec", ["::0", "::-1", "a:b", "1:2:3:4", "", 1.5])
def test_bad_frame_selection(spec):
    with pytest.raises(ThioglassError):
        parse_frames(spec)


def test_single_frame_formats_select_only_frame_zero(tmp_path):
    path = tmp_path / "POSCAR"
    ase.io.write(path, _frames(1)[0], format="vasp")
    assert len(list(iter_frames(path, "-1"))) == 1
    with pytest.raises(ThioglassError, match="picks no frame"):
        list(iter_frames(path, "1:"))


# -- errors --------------------------------------------------------------------------------------
def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ThioglassError, match="does not exist"):
        iter_frames(tmp_path / "nope.extxyz")
    with pytest.raises(ThioglassError, match="not a file"):
        iter_frames(tmp_path)


def test_unknown_extension(tmp_path):
    path = tmp_path / "cell.pdbx"
    path.write_text("whatever")
    with pytest.raises(ThioglassError, match="cannot tell the format"):
        iter_frames(path)


def test_truncated_dump_names_the_frame(tmp_path):
    path = tmp_path / "cut.dump"
    lines = LAMMPS_DUMP.splitlines(keepends=True)
    path.write_text("".join(lines[:-3]))  # frame 1 loses its last three atoms
    frames = iter_frames(path, type_map=["Li", "P", "S"])
    assert next(frames).info["timestep"] == 0
    with pytest.raises(ThioglassError, match="frame 1.*truncated"):
        next(frames)
    with pytest.raises(ThioglassError, match="frame 1.*truncated"):
        count_frames(path)
    # A header cut short is reported the same way.
    path.write_text(LAMMPS_DUMP + "ITEM: TIMESTEP\n40\nITEM: NUMBER OF ATOMS\n")
    with pytest.raises(ThioglassError, match="frame 2.*truncated"):
        list(iter_frames(path, type_map=["Li", "P", "S"]))


def test_truncated_extxyz_names_the_frame(tmp_path):
    path = tmp_path / "cut.extxyz"
    ase.io.write(path, _frames(3))
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-4]))
    with pytest.raises(ThioglassError, match="frame 2.*truncated"):
        list(iter_frames(path))


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("3.04492252", "3.0449x2252", "frame 0.*not .*values"),  # a number that is not one
        ("ITEM: NUMBER OF ATOMS\n8", "ITEM: NUMBER OF ATOMS\neight", "frame 0.*NUMBER OF ATOMS"),
        ("ITEM: TIMESTEP\n20\n", "garbage line\n", "frame 1.*ITEM"),
        ("id type xu yu zu ix iy iz x y z", "id type vx vy vz ix iy iz q c d", "no coordinates"),
    ],
)
def test_corrupt_dump(tmp_path, old, new, message):
    path = tmp_path / "bad.dump"
    assert old in LAMMPS_DUMP
    path.write_text(LAMMPS_DUMP.replace(old, new, 1))
    with pytest.raises(ThioglassError, match=message):
        list(iter_frames(path, type_map=["Li", "P", "S"]))


def test_dump_types_beyond_type_map(tmp_path):
    path = tmp_path / "types.dump"
    path.write_text(LAMMPS_DUMP)
    with pytest.raises(ThioglassError, match="types run from 1 to 3.*--type-map"):
        next(iter_frames(path, type_map=["Li", "P"]))
    with pytest.raises(ThioglassError, match="unknown elements"):
        iter_frames(path, type_map=["Li", "Xx", "S"])


def test_dump_without_element_or_type(tmp_path):
    path = tmp_path / "anon.dump"
    path.write_text(_column_subset(LAMMPS_DUMP, ["id", "x", "y", "z"]))
    with pytest.raises(ThioglassError, match="neither an 'element' nor a 'type'"):
        next(iter_frames(path))


def test_corrupt_extxyz_and_poscar(tmp_path):
    xyz = tmp_path / "bad.extxyz"
    ase.io.write(xyz, _frames(2))
    xyz.write_text(xyz.read_text().replace("Li ", "Li abc ", 1))
    with pytest.raises(ThioglassError, match="frame 0.*corrupt"):
        list(iter_frames(xyz))
    poscar = tmp_path / "POSCAR"
    poscar.write_text("not a poscar\n1.0\n")
    with pytest.raises(ThioglassError, match="cannot read"):
        read_frame(poscar)


# -- streaming -----------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["extxyz", "dump"])
def test_frames_are_read_lazily(tmp_path, fmt):
    """A file whose tail is garbage still gives its first frames: nothing reads ahead."""
    frames = _frames(2)
    path = tmp_path / f"tail.{fmt}"
    if fmt == "extxyz":
        ase.io.write(path, frames)
    else:
        path.write_text("".join(dump_frame_text(f, timestep=k) for k, f in enumerate(frames)))
    with open(path, "a") as fd:
        fd.write("\x00\x01 this is not a frame \xff\n" * 50)
    stream = iter_frames(path)
    assert _same_wrapped(next(stream), frames[0], tol=1e-5)
    assert _same_wrapped(next(stream), frames[1], tol=1e-5)
    assert len(list(iter_frames(path, "0:2"))) == 2
    with pytest.raises(ThioglassError, match="frame 2"):
        next(stream)


def test_explicit_format_for_an_odd_name(tmp_path):
    path = tmp_path / "frames.txt"
    ase.io.write(path, _frames(2), format="extxyz")
    assert len(list(iter_frames(path, fmt="extxyz"))) == 2
    with pytest.raises(ThioglassError, match="unknown format"):
        iter_frames(path, fmt="pdb")
