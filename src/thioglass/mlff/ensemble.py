"""The model ensemble: where it lives, which members a potential has, and its force deviation.

A DeePMD potential is trusted where an ensemble of models trained on the same labels agrees. The
production model (the shipped compressed ``default.pb``, or a user's ``.pb``) drives the MD; the
ensemble's *members* (extra models, frozen and uncompressed) are evaluated beside it every
``deviation_every_steps`` steps, and the deviation is written to ``model_devi.out`` in each stage
folder, in the format of LAMMPS' ``pair_style deepmd ... out_file`` (columns ``step max_devi_v
min_devi_v avg_devi_v max_devi_f min_devi_f avg_devi_f``, eV/Å for forces).

* The shipped ensemble: ``thioglass/data/models/ensemble/``, its member files listed in ``default.json``
  under ``ensemble`` (``members``: file names, ``seeds``, ``steps``, ``note``).
* A user's model: members given explicitly (``--ensemble m1.pb,m2.pb``), checked up front.
* Any other potential (a reference, ``ase:...``): no ensemble; :func:`ensemble_note` says so in one line.

The deviation is DP-GEN's: for each frame, the largest over atoms of the standard deviation over models
of the force vector (:func:`max_force_deviation`); :func:`deviation_stats` summarises a stage against
the learning loop's trust window (0.2 and 0.4 eV/Å).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

import numpy as np

from thioglass.errors import ThioglassError

#: The file every MD engine writes in a stage folder (LAMMPS' ``out_file``).
DEVIATION_FILE = "model_devi.out"
#: The learning loop's trust window (eV/Å): below ``LOW`` accurate, above ``HIGH`` failed.
TRUST_LOW_EV_A = 0.2
TRUST_HIGH_EV_A = 0.4
#: A stage is flagged when more than this share of its frames is above ``TRUST_LOW_EV_A`` (or any frame
#: is above ``TRUST_HIGH_EV_A``): a few isolated frames above 0.2 eV/Å happen in-domain at high T.
WARN_SHARE_ABOVE_LOW = 0.01
#: Default sampling interval of the deviation in MD steps. Measured (docs/model-deviation.md): one sample of
#: three uncompressed members costs about 3.7 steps of the compressed production model, so every 100 steps
#: adds about 4 % to a stage (every 20: 18 %); the budget is 15 %.
DEVIATION_EVERY_STEPS = 100
#: Column order of ``model_devi.out`` (as ``pair_style deepmd`` writes it).
DEVIATION_COLUMNS = ("step", "max_devi_v", "min_devi_v", "avg_devi_v", "max_devi_f", "min_devi_f", "avg_devi_f")


def ensemble_dir() -> Path:
    """Where the shipped ensemble's members live: ``thioglass/data/models/ensemble/``."""
    return Path(str(files("thioglass") / "data" / "models" / "ensemble"))


def _shipped_card() -> dict:
    card = Path(str(files("thioglass") / "data" / "models" / "default.json"))
    if not card.is_file():
        return {}
    return json.loads(card.read_text()).get("ensemble") or {}


def shipped_ensemble() -> tuple[Path, ...]:
    """The shipped default model's members (empty while none ships); a listed member that is missing is
    a broken install and fails in one line."""
    names = _shipped_card().get("members") or []
    paths = tuple(ensemble_dir() / name for name in names)
    for path in paths:
        if not path.is_file():
            raise ThioglassError(f"the shipped ensemble member {path} is missing; reinstall thioglass")
    return paths


def ensemble_for(potential: str | None, members: Sequence[str] | None = None) -> tuple[Path, ...]:
    """The extra member files evaluated beside ``potential`` (the production model is not among them).

    None (the shipped model): the shipped members, unless ``members`` is given. A DeePMD ``.pb``: the
    given ``members``, each checked to be a frozen DeePMD model with the production model's type map.
    Any other potential: empty (``members`` given for it is an error).
    """
    from thioglass.potential import model_path, potential_kind

    if potential_kind(potential) != "deepmd":
        if members:
            raise ThioglassError(f"--ensemble needs a DeePMD potential (.pb); {potential} is not one")
        return ()
    if not members:
        return shipped_ensemble() if potential is None else ()
    production = model_type_map(model_path(potential))
    checked = []
    for member in members:
        path = check_member(member, production)
        if path.resolve() == Path(model_path(potential)).resolve():
            raise ThioglassError(f"--ensemble member {member} is the production model itself; give the other models")
        checked.append(path)
    return tuple(checked)


def ensemble_note(potential: str | None, members: Sequence[Path]) -> str:
    """One line for the terminal: what the deviation is measured with, or why it is not."""
    if members:
        return f"model deviation: the production model and {len(members)} ensemble members"
    from thioglass.potential import potential_kind

    if potential_kind(potential) != "deepmd":
        return f"model deviation: not recorded ({potential} is not a DeePMD model, so it has no ensemble)"
    if potential is None:
        return "model deviation: not recorded (this thioglass ships no ensemble with its default model yet)"
    return f"model deviation: not recorded (no ensemble for {potential}; give one with --ensemble m1.pb,m2.pb)"


