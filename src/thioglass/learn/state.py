"""A learning loop's state in files small enough to commit, so the loop resumes from a repository on another
machine after a session ends (issue 13, part 3).

The archive holds the loop's records (``config.json``, ``sel.json``, ``initial.done``, ``iterations.json`` and
every iteration's ``record.json``, ``select.json``, ``config.json``, ``candidates.extxyz`` and ``audit.json``)
and the members of the last two iterations that trained (frozen models, inputs and learning curves, and the
checkpoint of a member still training), so the next iteration starts from their weights and a member killed
mid-training continues from its checkpoint. MD trajectories and training sets are left out: finished
iterations need neither, and an unfinished one rebuilds its training set from the store. The labels go to
their own compressed extxyz, without the frames of files already committed (the plan's ``initial.labels``).

To resume elsewhere: ``tar xzf ARCHIVE -C PARENT_OF_WORKDIR``, ``thioglass label --import LABELS --store
WORKDIR/labels``, then the same ``thioglass learn`` command.
"""

from __future__ import annotations

import gzip
import os
import re
import tarfile
from pathlib import Path
from typing import Iterable

RECORDS = ("config.json", "sel.json", "initial.done", "iterations.json", "iterations.png")
ITERATION_FILES = ("record.json", "select.json", "config.json", "candidates.extxyz", "audit.json")
MEMBER_FILES = ("frozen_model.pb", "done.json", "input.json", "lcurve.out", "adopted.json")
# Only a member still training needs its checkpoint (model.ckpt.* link the newest step's files, packed as files).
CHECKPOINT_FILES = ("checkpoint", "model.ckpt.index", "model.ckpt.meta", "model.ckpt.data-00000-of-00001")


def state_files(workdir: Path) -> list[Path]:
    """The files of ``workdir`` that the loop needs to resume."""
    files = [workdir / name for name in RECORDS]
    iterations = sorted(workdir.glob("iter.[0-9][0-9][0-9]"))
    for folder in iterations:
        files += [folder / name for name in ITERATION_FILES]
    trained = [folder for folder in iterations if (folder / "train").is_dir()]
    for folder in trained[-2:]:
        for member in sorted((folder / "train").glob("model_*")):
            files += [member / name for name in MEMBER_FILES]
            if not (member / "done.json").is_file():
                files += [member / name for name in CHECKPOINT_FILES]
    return [path for path in files if path.is_file()]


def pack(workdir: str | Path, archive: str | Path) -> int:
    """Write the state archive (members under ``workdir``'s own name); returns the number of files. Written
    beside and renamed, so a kill mid-write leaves the previous archive whole."""
    workdir, archive = Path(workdir), Path(archive)
    files = state_files(workdir)
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(f".partial-{archive.name}")
    with tarfile.open(partial, "w:gz", dereference=True) as tar:
        for path in files:
            tar.add(path, arcname=str(path.relative_to(workdir.parent)))
    os.replace(partial, archive)
    return len(files)


def frame_keys(paths: Iterable[str | Path]) -> set[str]:
    """The ``frame_key`` tags of exported label files, read from their comment lines (no frame is parsed)."""
    keys: set[str] = set()
    for path in map(Path, paths):
        with (gzip.open(path, "rt") if path.suffix == ".gz" else open(path)) as handle:
            keys.update(re.findall(r"frame_key=(\w+)", handle.read()))
    return keys


def save_state(workdir: str | Path, archive: str | Path | None, labels: str | Path | None,
               committed_keys: Iterable[str] = ()) -> str:
    """A milestone: the archive and the label export (leaving out ``committed_keys``, the :func:`frame_keys`
    of files already committed, which the loop imports again at its start). Returns a line for the log."""
    from thioglass.mlff.dataset import export_labels
    from thioglass.reference.label import LabelStore

    parts = []
    if archive:
        parts.append(f"{pack(workdir, archive)} files packed into {archive}")
    if labels:
        count = export_labels(LabelStore(Path(workdir) / "labels"), labels, skip=committed_keys)
        parts.append(f"{count} labels exported to {labels}")
    return "; ".join(parts)
