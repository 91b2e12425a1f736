"""Reuse the reference's side of one validation in another (``validate-model --reference-from``).

Everything the reference computes in a validation depends on the reference, the model's cutoff (the cells
are made wider than twice it), the model's elements and the settings that say how a run is made (not the
targets, the model's own MD or which systems are checked), never on the model itself. So a second model
of the same cutoff and elements, judged against the same reference, can take those results from a
finished or unfinished validation instead of recomputing them: hours of reference MD and relaxations in
the full preset. Only the runs and crystals the new validation checks are copied, so a short validation
can draw on a full one.

``reference-side.json`` in every validation folder records what the reference's results depend on;
:func:`reuse_reference` copies them only when it equals the new validation's. What is copied:

    labels/                      the reference's labels of its MD frames (label store)
    heldout/<run>.json           the frame keys of each finished reference run
    md/reference/<run>/          reference MD runs whose every stage has finished (done.json)
    minimum/<crystal>/           the reference's relaxed cell, E(V) scan and elastic tensor

Files already in the new folder are kept; each copy lands atomically, so a kill leaves no torn file.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

from thioglass.errors import ThioglassError
from thioglass.io.atomic import write_json
from thioglass.mlff.validation.settings import ValidationSettings
from thioglass.mlff.validation.subject import Subject

RECORD_FILE = "reference-side.json"
#: Settings of the model's side only: the reference's results do not depend on them.
MODEL_ONLY = ("model_md_ps", "model_dump_every_ps", "cutoff_angstrom", "fallback_cutoff_angstrom")
#: Which systems are checked: a run is made the same whichever others are in the lists. (The held-out
#: temperatures are not here: a glass's runs start from its melt, the last of them.)
SYSTEM_LISTS = ("heldout_crystals", "glasses", "minimum_crystals", "elastic_crystals", "motif_crystals",
                "motif_temperatures_k")
#: The reference's files of one crystal at its minimum (the model's, e.g. model-at-reference.json, stay).
MINIMUM_FILES = ("reference-relaxed.json", "reference-relaxed.extxyz", "eos-reference.json")
ELASTIC_FILE = "elastic-reference.json"


def reference_side(subject: Subject, settings: ValidationSettings) -> dict:
    """What the reference's results in a validation depend on."""
    from thioglass.mlff.validation.run import TARGETS

    kept = {k: v for k, v in asdict(settings).items() if k not in TARGETS + MODEL_ONLY + SYSTEM_LISTS}
    record = {"reference": subject.reference, "cutoff_angstrom": subject.cutoff_angstrom,
              "elements": sorted(subject.elements), "settings": kept}
    return json.loads(json.dumps(record))  # tuples as lists, as they come back from the file


def write_reference_side(out: Path, subject: Subject, settings: ValidationSettings) -> None:
    write_json(Path(out) / RECORD_FILE, reference_side(subject, settings))


def wanted(subject: Subject, settings: ValidationSettings) -> tuple[set[str], set[str], set[str]]:
    """The reference MD runs, the crystals at the minimum and those with an elastic tensor this validation
    checks."""
    from thioglass.mlff.validation.heldout import run_name
    from thioglass.mlff.validation.motifs import motif_crystals
    from thioglass.mlff.validation.subject import crystal_list

    heldout = (*crystal_list(settings.heldout_crystals, subject), *settings.glasses)
    runs = {run_name(name, t) for name in heldout for t in settings.heldout_temperatures_k}
    runs |= {run_name(name, t) for name in motif_crystals(subject, settings) for t in settings.motif_temperatures_k}
    return (runs, set(crystal_list(settings.minimum_crystals, subject)),
            set(crystal_list(settings.elastic_crystals, subject)))


def reference_files(folder: Path, runs: set[str], minimum: set[str], elastic: set[str]) -> Iterator[Path]:
    """The reference's finished results in a validation folder for these runs and crystals, relative to it."""
    for path in sorted((folder / "labels").rglob("*")):
        if path.is_file():
            yield path.relative_to(folder)
    for run in sorted(runs):
        stages = [p for p in (folder / "md" / "reference" / run).glob("*") if p.is_dir()]
        if stages and all((stage / "done.json").is_file() for stage in stages):
            yield from (p.relative_to(folder) for p in sorted((folder / "md" / "reference" / run).rglob("*"))
                        if p.is_file())
            if (folder / "heldout" / f"{run}.json").is_file():
                yield Path("heldout") / f"{run}.json"
    for crystal in sorted(minimum):
        names = MINIMUM_FILES + ((ELASTIC_FILE,) if crystal in elastic else ())
        yield from (Path("minimum") / crystal / name for name in names if (folder / "minimum" / crystal / name).is_file())


def check_source(source: Path, subject: Subject, settings: ValidationSettings) -> None:
    """Raise :class:`ThioglassError` (one line) when ``source`` is no validation folder or judged another
    reference, cutoff, element set or settings than this validation."""
    source = Path(source)
    record = source / RECORD_FILE
    if not record.is_file():
        raise ThioglassError(f"--reference-from {source}: no {RECORD_FILE} there; give a folder that "
                             "validate-model wrote (this version or later)")
    theirs, ours = json.loads(record.read_text()), reference_side(subject, settings)
    different = sorted(k for k in ours if theirs.get(k) != ours[k])
    if different:
        raise ThioglassError(f"--reference-from {source}: it differs in {', '.join(different)} "
                             f"({RECORD_FILE}), so its reference results do not apply; give a validation with the "
                             "same reference, cutoff (--set cutoff_angstrom=...), elements and settings")


def reuse_reference(source: Path, out: Path, subject: Subject, settings: ValidationSettings) -> int:
    """Copy the reference's results of the validation in ``source`` into ``out`` (after
    :func:`check_source`); returns how many files were copied."""
    source, out = Path(source), Path(out)
    check_source(source, subject, settings)
    if source.resolve() == out.resolve():
        return 0
    copied = 0
    for relative in reference_files(source, *wanted(subject, settings)):
        target = out / relative
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".copying")
        shutil.copy2(source / relative, partial)
        os.replace(partial, target)
        copied += 1
    return copied
