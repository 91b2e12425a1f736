"""Streaming reader for (extended) XYZ trajectories, one frame in memory at a time.

Why not ``ase.io.iread``: ASE's extxyz reader first scans the whole file to index the
frames, so a damaged frame anywhere stops the run before the first frame is analysed, and
its errors do not say which frame is damaged. Here each frame's text is cut out by its atom
count and handed to ASE's own parser, so every extxyz feature ASE supports still works.
"""

from __future__ import annotations

import io
import re
from itertools import islice
from pathlib import Path
from typing import TextIO

import ase.io
from ase import Atoms

from thioglass.errors import ThioglassError

_TIMESTEP = re.compile(r"\btimestep=(-?\d+)")


class XYZReader:
    """Reads an (extended) XYZ stream frame by frame.

    Parameters
    ----------
    fd
        Open text stream positioned at the start of the file.
    path
        Used in error messages only.
    """

    def __init__(self, fd: TextIO, path: Path | str) -> None:
        self.fd = fd
        self.path = str(path)
        self.index = 0  # index of the frame about to be read
        self.timestep: int | None = None  # the last ``timestep=`` seen (frames may have none)
        self.frame_timestep: int | None = None  # ``timestep=`` of the last frame read or skipped, if it has one

    def skip(self) -> bool:
        """Step over the next frame without parsing it; False at the end of the file."""
        n_atoms = self._read_count()
        if n_atoms is None:
            return False
        comment = self.fd.readline()
        found = (1 if comment else 0) + sum(1 for _ in islice(self.fd, n_atoms))
        self._check(n_atoms, found)
        self._check_order(comment)
        self.index += 1
        return True

    def read(self) -> Atoms | None:
        """Parse the next frame; None at the end of the file."""
        n_atoms = self._read_count()
        if n_atoms is None:
            return None
        body = list(islice(self.fd, n_atoms + 1))
        self._check(n_atoms, len(body))
        self._check_order(body[0])
        text = f"{n_atoms}\n" + "".join(body)
        try:
            atoms = ase.io.read(io.StringIO(text), format="extxyz")
        except KeyError as err:  # ASE's symbol lookup: the file is fine, an element name is not
            raise self._fail(f"unknown element {err.args[0]!r}; name atoms by element symbol (Li, Si, P, S, ...)") \
                from None
        except Exception as err:  # ASE raises many types for malformed lines
            message = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise self._fail(f"cannot parse the frame ({message[:120]}); the file is corrupt") from None
        self.index += 1
        return atoms

    def _check_order(self, comment: str) -> None:
        # Two writers appending to one trajectory repeat or rewind timesteps (frames without one are not checked).
        match = _TIMESTEP.search(comment)
        self.frame_timestep = None
        if match is None:
            return
        timestep = int(match.group(1))
        if self.timestep is not None and timestep <= self.timestep:
            kind = "repeats" if timestep == self.timestep else "goes back from"
            raise self._fail(
                f"timestep {timestep} {kind} {self.timestep}; timesteps must increase (two runs wrote into this "
                "file?): rerun the MD into a new folder"
            )
        self.timestep = self.frame_timestep = timestep

    def _fail(self, what: str) -> ThioglassError:
        return ThioglassError(f"XYZ file '{self.path}' frame {self.index}: {what}")

    def _read_count(self) -> int | None:
        line = self.fd.readline()
        while line and not line.strip():  # blank lines between or after frames
            line = self.fd.readline()
        if not line:
            return None
        try:
            return int(line.split()[0])
        except ValueError:
            raise self._fail(
                f"expected the number of atoms, found '{line.strip()[:60]}'; the file is corrupt"
            ) from None

    def _check(self, n_atoms: int, found: int) -> None:
        if found < n_atoms + 1:
            raise self._fail(
                f"expected a comment line and {n_atoms} atom lines, the file ends after {found} lines "
                "(truncated); drop the incomplete last frame or select earlier frames with --frames"
            )