def parse_members(text: str | None) -> tuple[str, ...] | None:
    """``--ensemble m1.pb,m2.pb`` as a tuple of paths (None when the option is not given)."""
    if text is None or not text.strip():
        return None
    return tuple(part.strip() for part in text.split(",") if part.strip())


def check_member(member: str | Path, type_map: Sequence[str]) -> Path:
    """A member file: a frozen DeePMD model whose type map is ``type_map``."""
    from thioglass.checks import check_deepmd_model

    path = check_deepmd_model(member)
    found = model_type_map(path)
    if tuple(found) != tuple(type_map):
        raise ThioglassError(f"ensemble member {member} has type map {' '.join(found) or '(none)'}, the production "
                             f"model {' '.join(type_map)}; members must be trained for the same elements")
    return path


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(data: bytes):
    """(field number, wire type, value) of a protocol buffer message; length-delimited values as bytes."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            size, pos = _varint(data, pos)
            value, pos = data[pos:pos + size], pos + size
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, pos = data[pos:pos + size], pos + size
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield number, wire, value


def graph_string(path: str | Path, node_name: str) -> str | None:
    """The string held by constant node ``node_name`` of a frozen DeePMD model, read without TensorFlow
    (None when the graph has no such node).

    GraphDef.node (1) -> NodeDef.name (1), .attr (5: key 1, AttrValue 2) -> AttrValue.tensor (8) ->
    TensorProto.string_val (8).
    """
    name = node_name.encode()
    try:
        for number, wire, node in _fields(Path(path).read_bytes()):
            if number != 1 or wire != 2 or name not in node[:len(name) + 8]:
                continue
            fields = list(_fields(node))
            if not any(n == 1 and v == name for n, _, v in fields):
                continue
            for n, _, entry in fields:
                attr = dict((k, v) for k, _, v in _fields(entry)) if n == 5 else {}
                if attr.get(1) == b"value":
                    tensor = dict((k, v) for k, _, v in _fields(attr[2]))[8]
                    strings = [v for k, _, v in _fields(tensor) if k == 8]
                    return strings[0].decode() if strings else ""
    except (ValueError, IndexError, KeyError):
        return None
    return None


def model_type_map(path: str | Path) -> tuple[str, ...]:
    """The element order of a frozen DeePMD model (its ``model_attr/tmap`` node)."""
    text = graph_string(path, "model_attr/tmap")
    if text is None:
        raise ThioglassError(f"{path} holds no type map (model_attr/tmap); give the .pb that dp freeze wrote")
    return tuple(text.split())


def max_force_deviation(forces: np.ndarray) -> np.ndarray | float:
    """DP-GEN's max_devi_f: max over atoms of |std over models of the force vector| (eV/Å).

    ``forces``: (n_models, n_atoms, 3) for one frame (returns a float) or (n_models, n_frames, n_atoms, 3).
    """
    forces = np.asarray(forces, dtype=float)
    if forces.ndim not in (3, 4) or forces.shape[-1] != 3 or forces.shape[0] < 2:
        raise ThioglassError(f"forces of shape {forces.shape} are not (n_models >= 2, [n_frames,] n_atoms, 3)")
    per_atom = np.linalg.norm(forces.std(axis=0), axis=-1)
    result = per_atom.max(axis=-1)
    return float(result) if forces.ndim == 3 else result


def deviation_row(step: int, forces: np.ndarray, virials: np.ndarray) -> list[float]:
    """One ``model_devi.out`` row from one frame's forces (n_models, n_atoms, 3) and virials
    (n_models, 9) per atom, as ``pair_style deepmd`` writes it (virial statistics over the 9 components)."""
    per_atom = np.linalg.norm(np.asarray(forces, float).std(axis=0), axis=-1)
    virial = np.asarray(virials, float).std(axis=0)
    return [float(step), float(virial.max()), float(virial.min()), float(np.linalg.norm(virial) / 3),
            float(per_atom.max()), float(per_atom.min()), float(per_atom.mean())]


def ase_deviation_row(step: int, atoms, members: Sequence) -> list[float]:
    """:func:`deviation_row` of an ASE frame whose calculator is the production model (its cached forces and
    stress of this step) and of each member (a ``deepmd.infer.DeepPot``), the virials per atom as LAMMPS."""
    positions, cell = atoms.positions.reshape(1, -1), np.asarray(atoms.cell).reshape(1, -1)
    type_map = list(members[0].get_type_map())
    types = [type_map.index(symbol) for symbol in atoms.get_chemical_symbols()]
    forces = [atoms.get_forces()]
    virials = [(-atoms.get_stress(voigt=False) * atoms.get_volume()).reshape(9)]
    for member in members:
        _, member_forces, member_virial = member.eval(positions, cell, types)[:3]
        forces.append(member_forces.reshape(-1, 3))
        virials.append(member_virial.reshape(9))
    return deviation_row(step, np.array(forces), np.array(virials) / len(atoms))


def write_deviation_header(path: str | Path) -> None:
    """Start ``path`` with the header line ``pair_style deepmd`` writes."""
    Path(path).write_text("#" + "".join(f"{c:>19s}" for c in DEVIATION_COLUMNS) + "\n")


def format_deviation_row(row: Sequence[float]) -> str:
    return f"{int(row[0]):>20d}" + "".join(f"{v:19.6e}" for v in row[1:]) + "\n"


def read_deviation_table(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(steps, max_devi_f in eV/Å) of a ``model_devi.out``; a repeated step keeps its last row, a torn
    last line is skipped."""
    rows: dict[int, float] = {}
    path = Path(path)
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            parts = line.split()
            if line.startswith("#") or len(parts) < 5:
                continue
            try:
                rows[int(parts[0])] = float(parts[4])
            except ValueError:
                continue
    steps = np.array(sorted(rows), dtype=int)
    return steps, np.array([rows[s] for s in steps], dtype=float)


