"""``thioglass learn``: the concurrent-learning loop from a YAML config, resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def learn(
    config: Optional[Path] = typer.Argument(None, help="YAML config (see --example)."),
    example: bool = typer.Option(False, "--example", help="Print a commented example config and exit."),
    adopt: Optional[list[Path]] = typer.Option(
        None, "--adopt", help="Members trained elsewhere (.pb, .dp, or a folder of them; repeat per file): they "
        "become the first unexplored iteration's ensemble, then the loop goes on. They must be the loop's model "
        "(same descriptor, sel and fitting net)."),
) -> None:
    """Train an ensemble, explore with MD, label the uncertain frames, repeat until converged."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if example:
        from importlib.resources import files

        print((files("thioglass") / "data" / "learn_example.yml").read_text(), end="")
        return
    if config is None:
        from thioglass.errors import ThioglassError

        raise ThioglassError("give a config file: thioglass learn CONFIG.yml (start from --example)")
    from thioglass.cluster import ClusterSettings, get_client
    from thioglass.learn.config import load_config
    from thioglass.learn.loop import Learner
    from thioglass.runinfo import RunSummary

    from thioglass.locking import folder_lock

    settings = load_config(config)  # checks every crystal, composition and cell size first
    summary = RunSummary("learn", {"config": str(config)})
    with folder_lock(settings.workdir, what="learn"), summary.stage("learn"):
        if adopt:
            done = Learner(settings, log=console.print).adopt([str(p) for p in adopt])
            console.print(f"iteration {done.iteration}: " + ("these members were adopted already" if done.unchanged
                          else f"{len(done.members)} members adopted" + (
                              f"; its earlier members moved to {done.replaced}" if done.replaced else "")))
        if settings.workers > 1 or settings.scheduler:
            cluster = ClusterSettings(scheduler=settings.scheduler, workers=settings.workers, threads_per_worker=1)
            with get_client(cluster) as client:
                records = Learner(settings, client=client, log=console.print).run()
        else:
            records = Learner(settings, log=console.print).run()
    table = Table("iteration", "labels", "explored", "accurate %", "candidate", "failed", "force RMSE (val)")
    for r in records:
        rmse = "-" if r.rmse_f_val_ev_per_angstrom is None else f"{r.rmse_f_val_ev_per_angstrom:.3f}"
        table.add_row(str(r.iteration), str(r.labels_total), str(r.explored), f"{100 * r.accurate_fraction:.1f}",
                      str(r.candidate), str(r.failed), rmse)
    console.print(table)
    root = Path(settings.workdir)
    summary.add_output("iterations", root / "iterations.json")
    summary.write(root / "summary.json")
