"""Pack a learning loop's workdir into files small enough to commit, so the loop resumes from the repository
on another machine (issue 13, part 3).

The archive holds the loop's records (``config.json``, ``sel.json``, ``initial.done``, ``iterations.json``
and every iteration's ``record.json``, ``select.json``, ``config.json``, ``candidates.extxyz`` and ``audit.json``) and the
members of the last two iterations that trained (frozen models, inputs and learning curves, and the
checkpoint of a member still training), so the next iteration starts from their weights (a frozen model
starts them as well as a checkpoint does) and a member killed mid-training continues from its checkpoint.
MD trajectories and the per-iteration training sets are left out: finished iterations need neither, and an
unfinished one rebuilds its training set from the store. The labels go to their own compressed extxyz.

    python training/learn_state.py work/learn-3 training/learn-3-state.tar.gz \
        --labels training/labels-learn-3-sevennet-l3i5.extxyz.gz \
        --skip-labels-in training/relabel-sevennet-l3i5.extxyz.gz training/seed-sevennet-l3i5.extxyz.gz
    # on a fresh checkout
    tar xzf training/learn-3-state.tar.gz -C work
    thioglass label --import training/labels-learn-3-sevennet-l3i5.extxyz.gz --store work/learn-3/labels
    thioglass learn training/learn-lisips-3.yml
"""

from __future__ import annotations

import argparse
import tarfile
from pathlib import Path

RECORDS = ("config.json", "sel.json", "initial.done", "iterations.json", "iterations.png")
ITERATION_FILES = ("record.json", "select.json", "config.json", "candidates.extxyz", "audit.json")
MEMBER_FILES = ("frozen_model.pb", "done.json", "input.json", "lcurve.out")
# Only a member still training needs its checkpoint (model.ckpt.* link the newest step's files, packed as files).
CHECKPOINT_FILES = ("checkpoint", "model.ckpt.index", "model.ckpt.meta", "model.ckpt.data-00000-of-00001")


def state_files(workdir: Path) -> list[Path]:
    """The files of ``workdir`` that the loop needs to resume, relative to its parent."""
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


def pack(workdir: Path, archive: Path) -> int:
    files = state_files(workdir)
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz", dereference=True) as tar:
        for path in files:
            tar.add(path, arcname=str(path.relative_to(workdir.parent)))
    return len(files)


def frame_keys(paths: list[Path]) -> set[str]:
    """The ``frame_key`` tags of exported label files, read from their comment lines (no frame is parsed)."""
    import gzip
    import re

    keys: set[str] = set()
    for path in paths:
        with (gzip.open(path, "rt") if path.suffix == ".gz" else open(path)) as handle:
            keys.update(re.findall(r"frame_key=(\w+)", handle.read()))
    return keys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("archive", type=Path)
    parser.add_argument("--labels", type=Path, help="also export the loop's label store here (extxyz, .gz)")
    parser.add_argument("--skip-labels-in", type=Path, nargs="*", default=[],
                        help="label files already committed (the plan's initial.labels): their frames are left out "
                        "of the export, since the loop imports them again at its start")
    args = parser.parse_args()
    if not (args.workdir / "config.json").is_file():
        raise SystemExit(f"{args.workdir} is not a learning workdir (no config.json)")
    print(f"{pack(args.workdir, args.archive)} files packed into {args.archive}")
    if args.labels:
        from thioglass.mlff.dataset import export_labels
        from thioglass.reference.label import LabelStore

        count = export_labels(LabelStore(args.workdir / "labels"), args.labels, skip=frame_keys(args.skip_labels_in))
        print(f"{count} labels exported to {args.labels}")


if __name__ == "__main__":
    main()
