"""The PBEsol audit set (issue 12): small frames of every glass family and every bundled crystal, made by
MD of a bundled universal reference, to be labelled with ``gpaw-pbesol`` and to judge the references on.

Why SevenNet-0 drives the MD: among the bundled references it is the least softened against PBEsol (force
parity slope 0.89, against 0.61 for the r2SCAN head that labels the shipped model), so its thermal
displacements at a given temperature are the closest to what PBEsol itself would sample. No thioglass model
is used, so the audit does not inherit the shipped model's errors.

* glasses: one cell per family, packed by ``thioglass.build.build_glass`` at its estimated density, briefly
  relaxed (FIRE, fixed cell), then NVT Langevin MD at 1700 K (the melt), 650 K and 300 K, each stage
  continuing from the end of the one before; two frames of each stage.
  60Li2S-32SiS2-8P2S5 needs 93 atoms for its exact ratio, so the ternary family is built with a 2 mol %
  tolerance, which gives 6:3:1 (60Li2S-30SiS2-10P2S5, Li12Si3P2S17, 34 atoms). Cells are packed from single
  atoms (at 24-34 atoms the molecular unit templates do not fit) and the frames are only glass-like; the
  ternary's frames keep the family's name, 60Li2S-32SiS2-8P2S5, in their ``system`` tag.
* crystals (every bundled one but Li10GeP2S12, whose Ge is not in the Li-Si-P-S system): the ideal cell,
  NVT MD at 300 K and 650 K, and two strained copies of the ideal cell (-4 % linear strain, isotropic; a
  random symmetric strain of up to 5 % per component, shear included). Li2S (3 atoms) and SiS2 (6) run
  their MD in 24-atom supercells so the thermal frames are not in phase with their own images. Li7PS6 (56
  atoms) and Li10SiP2S12 (50) have no smaller primitive cell (checked with spglib): they are the set's two
  exceptions to the 48-atom limit and are labelled last.

Frames are written in labelling order: a balanced first tier (every system's cheapest informative pair:
a crystal's ideal and 650 K frames, a glass's 300 K and 650 K frames), smallest cells first, then the rest,
then the two large crystals. Each frame carries ``family``, ``system``, ``kind``, ``temperature_k``,
``tier``, ``seed`` and ``driver`` in its extxyz info. Every random step is seeded.

    python training/audit_frames.py training/audit-frames.extxyz [--seed 1212]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from ase import Atoms

DRIVER = "sevennet-0"
GLASSES = {  # composition -> (family, atoms, mol % tolerance of the builder)
    "75Li2S-25P2S5": ("Li2S-P2S5", 32, 0.5),  # two Li6P2S8 formula units
    "50Li2S-50SiS2": ("Li2S-SiS2", 24, 0.5),
    "60Li2S-32SiS2-8P2S5": ("Li2S-SiS2-P2S5", 34, 2.0),
}
CRYSTALS = {"Li2S": "Li2S", "SiS2": "Li2S-SiS2", "Li4P2S6": "Li2S-P2S5", "P2S5": "Li2S-P2S5",
            "beta-Li3PS4": "Li2S-P2S5", "Li7P3S11": "Li2S-P2S5", "Li7PS6": "Li2S-P2S5",
            "Li10SiP2S12": "Li2S-SiS2-P2S5"}
MD_SUPERCELL = {"Li2S": (2, 2, 2), "SiS2": (2, 2, 1)}
GLASS_TEMPERATURES_K = (300.0, 650.0, 1700.0)
CRYSTAL_TEMPERATURES_K = (300.0, 650.0)
MAX_ATOMS = 48
TIMESTEP_FS = 1.0
FRICTION_PER_FS = 0.02  # Langevin: thermalises within ~50 fs, so a few hundred steps decorrelate from the start


def md_frames(atoms: Atoms, temperature_k: float, steps: int, sample_at: tuple[int, ...], seed: int) -> list[Atoms]:
    """NVT Langevin MD of ``atoms`` with the driver; copies at the given step numbers. Velocities are drawn
    afresh (seeded), so a stage that continues another's positions still has its own seed."""
    from ase import units
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary

    from thioglass.reference.calculators import cached_calculator

    work = atoms.copy()
    work.calc = cached_calculator(DRIVER)
    rng = np.random.default_rng(seed)
    MaxwellBoltzmannDistribution(work, temperature_K=temperature_k, rng=rng)
    Stationary(work)
    dynamics = Langevin(work, TIMESTEP_FS * units.fs, temperature_K=temperature_k,
                        friction=FRICTION_PER_FS / units.fs, fixcm=False, rng=rng)
    out = []
    done = 0
    for target in sample_at:
        dynamics.run(target - done)
        done = target
        out.append(_bare(work, step=target))
    return out


def _bare(atoms: Atoms, **info) -> Atoms:
    """Positions, cell and numbers only (no driver energies, no velocities), with tags."""
    frame = Atoms(atoms.numbers, positions=atoms.get_positions(wrap=True), cell=atoms.cell, pbc=True)
    frame.info.update(info)
    return frame


