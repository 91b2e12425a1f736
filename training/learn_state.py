"""Pack a learning loop's workdir into files small enough to commit, so the loop resumes from the repository
on another machine (issue 13, part 3). The loop does this itself at every milestone when its plan has a
``milestones`` section (``learn-lisips-3.yml``); this script does it by hand. What is packed, and how to
resume: :mod:`thioglass.learn.state`.

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
from pathlib import Path

from thioglass.learn.state import frame_keys, pack, save_state, state_files  # noqa: F401  (used by tests)


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
    print(save_state(args.workdir, args.archive, args.labels, frame_keys(args.skip_labels_in)))


if __name__ == "__main__":
    main()