def read_deviation(path: str | Path) -> dict[int, float]:
    """sigma_f_max by timestep from ``model_devi.out`` (column max_devi_f, eV/Å)."""
    steps, values = read_deviation_table(path)
    return {int(s): float(v) for s, v in zip(steps, values)}


def trim_deviation(path: str | Path, before_step: int) -> None:
    """Keep only the header and rows with step < ``before_step``: a run resumed from a restart at that
    step writes those rows again."""
    path = Path(path)
    if not path.is_file():
        return
    kept = []
    for line in path.read_text(errors="replace").splitlines(keepends=True):
        parts = line.split()
        if line.startswith("#"):
            kept.append(line)
        elif parts and parts[0].lstrip("-").isdigit() and int(parts[0]) < before_step and line.endswith("\n"):
            kept.append(line)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text("".join(kept))
    temporary.replace(path)


def deviation_stats(max_devf_eV_A: Sequence[float], *, low_eV_A: float = TRUST_LOW_EV_A,
                    high_eV_A: float = TRUST_HIGH_EV_A, every_steps: int | None = None) -> dict:
    """The distribution of a stage's per-frame max force deviation against the trust window.

    Keys: ``n_frames``, ``every_steps`` (sampling interval, None if unknown), ``median_eV_A``, ``p99_eV_A``,
    ``max_eV_A``, ``share_above_low``, ``share_above_high`` (fractions of frames), ``low_eV_A``, ``high_eV_A``
    and ``warning`` (True when the stage left the window, :func:`leaves_window`).
    """
    values = np.asarray(max_devf_eV_A, dtype=float)
    values = values[np.isfinite(values)]
    if low_eV_A <= 0 or high_eV_A < low_eV_A:
        raise ThioglassError(f"trust window {low_eV_A}-{high_eV_A} eV/Å is not 0 < low <= high")
    if values.size == 0:
        raise ThioglassError("no model deviation frames to summarise")
    stats = {"n_frames": int(values.size), "every_steps": every_steps,
             "median_eV_A": float(np.median(values)), "p99_eV_A": float(np.percentile(values, 99)),
             "max_eV_A": float(values.max()), "share_above_low": float((values > low_eV_A).mean()),
             "share_above_high": float((values > high_eV_A).mean()), "low_eV_A": low_eV_A, "high_eV_A": high_eV_A}
    stats["warning"] = leaves_window(stats)
    return stats


def leaves_window(stats: dict) -> bool:
    """True when more than :data:`WARN_SHARE_ABOVE_LOW` of the frames are above the low bound or any
    frame is above the high bound."""
    return stats["share_above_low"] > WARN_SHARE_ABOVE_LOW or stats["share_above_high"] > 0


def warning_line(stage: str, stats: dict) -> str | None:
    """The one-line warning for a stage that left the trust window (None when it stayed inside)."""
    if not leaves_window(stats):
        return None
    return (f"warning: stage {stage} left the model's trust window: {100 * stats['share_above_low']:.1f} % of "
            f"{stats['n_frames']} frames above {stats['low_eV_A']:g} eV/Å, {100 * stats['share_above_high']:.1f} % "
            f"above {stats['high_eV_A']:g} (max {stats['max_eV_A']:.2f} eV/Å); its results are extrapolated")


def stage_deviation(folder: str | Path, every_steps: int | None = None) -> dict | None:
    """:func:`deviation_stats` of a stage folder's ``model_devi.out`` (None when it has none or it is empty);
    ``every_steps`` defaults to the file's step spacing."""
    steps, values = read_deviation_table(Path(folder) / DEVIATION_FILE)
    if every_steps is None and steps.size > 1:
        every_steps = int(np.median(np.diff(steps)))
    return deviation_stats(values, every_steps=every_steps) if values.size else None