def relaxed_glass(composition: str, n_atoms: int, tolerance: float, seed: int) -> Atoms:
    """A packed cell relaxed at fixed cell, so 300 K MD does not start from packing overlaps."""
    from ase.optimize import FIRE

    from thioglass.build import BuildSettings, build_glass
    from thioglass.reference.calculators import cached_calculator

    # Single atoms, not molecular units: at 24-34 atoms the cell is too small for the unit templates.
    atoms = build_glass(composition, settings=BuildSettings(n_atoms=n_atoms, seed=seed, units="atoms",
                                                            tolerance_mol_percent=tolerance))
    work = _bare(atoms)
    work.calc = cached_calculator(DRIVER)
    FIRE(work, logfile=None).run(fmax=0.1, steps=80)
    return _bare(work, formula=atoms.info["formula"])


def glass_frames(seed: int) -> list[Atoms]:
    """Melt, then hold at 650 K and 300 K, each stage starting where the previous one ended (a crude
    instantaneous quench: at 24-34 atoms and 0.3 ps per stage the frames are only glass-like)."""
    frames = []
    for g, (composition, (family, n_atoms, tolerance)) in enumerate(GLASSES.items()):
        state = relaxed_glass(composition, n_atoms, tolerance, seed + 100 * g)
        for t, temperature in enumerate(sorted(GLASS_TEMPERATURES_K, reverse=True)):
            run_seed = seed + 100 * g + 10 * t + 1
            samples = md_frames(state, temperature, 300, (200, 300), run_seed)
            for n, frame in enumerate(samples):
                frame.info.update(family=family, system=f"glass {composition}", kind="glass",
                                  temperature_k=temperature, seed=run_seed,
                                  tier=_glass_tier(temperature, n))
                frames.append(frame)
            state = samples[-1]
    return frames


def _glass_tier(temperature: float, sample: int) -> int:
    if sample == 0 and temperature < 1000:
        return 0
    return 1 if sample == 0 else 2


def crystal_frames(seed: int) -> list[Atoms]:
    from thioglass.build import load_crystal

    frames = []
    for c, (name, family) in enumerate(CRYSTALS.items()):
        ideal = primitive(load_crystal(name))
        tags = {"family": family, "system": f"crystal {name}"}
        big = len(ideal) > MAX_ATOMS
        frames.append(_bare(ideal, kind="ideal", temperature_k=0.0, seed=seed, tier=3 if big else 0, **tags))
        cell = ideal.repeat(MD_SUPERCELL.get(name, (1, 1, 1)))
        for t, temperature in enumerate(CRYSTAL_TEMPERATURES_K):
            run_seed = seed + 1000 + 100 * c + t
            frame = md_frames(cell, temperature, 250, (250,), run_seed)[0]
            tier = 3 if big else (0 if temperature > 500 else 1)
            frame.info.update(kind="thermal", temperature_k=temperature, seed=run_seed, tier=tier, **tags)
            frames.append(frame)
        rng = np.random.default_rng(seed + 2000 + c)
        for kind, strained in (("strained-4%", _strain(ideal, -0.04 * np.eye(3))),
                               ("strained-random5%", _strain(ideal, _random_symmetric(rng, 0.05)))):
            frames.append(_bare(strained, kind=kind, temperature_k=0.0, seed=seed + 2000 + c,
                                tier=3 if big else 1, **tags))
    return frames


def primitive(atoms: Atoms) -> Atoms:
    """The spglib primitive cell when it has fewer atoms (symmetry tolerance 1e-3 Å), else ``atoms``."""
    import spglib

    cell = (np.asarray(atoms.cell), atoms.get_scaled_positions(), atoms.numbers)
    found = spglib.standardize_cell(cell, to_primitive=True, no_idealize=True, symprec=1e-3)
    if found is None or len(found[2]) >= len(atoms):
        return atoms
    lattice, scaled, numbers = found
    return Atoms(numbers, scaled_positions=scaled, cell=lattice, pbc=True)


def _random_symmetric(rng: np.random.Generator, max_strain: float) -> np.ndarray:
    strain = rng.uniform(-max_strain, max_strain, (3, 3))
    return (strain + strain.T) / 2


def _strain(atoms: Atoms, strain: np.ndarray) -> Atoms:
    out = atoms.copy()
    out.set_cell(np.asarray(atoms.cell) @ (np.eye(3) + strain), scale_atoms=True)
    return out


def labelling_order(frames: list[Atoms]) -> list[Atoms]:
    """Tier first (the balanced subset), then smaller cells, then a stable order."""
    return sorted(frames, key=lambda a: (a.info["tier"], len(a), a.info["system"], a.info["kind"],
                                         a.info["temperature_k"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=1212)
    args = parser.parse_args()
    import torch
    from ase.io import write

    torch.set_num_threads(1)
    frames = labelling_order(crystal_frames(args.seed) + glass_frames(args.seed))
    for frame in frames:
        frame.info.update(driver=DRIVER, formula=frame.get_chemical_formula(), cell_atoms=len(frame))
    write(args.out, frames, format="extxyz")
    small = sum(len(f) <= MAX_ATOMS for f in frames)
    print(f"{len(frames)} frames ({small} of at most {MAX_ATOMS} atoms) written to {args.out}")


if __name__ == "__main__":
    main()
