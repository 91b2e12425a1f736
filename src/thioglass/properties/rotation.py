"""Paddle-wheel analysis of a trajectory: tetrahedron rotation and the Li motion nearby (paper, Fig. 9).

Wraps :class:`thioglass.analysis.rotation.TetrahedronRotation` with frame spacing read from the
file, and adds the summaries a reader looks at first: the most rotating (window, tetrahedron)
rows, and per tetrahedron its mean and largest angle over the windows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from thioglass.analysis.rotation import TetrahedronRotation
from thioglass.errors import ThioglassError
from thioglass.io.frames import SpacingCheck, infer_stride


@dataclass(frozen=True)
class RotationSettings:
    """Window (ps) and chemistry of the analysis.

    Attributes
    ----------
    window_ps:
        Time between the two frames compared (the paper: 30 ps).
    timestep_fs:
        MD time step.
    stride:
        MD steps between stored frames; None reads it from the frames' step numbers.
    li_radius_angstrom:
        Li within this distance of a centre at the window start count as nearby.
    origin_stride_ps:
        Spacing of window origins; None gives non-overlapping windows.
    cutoff_angstrom:
        Centre-S bond cutoff defining the tetrahedra.
    top:
        Rows kept in ``top_rows``.
    """

    window_ps: float = 30.0
    timestep_fs: float = 1.0
    stride: int | None = None
    li_radius_angstrom: float = 4.0
    origin_stride_ps: float | None = None
    cutoff_angstrom: float = 2.6
    top: int = 10

    def __post_init__(self) -> None:
        if self.top < 1:
            raise ThioglassError("top must be at least 1")
        if self.stride is not None and self.stride < 1:
            raise ThioglassError("stride must be >= 1 MD steps between frames")


def per_tetrahedron(table: list[dict]) -> list[dict]:
    """Mean and largest angle of each tetrahedron over the windows, and its mean nearby-Li displacement."""
    by_centre: dict[int, list[dict]] = {}
    for row in table:
        by_centre.setdefault(row["center_index"], []).append(row)
    out = []
    for centre, rows in by_centre.items():
        angles = np.array([r["angle_deg"] for r in rows])
        disp = [r["li_displacement_mean_angstrom"] for r in rows if r["li_displacement_mean_angstrom"] is not None]
        out.append({
            "center_index": centre,
            "species": rows[0]["species"],
            "angle_mean_deg": float(angles.mean()),
            "angle_max_deg": float(angles.max()),
            "li_displacement_mean_angstrom": float(np.mean(disp)) if disp else None,
            "n_windows": len(rows),
        })
    return sorted(out, key=lambda r: -r["angle_mean_deg"])


def analyse_rotation(path: Path | str, settings: RotationSettings | None = None, *, frames: str = ":",
                     progress: Callable[[int], None] | None = None) -> dict:
    """Rotation angle of every PS4/SiS4 unit per window, nearby Li displacement and their correlation.

    Parameters
    ----------
    path:
        Trajectory (LAMMPS dump or extxyz); read one frame at a time.
    settings:
        :class:`RotationSettings`.
    frames:
        ``START:STOP:STEP`` selection.
    progress:
        Called with the number of frames read so far.

    Returns
    -------
    dict
        :meth:`TetrahedronRotation.result` keys plus ``top_rows`` (largest angles first),
        ``per_tetrahedron`` (sorted by mean angle), ``n_frames``, ``frame_interval_ps`` and
        ``settings``.
    """
    from thioglass.io import iter_frames

    s = settings or RotationSettings()
    stride = s.stride or infer_stride(path, frames)
    if stride is None:
        raise ThioglassError(f"'{path}' does not store step numbers; give the MD steps between frames (--stride)")
    analysis = TetrahedronRotation(window_ps=s.window_ps, timestep_fs=s.timestep_fs, stride=stride,
                                   li_radius_angstrom=s.li_radius_angstrom, origin_stride_ps=s.origin_stride_ps,
                                   cutoff_angstrom=s.cutoff_angstrom)
    spacing = SpacingCheck(stride, path)
    n_frames = 0
    for atoms in iter_frames(path, frames):
        spacing.update(atoms)
        analysis.compute(atoms)
        n_frames += 1
        if progress is not None:
            progress(n_frames)
    result = analysis.result()
    result.update(
        top_rows=sorted(result["table"], key=lambda r: -r["angle_deg"])[: s.top],
        per_tetrahedron=per_tetrahedron(result["table"]),
        n_frames=n_frames,
        frame_interval_ps=analysis.frame_ps,
        trajectory=str(path),
        settings={**asdict(s), "stride": stride},
    )
    return result
