"""Members trained elsewhere (a GPU machine, a longer run) become an iteration's ensemble in the loop.

Why: on a workstation training is most of an iteration's cost, and the loop's fast nets underfit at the
training length it can afford (training/README.md, "Energy offset..."). A GPU machine trains the same members
much further (``training/gpu_bundle.py``, ``training/gpu_device.py``). Adopting them puts those weights into
the loop: it explores with them, and the next iteration's training starts from them.

The rules, each checked before anything is written:

- the members are the loop's model: the same type map, descriptor (type, cutoffs, ``sel``, embedding net,
  axis neurons, ``type_one_side``, precision) and fitting net, because the next iteration trains from their
  weights with the loop's own input (DeePMD's ``--init-frz-model``). A difference is refused, naming it;
- as many members as ``training.models``: an ensemble of adopted and CPU-trained members would mix two
  levels of fit in one model deviation;
- they become the members of the first iteration not yet explored. What that iteration had trained already
  is moved to ``train.replaced-N/``, never deleted, and its audit is redone for the new members;
- a ``.dp`` file (DeePMD-kit's PyTorch backend) is converted and checked by :mod:`thioglass.mlff.convert`;
- each member keeps its provenance in ``model_i/adopted.json`` (source, SHA-256, time). Adopting the same
  files again changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from thioglass.errors import ThioglassError
from thioglass.io.atomic import write_json

#: What must agree between an adopted member and the loop's model (DeePMD's defaults where a key is absent).
DESCRIPTOR_KEYS = {"type": "se_e2_a", "sel": None, "rcut": None, "rcut_smth": None, "neuron": None,
                   "axis_neuron": 4, "type_one_side": False, "precision": "default"}
FITTING_KEYS = {"neuron": None, "resnet_dt": True, "precision": "default"}
ALIASES = {"se_a": "se_e2_a"}


@dataclass(frozen=True)
class Adoption:
    """What :func:`adopt_members` did: the iteration, its member files, and where replaced members went."""

    iteration: int
    members: tuple[str, ...]
    replaced: str | None
    unchanged: bool


def model_files(paths: Sequence[str | Path]) -> list[Path]:
    """The member files named by ``paths``: files as given; a folder gives its ``*.pb``/``*.dp`` files, or its
    ``model_*/frozen_model.pb`` (a loop's or ``train`` folder), sorted."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in (".pb", ".dp") and p.is_file()) or \
                sorted(path.glob("model_*/frozen_model.pb"))
            if not found:
                raise ThioglassError(f"{path} holds no .pb or .dp model; give the member files themselves")
            files += found
        elif path.is_file() and path.suffix in (".pb", ".dp"):
            files.append(path)
        else:
            raise ThioglassError(f"{path} is not a .pb or .dp model file; give the members to adopt")
    return files


def mismatch(expected: dict, found: dict) -> str | None:
    """The first setting of model ``found`` that differs from ``expected`` (DeePMD ``model`` sections), as
    ``'descriptor.sel: [..] here, [..] in the model'``; None when they agree."""

    def value(section: dict, key: str, default):
        got = section.get(key, default)
        return list(got) if isinstance(got, (list, tuple)) else ALIASES.get(got, got) if key == "type" else got

    if list(found.get("type_map", [])) != list(expected["type_map"]):
        return f"type_map: {expected['type_map']} here, {found.get('type_map')} in the model"
    for part, keys in (("descriptor", DESCRIPTOR_KEYS), ("fitting_net", FITTING_KEYS)):
        want, got = expected.get(part, {}), found.get(part, {})
        for key, default in keys.items():
            a, b = value(want, key, default), value(got, key, default)
            if a != b:
                return f"{part}.{key}: {a} here, {b} in the model"
    return None


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def target_iteration(root: Path, iterations: int) -> int:
    """The first iteration of the loop in ``root`` that has not explored yet."""
    for k in range(iterations):
        if not (root / f"iter.{k:03d}" / "select.json").exists():
            return k
    raise ThioglassError(f"every one of the {iterations} iterations of {root} has explored; raise `iterations` "
                         "in the config to adopt members for the next one")


def check_members(files: list[Path], expected: dict, count: int) -> None:
    """Refuse, in one line, members that the loop cannot explore with or train from."""
    from thioglass.mlff.convert import model_definition

    if len(files) != count:
        raise ThioglassError(f"{len(files)} model files given, the loop trains {count} members "
                             "(training.models): adopt a whole ensemble")
    for path in files:
        found = model_definition(path)
        if not found:
            raise ThioglassError(f"{path} carries no training script to check against the loop's model; freeze it "
                                 "with `dp freeze` (TensorFlow) or `dp --pt freeze` then `dp convert-backend`")
        problem = mismatch(expected, found)
        if problem:
            raise ThioglassError(f"{path} is not the loop's model ({problem}); train it from the loop's input "
                                 "(training/gpu_bundle.py --architecture and --sel as the loop's sel.json)")


def _already(train: Path, files: list[Path]) -> bool:
    """True when ``train`` holds exactly these files, adopted and finished."""
    for index, path in enumerate(files):
        record = train / f"model_{index}" / "adopted.json"
        if not (record.exists() and (train / f"model_{index}" / "done.json").exists()):
            return False
        if json.loads(record.read_text()).get("sha256") != sha256(path):
            return False
    return True


def _set_aside(folder: Path) -> str | None:
    """Move the iteration's earlier members (and their audit) to ``train.replaced-N``; its name, or None."""
    train = folder / "train"
    if not train.exists():
        return None
    n = 1
    while (folder / f"train.replaced-{n}").exists():
        n += 1
    aside = folder / f"train.replaced-{n}"
    os.replace(train, aside)
    if (folder / "audit.json").exists():
        os.replace(folder / "audit.json", aside / "audit.json")
    return aside.name


def _install(source: Path, member: Path, steps: int) -> None:
    """One member: the frozen TensorFlow model (converted from a .dp, or copied), provenance, then done.json
    last, so an interrupted adoption never looks finished."""
    from thioglass.mlff.convert import to_tensorflow, with_model_type
    from thioglass.mlff.train import FROZEN

    member.mkdir(parents=True, exist_ok=True)
    if source.suffix == ".dp":
        to_tensorflow(source, member / FROZEN)
    else:
        partial = member / f".partial-{FROZEN}"
        shutil.copyfile(source, partial)
        with_model_type(partial)  # a .pb converted by plain `dp convert-backend` lacks it
        os.replace(partial, member / FROZEN)
    write_json(member / "adopted.json", {"source": str(source.resolve()), "sha256": sha256(source),
                                         "adopted_utc": datetime.now(timezone.utc).isoformat(timespec="seconds")})
    write_json(member / "done.json", {"steps": steps, "compressed": False, "adopted": True})


def adopt_members(root: Path, iterations: int, expected: dict, steps_of, sources: Sequence[str | Path],
                  count: int) -> Adoption:
    """Make ``sources`` the members of the first unexplored iteration of the loop in ``root``.

    ``expected``: the loop's DeePMD ``model`` section; ``steps_of(k)``: the steps iteration ``k`` trains (its
    members are marked trained to them); ``count``: ``training.models``. The caller holds the workdir's lock.
    """
    files = model_files(sources)
    check_members(files, expected, count)
    k = target_iteration(root, iterations)
    folder = root / f"iter.{k:03d}"
    if _already(folder / "train", files):
        return Adoption(k, tuple(str(folder / "train" / f"model_{i}") for i in range(count)), None, True)
    folder.mkdir(parents=True, exist_ok=True)
    replaced = _set_aside(folder)
    steps = steps_of(k)
    members = []
    for index, source in enumerate(files):
        _install(source, folder / "train" / f"model_{index}", steps)
        members.append(str(folder / "train" / f"model_{index}"))
    return Adoption(k, tuple(members), replaced, False)
