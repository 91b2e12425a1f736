"""The ensemble on the terminal: ``--ensemble`` checked with a one-line note, and each stage's force
deviation after the run, with a warning line for a stage that left the model's trust window."""

from __future__ import annotations

from pathlib import Path


def resolve_ensemble(console, potential: str | None, text: str | None) -> tuple[str, ...] | None:
    """``--ensemble m1.pb,m2.pb`` checked against ``potential`` (one-line errors), and a note saying what
    the deviation is measured with, or why it is not; the members as absolute paths (None: not given)."""
    from thioglass.mlff.ensemble import ensemble_for, ensemble_note, parse_members

    given = parse_members(text)
    members = ensemble_for(potential, given)
    console.print(f"[dim]{ensemble_note(potential, members)}[/dim]", highlight=False)
    return tuple(str(Path(m).resolve()) for m in members) if given else None


def print_deviation(console, model_deviation: dict[str, dict] | None) -> None:
    """One row per MD stage (median, 99th percentile, max, shares above the window) and one warning line
    per stage that left it; nothing when no deviation was recorded."""
    if not model_deviation:
        return
    from rich.table import Table

    from thioglass.mlff.ensemble import warning_line

    first = next(iter(model_deviation.values()))
    table = Table(title=f"Ensemble force deviation (eV/Å; trust window {first['low_eV_A']:g}-{first['high_eV_A']:g})")
    for column in ("stage", "frames", "median", "p99", "max", f"> {first['low_eV_A']:g}", f"> {first['high_eV_A']:g}"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for stage, s in model_deviation.items():
        table.add_row(stage, str(s["n_frames"]), f"{s['median_eV_A']:.3f}", f"{s['p99_eV_A']:.3f}",
                      f"{s['max_eV_A']:.3f}", f"{100 * s['share_above_low']:.1f} %",
                      f"{100 * s['share_above_high']:.1f} %", style="yellow" if s["warning"] else None)
    console.print(table)
    for stage, s in model_deviation.items():
        line = warning_line(stage, s)
        if line is not None:
            console.print(f"[yellow]{line}[/yellow]", highlight=False)
