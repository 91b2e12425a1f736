"""Checks of a command's inputs and outputs that run before any work, each failing in one line.

Every command validates where it will write and what it will load before it computes anything:
an analysis that runs for minutes must not then die on its output path. New commands call these
(see :mod:`thioglass.cli.preflight` for the table that applies them to every CLI command).
Standard library only, so importing it keeps ``--help`` instant.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from thioglass.errors import ThioglassError

T = TypeVar("T")

#: Largest cell a command builds without being told otherwise (a 1000x1000x1000 supercell once asked for
#: 238 GiB). Raise it with the THIOGLASS_MAX_ATOMS environment variable for a machine that can hold more.
MAX_ATOMS = 200_000


def max_atoms() -> int:
    """:data:`MAX_ATOMS`, or the THIOGLASS_MAX_ATOMS environment variable when it is set."""
    text = os.environ.get("THIOGLASS_MAX_ATOMS", "")
    try:
        return int(text) if text else MAX_ATOMS
    except ValueError:
        raise ThioglassError(f"THIOGLASS_MAX_ATOMS={text!r} is not a whole number of atoms") from None


def check_atom_count(n_atoms: int, what: str) -> None:
    """Refuse cells above :func:`max_atoms` before any memory is allocated for them (lower bounds are the caller's)."""
    limit = max_atoms()
    if n_atoms > limit:
        raise ThioglassError(f"{what} would hold {n_atoms:,} atoms, more than the limit of {limit:,}; use a smaller "
                             "cell, or set THIOGLASS_MAX_ATOMS if this machine can really hold it")


def check_seed(seed: int | None, option: str = "--seed") -> None:
    if seed is not None and seed < 0:
        raise ThioglassError(f"{option} {seed} is negative; give a whole number from 0 up")


def _probe_folder(folder: Path, shown: object) -> None:
    """Create and remove a file in ``folder``: the only test that catches read-only mounts, /proc, ACLs."""
    probe = folder / f".thioglass-write-test-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        probe.unlink()
    except OSError as err:
        raise ThioglassError(f"cannot write in {shown} ({err.strerror}); choose a folder you can write to") from None


def _first_file_in_the_way(path: Path) -> Path | None:
    for parent in [path, *path.parents]:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def _nearest_existing(path: Path) -> Path:
    for parent in [path, *path.parents]:
        if parent.exists():
            return parent
    return Path.cwd()


def check_output_dir(path: Path | str, option: str = "--out") -> Path:
    """``path`` is a folder this process can write in, or one it can make (nothing is created here)."""
    path = Path(path)
    in_the_way = _first_file_in_the_way(path)
    if in_the_way == path:
        raise ThioglassError(f"{option} {path} is an existing file, not a folder; give a folder")
    if in_the_way is not None:
        raise ThioglassError(f"{option} {path} cannot be made: {in_the_way} is a file, not a folder")
    existing = _nearest_existing(path)
    shown = path if existing == path else f"{existing} (to make {path})"
    _probe_folder(existing, shown)
    return path


def check_output_file(path: Path | str, option: str = "--json") -> Path:
    """``path`` can be written: not a folder, and its folder exists or can be made, and is writable."""
    path = Path(path)
    if path.is_dir():
        raise ThioglassError(f"{option} {path} is a folder; give a file name")
    if path.name in ("", ".", ".."):
        raise ThioglassError(f"{option} {path!s} is not a file name")
    in_the_way = _first_file_in_the_way(path.parent)
    if in_the_way is not None:
        raise ThioglassError(f"{option} {path} cannot be written: {in_the_way} is a file, not a folder")
    existing = _nearest_existing(path.parent)
    _probe_folder(existing, existing if existing == path.parent else f"{existing} (to make {path.parent})")
    return path


def check_input_path(path: Path | str, option: str, *, folder: bool | None = None, hint: str = "") -> Path:
    """``path`` exists (and is a folder / a file when ``folder`` says so)."""
    path = Path(path)
    tail = f"; {hint}" if hint else ""
    if not path.exists():
        raise ThioglassError(f"{option} {path} does not exist{tail}")
    if folder is True and not path.is_dir():
        raise ThioglassError(f"{option} {path} is a file, not a folder{tail}")
    if folder is False and not path.is_file():
        raise ThioglassError(f"{option} {path} is a folder, not a file{tail}")
    return path


def check_deepmd_model(path: Path | str) -> Path:
    """A frozen DeePMD-kit TensorFlow model, checked by its content (without loading TensorFlow).

    ``dp freeze`` and ``dp compress`` write a TensorFlow GraphDef (protocol buffer) whose nodes include
    ``model_attr/...``; a text file or another format renamed ``.pb`` would otherwise only fail once
    LAMMPS loads it, after the MD has started.
    """
    path = check_input_path(path, "potential", folder=False, hint="give a frozen DeePMD model (.pb)")
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
        body = head + handle.read()
    if not head or head[0] != 0x0A or b"model_attr" not in body:
        raise ThioglassError(f"{path} is not a frozen DeePMD-kit model (no TensorFlow graph with model_attr "
                             "inside); give the .pb that dp freeze or dp compress wrote")
    return path


def pick_preset(presets: Mapping[str, T], name: str, overrides: Mapping[str, Any], *,
                what: str = "preset", none_keeps: bool = True) -> T:
    """``presets[name]`` with fields replaced by ``overrides``.

    A None override keeps the preset's value (an option the user left out) unless ``none_keeps`` is
    False, for tables where None is itself a setting (``elastic_crystals=none``).

    The one home of the check every preset table makes: an unknown name or an unknown field fails in
    one line that lists the choices, before any work starts.
    """
    from dataclasses import fields, replace

    if name not in presets:
        raise ThioglassError(f"unknown {what} '{name}'; use one of {', '.join(presets)}")
    base = presets[name]
    known = [f.name for f in fields(base)]
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise ThioglassError(f"unknown {what} setting(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return replace(base, **{k: v for k, v in overrides.items() if v is not None or not none_keeps})
