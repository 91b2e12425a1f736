"""Structure writers round-trip through ase.io.read; LAMMPS types follow TYPE_MAP."""

from __future__ import annotations

import ase
import ase.io
import numpy as np
import pytest

from thioglass.build.crystals import load_crystal
from thioglass.build.glass import BuildSettings, build_glass
from thioglass.elements import TYPE_MAP
from thioglass.errors import ThioglassError
from thioglass.io.write import KNOWN_EXTENSIONS, structure_format, write_structure


@pytest.fixture(scope="module")
def glass() -> ase.Atoms:
    return build_glass("75Li2S-25P2S5", settings=BuildSettings(n_atoms=160, seed=2))


def _same_fractional(a: ase.Atoms, b: ase.Atoms, atol: float = 1e-5) -> bool:
    """Same atoms at the same fractional coordinates, in any order (periodic)."""
    def keyed(atoms: ase.Atoms) -> np.ndarray:
        frac = np.round(atoms.get_scaled_positions(wrap=True) % 1.0, 4) % 1.0
        return np.array(sorted(zip(atoms.numbers, *frac.T)))
    return a.get_chemical_formula() == b.get_chemical_formula() and np.allclose(keyed(a), keyed(b), atol=atol)


def test_extxyz_keeps_everything(glass, tmp_path) -> None:
    path = write_structure(glass, tmp_path / "deep" / "er" / "glass.extxyz")
    back = ase.io.read(path)
    assert back.get_chemical_symbols() == glass.get_chemical_symbols()
    assert np.allclose(back.positions, glass.positions) and np.allclose(back.cell[:], glass.cell[:])
    assert back.pbc.all()
    assert np.array_equal(back.arrays["unit_id"], glass.arrays["unit_id"])
    assert back.info["composition"] == "75Li2S-25P2S5"


@pytest.mark.parametrize("name", ["glass.data", "glass.lmp"])
def test_lammps_data_declares_all_four_types_in_type_map_order(glass, tmp_path, name: str) -> None:
    path = write_structure(glass, tmp_path / name)
    text = path.read_text()
    assert "4 atom types" in text  # Si is declared although this glass has none
    lines = text.splitlines()
    start = lines.index("Masses") + 2
    masses = [float(line.split()[1]) for line in lines[start : start + 4]]
    assert masses == pytest.approx([6.94, 28.085, 30.974, 32.06], abs=0.01)
    atoms_at = next(k for k, line in enumerate(lines) if line.startswith("Atoms")) + 2
    rows = [line.split() for line in lines[atoms_at : atoms_at + len(glass)]]
    types = {int(r[0]): int(r[1]) for r in rows}
    expected = [TYPE_MAP.index(s) + 1 for s in glass.get_chemical_symbols()]
    assert [types[k + 1] for k in range(len(glass))] == expected
    back = ase.io.read(path, format="lammps-data", atom_style="atomic")
    assert back.get_chemical_symbols() == glass.get_chemical_symbols()  # elements from the masses
    assert np.allclose(back.positions, glass.positions, atol=1e-6)


def test_lammps_data_of_a_triclinic_crystal(tmp_path) -> None:
    crystal = load_crystal("Li7P3S11")
    back = ase.io.read(write_structure(crystal, tmp_path / "li7p3s11.data"), format="lammps-data", atom_style="atomic")
    assert back.cell.cellpar() == pytest.approx(crystal.cell.cellpar(), abs=1e-5)
    assert _same_fractional(back, crystal)


@pytest.mark.parametrize("name", ["POSCAR", "CONTCAR", "x.vasp", "POSCAR_relaxed"])
def test_vasp_is_direct_and_sorted_by_type_map(tmp_path, name: str) -> None:
    crystal = load_crystal("Li10SiP2S12")
    shuffled = crystal[np.random.default_rng(0).permutation(len(crystal))]
    path = write_structure(shuffled, tmp_path / name)
    lines = path.read_text().splitlines()
    assert lines[5].split() == ["Li", "Si", "P", "S"]
    assert lines[7].strip().lower().startswith("direct")
    back = ase.io.read(path, format="vasp")
    order = [TYPE_MAP.index(s) for s in back.get_chemical_symbols()]
    assert order == sorted(order)
    assert _same_fractional(back, crystal)


def test_cif_round_trip(tmp_path) -> None:
    crystal = load_crystal("beta-Li3PS4")
    back = ase.io.read(write_structure(crystal, tmp_path / "li3ps4.cif"))
    assert back.cell.cellpar() == pytest.approx(crystal.cell.cellpar(), abs=1e-4)
    assert _same_fractional(back, crystal, atol=2e-4)


def test_format_names() -> None:
    assert structure_format("a/b.XYZ") == "extxyz"
    assert structure_format("POSCAR") == structure_format("poscar_final") == "vasp"
    assert structure_format("x.lmp") == "lammps-data"
    assert ".data" in KNOWN_EXTENSIONS and "POSCAR" in KNOWN_EXTENSIONS


def test_unknown_extension_lists_known_ones(glass, tmp_path) -> None:
    with pytest.raises(ThioglassError) as err:
        write_structure(glass, tmp_path / "glass.pdb")
    assert ".extxyz" in str(err.value) and ".data" in str(err.value) and "POSCAR" in str(err.value)
    assert not (tmp_path / "glass.pdb").exists()


def test_elements_outside_the_type_map_are_refused_for_lammps(tmp_path) -> None:
    atoms = ase.Atoms("GeS2", positions=[[0, 0, 0], [2, 0, 0], [0, 2, 0]], cell=[8, 8, 8], pbc=True)
    with pytest.raises(ThioglassError, match="Ge"):
        write_structure(atoms, tmp_path / "x.data")
    write_structure(atoms, tmp_path / "x.extxyz")  # fine where elements are written by name
