"""The check a stage passes before it is marked done: its trajectory holds exactly the frames it should.

A stage folder once had two LAMMPS processes appending to one ``traj.dump`` (a rerun beside an
orphan): 645 frames instead of 601, timesteps repeated and going backwards, and the stage was still
marked done, so every later analysis and every rerun inherited the damage. Now a stage whose frames
are not exactly ``0, every, 2*every, ... <= n_steps`` (strictly increasing, evenly spaced, none
missing) is never marked done.
"""

from __future__ import annotations

from pathlib import Path

from thioglass.errors import ThioglassError


def check_stage_trajectory(trajectory: Path | str, n_steps: int, every_steps: int) -> None:
    """Raise a one-line :class:`ThioglassError` unless the frames are at ``range(0, n_steps + 1, every_steps)``."""
    from thioglass.io.read import frame_timesteps

    trajectory = Path(trajectory)
    folder = trajectory.parent
    redo = f"stage {folder} is not marked done: delete that folder and rerun the same command to redo the stage"
    try:
        steps = frame_timesteps(trajectory)
    except ThioglassError as err:
        raise ThioglassError(f"{err}; {redo}") from None
    expected = list(range(0, n_steps + 1, every_steps))
    if steps == expected:
        return
    for k, (found, wanted) in enumerate(zip(steps, expected)):
        if found != wanted:
            raise ThioglassError(f"{trajectory} frame {k} is at timestep {found}, expected {wanted} (frames every "
                                 f"{every_steps} steps from 0 to {n_steps}); {redo}")
    raise ThioglassError(f"{trajectory} has {len(steps)} frames, expected {len(expected)} (every {every_steps} steps "
                         f"from 0 to {n_steps}); {redo}")
