"""Training data in DeePMD format, through dpdata.

Labels live in a :class:`~thioglass.reference.label.LabelStore` (one file per frame, keyed by a hash
of the structure, so exact duplicates collapse). This module turns a store into dpdata systems,
imports users' own DFT data into a store, splits train/validation reproducibly and summarises.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
from ase import Atoms

from thioglass.elements import TYPE_MAP
from thioglass.errors import ThioglassError
from thioglass.io.formats import format_of_name
from thioglass.reference.label import Label, LabelStore, frame_key


def _system_data(frames: list[tuple[Atoms, Label]], type_map: tuple[str, ...]) -> dict:
    symbols = frames[0][0].get_chemical_symbols()
    unknown = sorted(set(symbols) - set(type_map))
    if unknown:
        raise ThioglassError(f"elements {unknown} are not in the type map {list(type_map)}; add them with --type-map")
    types = np.array([type_map.index(s) for s in symbols])
    order = np.argsort(types, kind="stable")  # dpdata wants atoms grouped by type
    has_virial = all(label.virial_ev is not None for _, label in frames)
    data = {
        "atom_names": list(type_map),
        "atom_numbs": [int((types == t).sum()) for t in range(len(type_map))],
        "atom_types": types[order],
        "orig": np.zeros(3),
        "cells": np.array([np.asarray(a.cell) for a, _ in frames]),
        "coords": np.array([a.positions[order] for a, _ in frames]),
        "energies": np.array([label.energy_ev for _, label in frames]),
        "forces": np.array([label.forces_ev_per_angstrom[order] for _, label in frames]),
        "nopbc": False,
    }
    if has_virial:
        data["virials"] = np.array([label.virial_ev for _, label in frames])
    return data


def to_multisystems(frames: Iterable[tuple[Atoms, Label]], type_map: tuple[str, ...] = TYPE_MAP):
    """Group labelled frames by their atom sequence into a ``dpdata.MultiSystems``."""
    import dpdata

    groups: dict[tuple[int, ...], list[tuple[Atoms, Label]]] = defaultdict(list)
    for atoms, label in frames:
        groups[tuple(atoms.numbers)].append((atoms, label))
    systems = [dpdata.LabeledSystem(data=_system_data(group, type_map)) for group in groups.values()]
    return dpdata.MultiSystems(*systems, type_map=list(type_map))


def store_frames(store: LabelStore) -> Iterable[tuple[Atoms, Label]]:
    """Every labelled frame in a store, in key order."""
    for key in store.keys("done"):
        yield store.load(key)


@dataclass(frozen=True)
class SplitSettings:
    """Train/validation split: a fraction of frames of every system, chosen with a seed."""

    validation_fraction: float = 0.1
    seed: int = 0


def write_training_sets(store: LabelStore, out_dir: str | Path, split: SplitSettings = SplitSettings(),
                        type_map: tuple[str, ...] = TYPE_MAP, *,
                        energy_shift_ev: dict[str, float] | None = None) -> dict[str, list[str]]:
    """Write ``out_dir/train/*`` and ``out_dir/validation/*`` in DeePMD npy format.

    Every system keeps at least one training frame; a system with one frame goes to training only.
    ``energy_shift_ev`` moves each label's energy zero per element (a fine-tune onto another code's
    labels, :func:`thioglass.mlff.finetune.energy_shift_ev`). Returns the lists of system folders for each part.
    """
    frames = list(store_frames(store))
    if energy_shift_ev:
        from thioglass.mlff.finetune import shifted

        frames = shifted(frames, energy_shift_ev)
    if not frames:
        raise ThioglassError(f"no labelled frames in {store.root}; label some structures first")
    rng = np.random.default_rng(split.seed)
    groups: dict[tuple[int, ...], list[tuple[Atoms, Label]]] = defaultdict(list)
    for atoms, label in frames:
        groups[tuple(atoms.numbers)].append((atoms, label))
    train, valid = [], []
    for group in groups.values():
        # Every system keeps at least one training frame, so no composition is only ever validated.
        n_valid = min(len(group) - 1, int(round(split.validation_fraction * len(group))))
        chosen = set(rng.choice(len(group), size=n_valid, replace=False).tolist()) if n_valid > 0 else set()
        for k, item in enumerate(group):
            (valid if k in chosen else train).append(item)
    out_dir = Path(out_dir)
    parts = {"train": train, "validation": valid}
    folders: dict[str, list[str]] = {}
    for part, items in parts.items():
        if not items:
            folders[part] = []
            continue
        systems = to_multisystems(items, type_map)
        systems.to_deepmd_npy(str(out_dir / part))
        folders[part] = sorted(str(p.parent) for p in (out_dir / part).glob("*/type.raw"))
    return folders


def import_labels(path: str | Path, store: LabelStore, fmt: str | None = None) -> int:
    """Copy a user's labelled data (VASP OUTCAR/vasprun.xml, extxyz with energies and forces) into a store.

    Returns the number of frames new to the store.
    """
    path = Path(path)
    if not path.exists():
        raise ThioglassError(f"{path} does not exist; give an OUTCAR, vasprun.xml or extxyz file")
    fmt = fmt or _guess_format(path)
    frames = _read_dpdata(path, fmt) if fmt.startswith("vasp/") else _read_ase(path)
    added = 0
    for atoms, label in frames:
        values = [label.forces_ev_per_angstrom, np.array([label.energy_ev])]
        if not all(np.isfinite(v).all() for v in values):
            raise ThioglassError(f"{path} holds NaN energies or forces; remove those frames and import again")
        key = atoms.info.get("frame_key") or frame_key(atoms)
        if store.status(key) is None:
            store.save(key, atoms, label)
            added += 1
    return added


