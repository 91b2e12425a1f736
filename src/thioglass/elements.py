"""Chemistry constants shared by every stage.

``TYPE_MAP`` fixes the order of atom types everywhere (LAMMPS data files, DeePMD type maps,
``pair_coeff * * Li Si P S``), so a cell built for a Si-free glass still runs with a Li-Si-P-S model.
"""

from __future__ import annotations

from ase.data import atomic_masses, atomic_numbers

TYPE_MAP: tuple[str, ...] = ("Li", "Si", "P", "S")

#: Glass-forming cations whose tetrahedra define Q^n / E^n.
FORMERS: tuple[str, ...] = ("P", "Si")

#: Coherent neutron scattering lengths in fm (SPEC.md, the paper's section 2.3).
NEUTRON_B_FM: dict[str, float] = {"Li": -1.90, "Si": 4.15, "P": 5.13, "S": 2.85}

#: Atomic masses in g/mol, from ASE (IUPAC values).
MASS_G_MOL: dict[str, float] = {el: float(atomic_masses[atomic_numbers[el]]) for el in TYPE_MAP}

#: Components a composition may name, and the atoms in one formula unit of each.
COMPONENTS: dict[str, dict[str, int]] = {
    "Li2S": {"Li": 2, "S": 1},
    "SiS2": {"Si": 1, "S": 2},
    "P2S5": {"P": 2, "S": 5},
}

AVOGADRO = 6.02214076e23

# Exact SI values (CODATA 2018), used by the transport analysis.
ELEMENTARY_CHARGE_C = 1.602176634e-19
BOLTZMANN_J_K = 1.380649e-23
BOLTZMANN_EV_K = BOLTZMANN_J_K / ELEMENTARY_CHARGE_C
#: 1 eV per particle in kJ/mol.
EV_TO_KJ_MOL = ELEMENTARY_CHARGE_C * AVOGADRO / 1000.0
