"""Judge references on forces and energies: every bundled reference against DFT labels of an audit set.

The audit set (``training/audit-frames.extxyz``) tags each frame with its ``family``, ``system``, ``kind``
and ``temperature_k``; its DFT labels (``training/audit-pbesol.extxyz.gz``, exported from a label store)
are matched to the tags by frame key, so a partly labelled set is judged on the frames labelled so far.

Per reference:

* forces: RMSE over all components, and the parity slope of a least-squares fit through the origin,
  F_ref = s * F_dft (s < 1: a softened potential energy surface);
* pressure: P = -tr(stress)/3, mean and RMSE of P_ref - P_dft in GPa;
* energy differences between frames of one system, per atom, each relative to the system's lowest-energy
  DFT frame: their ratio to DFT (least-squares slope through the origin) and their mean absolute error,
  and E(650 K) - E(300 K) per glass.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from ase import Atoms

from thioglass.errors import ThioglassError

EV_PER_A3_TO_GPA = 160.21766208


@dataclass(frozen=True)
class AuditFrame:
    """One labelled audit frame: tags, atoms and DFT energy (eV), forces (eV/Å), stress (3x3, eV/Å³)."""

    key: str
    tags: dict[str, Any]
    atoms: Atoms
    energy_ev: float
    forces: np.ndarray
    stress: np.ndarray


def load_audit(frames_path: str | Path, labels_path: str | Path) -> list[AuditFrame]:
    """Labelled frames of the audit set, in the set's order, with their tags."""
    from ase.io import iread

    from thioglass.mlff.dataset import read_labelled
    from thioglass.reference.label import frame_key

    labels = {}
    for atoms, label in read_labelled(labels_path):
        if label.virial_ev is None:
            raise ThioglassError(f"{labels_path} has a frame without stress; the audit needs energy, forces and stress")
        labels[atoms.info.get("frame_key") or frame_key(atoms)] = (label, -label.virial_ev / atoms.get_volume())
    frames = []
    for atoms in iread(str(frames_path), index=":"):
        key = frame_key(atoms)
        if key in labels:
            label, stress = labels[key]
            tags = {k: atoms.info[k] for k in ("family", "system", "kind", "temperature_k") if k in atoms.info}
            bare = Atoms(atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
            frames.append(AuditFrame(key, tags, bare, label.energy_ev, label.forces_ev_per_angstrom, stress))
    if not frames:
        raise ThioglassError(f"none of the frames of {frames_path} is labelled in {labels_path}; label some first")
    return frames


#: Every third frame of each system (in frame-key order, from the second) is held out of a fine-tune.
HELDOUT_EVERY = 3


def split_audit(frames: Sequence[AuditFrame]) -> dict[str, list[AuditFrame]]:
    """``{"tuning": ..., "heldout": ...}``: a third of each system's frames held out, the rest to fine-tune on.

    Within a system the frames are ordered by key (a hash of the positions, so the order is fixed by the
    frames alone, not by the order they were labelled in) and every third from the second is held out;
    every system with two frames or more has one in each part.
    """
    by_system: dict[str, list[AuditFrame]] = defaultdict(list)
    for frame in frames:
        by_system[frame.tags.get("system", "?")].append(frame)
    parts: dict[str, list[AuditFrame]] = {"tuning": [], "heldout": []}
    for members in by_system.values():
        for i, frame in enumerate(sorted(members, key=lambda f: f.key)):
            parts["heldout" if i % HELDOUT_EVERY == 1 else "tuning"].append(frame)
    return parts


def predict(reference: str, frames: Sequence[AuditFrame]) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """Energy, forces and stress (3x3) of every frame from one reference, or a DeePMD model (``.pb``)."""
    from thioglass.potential import make_calculator

    calculator = make_calculator(reference, threads=1)
    out = []
    for frame in frames:
        work = frame.atoms.copy()
        work.calc = calculator
        out.append((float(work.get_potential_energy()), np.array(work.get_forces()),
                    np.array(work.get_stress(voigt=False))))
    return out


def slope_through_origin(reference: np.ndarray, target: np.ndarray) -> float:
    """s minimising |reference - s * target|² (reference = s * DFT)."""
    denominator = float(np.dot(target, target))
    return float(np.dot(reference, target) / denominator) if denominator > 0 else float("nan")


def score(frames: Sequence[AuditFrame], predicted: Sequence[tuple[float, np.ndarray, np.ndarray]]) -> dict[str, Any]:
    """Force, pressure and energy-difference metrics of one reference against the DFT labels."""
    f_dft = np.concatenate([f.forces.ravel() for f in frames])
    f_ref = np.concatenate([p[1].ravel() for p in predicted])
    p_err = np.array([_pressure_gpa(p[2]) - _pressure_gpa(f.stress) for f, p in zip(frames, predicted)])
    diffs = energy_differences(frames, [p[0] for p in predicted])
    d_dft = np.array([d["dft_mev_per_atom"] for d in diffs])
    d_ref = np.array([d["reference_mev_per_atom"] for d in diffs])
    return {
        "frames": len(frames),
        "force_rmse_ev_per_angstrom": float(np.sqrt(np.mean((f_ref - f_dft) ** 2))),
        "force_slope": slope_through_origin(f_ref, f_dft),
        "pressure_error_mean_gpa": float(p_err.mean()),
        "pressure_error_rmse_gpa": float(np.sqrt(np.mean(p_err ** 2))),
        "energy_differences": len(diffs),
        "energy_difference_ratio": slope_through_origin(d_ref, d_dft) if diffs else None,
        "energy_difference_mae_mev_per_atom": float(np.abs(d_ref - d_dft).mean()) if diffs else None,
        "glass_650_minus_300": glass_heating(frames, [p[0] for p in predicted]),
        "pairs": diffs,
    }


def _pressure_gpa(stress: np.ndarray) -> float:
    return float(-np.trace(stress) / 3 * EV_PER_A3_TO_GPA)


def energy_differences(frames: Sequence[AuditFrame], energies: Sequence[float]) -> list[dict[str, Any]]:
    """Per system, E/N of every frame minus E/N of its lowest-energy DFT frame, in DFT and the reference."""
    by_system: dict[str, list[int]] = defaultdict(list)
    for i, frame in enumerate(frames):
        by_system[frame.tags.get("system", frame.atoms.get_chemical_formula())].append(i)
    rows = []
    for system, members in by_system.items():
        if len(members) < 2:
            continue
        per_atom = {i: frames[i].energy_ev / len(frames[i].atoms) for i in members}
        anchor = min(members, key=per_atom.get)
        anchor_ref = energies[anchor] / len(frames[anchor].atoms)
        for i in members:
            if i != anchor:
                rows.append({"system": system, "kind": frames[i].tags.get("kind"),
                             "temperature_k": frames[i].tags.get("temperature_k"),
                             "dft_mev_per_atom": 1000 * (per_atom[i] - per_atom[anchor]),
                             "reference_mev_per_atom": 1000 * (energies[i] / len(frames[i].atoms) - anchor_ref)})
    return rows


def glass_heating(frames: Sequence[AuditFrame], energies: Sequence[float]) -> dict[str, dict[str, float]]:
    """Per glass, mean E/N at 650 K minus mean E/N at 300 K (meV/atom), DFT and reference."""
    out = {}
    glasses = sorted({f.tags["system"] for f in frames if f.tags.get("kind") == "glass"})
    for system in glasses:
        means = {}
        for temperature in (300.0, 650.0):
            members = [i for i, f in enumerate(frames) if f.tags.get("system") == system
                       and float(f.tags.get("temperature_k", -1)) == temperature]
            if members:
                means[temperature] = (np.mean([frames[i].energy_ev / len(frames[i].atoms) for i in members]),
                                      np.mean([energies[i] / len(frames[i].atoms) for i in members]))
        if len(means) == 2:
            dft = 1000 * (means[650.0][0] - means[300.0][0])
            ref = 1000 * (means[650.0][1] - means[300.0][1])
            out[system] = {"dft_mev_per_atom": float(dft), "reference_mev_per_atom": float(ref),
                           "ratio": float(ref / dft) if dft else float("nan")}
    return out


def audit_references(references: Sequence[str], frames: Sequence[AuditFrame]) -> dict[str, Any]:
    """Every reference scored on the same labelled frames."""
    families: dict[str, int] = defaultdict(int)
    for frame in frames:
        families[frame.tags.get("system", "?")] += 1
    scores = {}
    for reference in references:
        predicted = predict(reference, frames)
        scores[reference] = score(frames, predicted)
        scores[reference]["by_group"] = {
            group: score([frames[i] for i in members], [predicted[i] for i in members])
            for group, members in groups(frames).items() if members}
    return {"frames": len(frames), "atoms": int(sum(len(f.atoms) for f in frames)),
            "systems": dict(sorted(families.items())), "references": scores}


def groups(frames: Sequence[AuditFrame]) -> dict[str, list[int]]:
    """Frames by what moves the atoms: MD (thermal crystals, glasses) or a static cell (ideal, strained)."""
    out: dict[str, list[int]] = {"thermal": [], "static": []}
    for i, frame in enumerate(frames):
        out["thermal" if frame.tags.get("kind") in ("thermal", "glass") else "static"].append(i)
    return out


def markdown_groups(result: dict[str, Any]) -> str:
    """Forces on the MD frames and pressure on the static ones, per reference."""
    lines = ["| reference | thermal frames: force slope / RMSE eV/Å | thermal: pressure error GPa | "
             "static frames (ideal, strained): pressure error mean / RMSE GPa |", "|---|---|---|---|"]
    for name, row in result["references"].items():
        thermal, static = row["by_group"].get("thermal"), row["by_group"].get("static")
        cells = [f"{thermal['force_slope']:.2f} / {thermal['force_rmse_ev_per_angstrom']:.3f}" if thermal else "-",
                 f"{thermal['pressure_error_mean_gpa']:+.2f}" if thermal else "-",
                 f"{static['pressure_error_mean_gpa']:+.2f} / {static['pressure_error_rmse_gpa']:.2f}" if static else "-"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_table(result: dict[str, Any]) -> str:
    """One row per reference: forces, pressure and energy differences against DFT."""
    lines = ["| reference | force slope | force RMSE eV/Å | pressure error mean / RMSE GPa | "
             "ΔE ratio to DFT | ΔE MAE meV/atom | E(650 K)-E(300 K) per glass, ratio to DFT |",
             "|---|---|---|---|---|---|---|"]
    for name, row in result["references"].items():
        heating = ", ".join(f"{s.removeprefix('glass ')} {v['ratio']:.2f}"
                            for s, v in row["glass_650_minus_300"].items()) or "-"
        ratio = "-" if row["energy_difference_ratio"] is None else f"{row['energy_difference_ratio']:.2f}"
        mae = "-" if row["energy_difference_mae_mev_per_atom"] is None else f"{row['energy_difference_mae_mev_per_atom']:.1f}"
        lines.append(f"| {name} | {row['force_slope']:.2f} | {row['force_rmse_ev_per_angstrom']:.3f} | "
                     f"{row['pressure_error_mean_gpa']:+.2f} / {row['pressure_error_rmse_gpa']:.2f} | {ratio} | {mae} | "
                     f"{heating} |")
    return "\n".join(lines)