def export_labels(store: LabelStore, path: str | Path, skip: Iterable[str] = ()) -> int:
    """Write every label of a store, but those whose frame key is in ``skip``, to one extxyz file (energy,
    forces, stress = -virial / V), the format :func:`import_labels` reads back. Returns the number of
    frames written."""
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.io import write

    frames, skip = [], set(skip)
    for key in store.keys("done"):
        if key in skip:
            continue
        atoms, label = store.load(key)
        # The key travels with the frame: rounding positions to the file's 8 decimals can move a coordinate
        # across the key's 1e-6 Å grid, and a re-imported frame must still be recognised as done.
        atoms.info["frame_key"] = key
        results = {"energy": label.energy_ev, "forces": label.forces_ev_per_angstrom}
        if label.virial_ev is not None:
            stress = -np.asarray(label.virial_ev) / atoms.get_volume()
            results["stress"] = stress[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
        atoms.calc = SinglePointCalculator(atoms, **results)
        frames.append(atoms)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside, then renamed: a kill mid-write leaves the previous export whole (the name keeps its
    # ending, so ASE still compresses a .gz).
    partial = path.with_name(f".partial-{path.name}")
    write(partial, frames, format="extxyz")
    os.replace(partial, path)
    return len(frames)


def read_labelled(path: str | Path, fmt: str | None = None) -> Iterable[tuple[Atoms, Label]]:
    """Frames and labels of a labelled file (extxyz, OUTCAR, vasprun.xml); extxyz text tags kept in ``info``."""
    path = Path(path)
    if not path.is_file():
        raise ThioglassError(f"{path} does not exist; give an OUTCAR, vasprun.xml or extxyz file")
    fmt = fmt or _guess_format(path)
    return _read_dpdata(path, fmt) if fmt.startswith("vasp/") else _read_ase(path)


def _guess_format(path: Path) -> str:
    name = path.name.lower().removesuffix(".gz")  # ASE reads gzipped extxyz as it is
    if "outcar" in name:
        return "vasp/outcar"
    if name.endswith(".xml"):
        return "vasp/xml"
    if format_of_name(name) == "extxyz":  # the suffix table of thioglass.io.formats
        return "extxyz"
    raise ThioglassError(f"cannot tell the format of {path}; pass fmt='vasp/outcar', 'vasp/xml' or 'extxyz'")


def _read_dpdata(path: Path, fmt: str) -> Iterable[tuple[Atoms, Label]]:
    import dpdata

    try:
        system = dpdata.LabeledSystem(str(path), fmt=fmt)
    except Exception as err:  # noqa: BLE001 - dpdata raises many types for broken files
        raise ThioglassError(f"cannot read {path} as {fmt} ({type(err).__name__}); is the file complete?") from None
    names = system["atom_names"]
    symbols = [names[t] for t in system["atom_types"]]
    for f in range(system.get_nframes()):
        atoms = Atoms(symbols, positions=system["coords"][f], cell=system["cells"][f], pbc=True)
        virial = system["virials"][f] if "virials" in system.data else None
        yield atoms, Label(float(system["energies"][f]), system["forces"][f], virial)


def _read_ase(path: Path) -> Iterable[tuple[Atoms, Label]]:
    from ase.io import iread

    try:
        for atoms in iread(str(path), index=":"):
            if atoms.calc is None:
                raise ThioglassError(f"{path} has a frame without energy and forces; it is not labelled data")
            virial = None
            if "stress" in atoms.calc.results:
                virial = -atoms.get_stress(voigt=False) * atoms.get_volume()
            label = Label(float(atoms.get_potential_energy()), np.array(atoms.get_forces()), virial)
            clean = Atoms(atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
            # Text tags (frame_key, family, system, ...) survive, so tests can group frames by them.
            clean.info.update({k: v for k, v in atoms.info.items() if isinstance(v, str)})
            yield clean, label
    except ThioglassError:
        raise
    except Exception as err:  # noqa: BLE001 - ASE raises many types for broken files
        raise ThioglassError(f"cannot read {path} ({type(err).__name__}: {err}); is the file complete?") from None


def summarise(store: LabelStore) -> dict:
    """Frames, atoms, energy and force ranges of a store, per chemical formula."""
    per_formula: dict[str, dict] = {}
    for atoms, label in store_frames(store):
        entry = per_formula.setdefault(atoms.get_chemical_formula(), {"frames": 0, "atoms": len(atoms),
                                                                      "energy_ev_per_atom": [], "max_force": 0.0})
        entry["frames"] += 1
        entry["energy_ev_per_atom"].append(label.energy_ev / len(atoms))
        entry["max_force"] = max(entry["max_force"], float(np.abs(label.forces_ev_per_angstrom).max()))
    for entry in per_formula.values():
        energies = entry.pop("energy_ev_per_atom")
        entry["energy_ev_per_atom_min"], entry["energy_ev_per_atom_max"] = min(energies), max(energies)
        entry["max_force_ev_per_angstrom"] = entry.pop("max_force")
    return {"frames": sum(e["frames"] for e in per_formula.values()), "failed": len(store.keys("failed")),
            "systems": per_formula}
