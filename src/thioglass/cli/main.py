"""The ``thioglass`` Typer application.

Command modules import only typer at module level so that ``thioglass --help`` stays
instant; numpy, ASE and the analysis code are imported inside each command.
"""

from __future__ import annotations

import sys

import typer

from thioglass.errors import ThioglassError

app = typer.Typer(
    name="thioglass",
    help="Build, simulate and analyse Li2S-SiS2-P2S5 glassy electrolytes.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    # Each command module imports only typer at module level (see module docstring).
    from thioglass.cli import analyze, bench

    app.command("analyze")(analyze.analyze)
    app.add_typer(bench.app, name="bench")
    from thioglass.cli import build as build_cmd
    from thioglass.cli import crystal as crystal_cmd

    app.command("build")(build_cmd.build)
    app.command("crystal")(crystal_cmd.crystal)
    from thioglass.cli import label, learn, reference, test_model, train

    app.command("label")(label.label)
    app.command("train")(train.train)
    app.command("test-model")(test_model.test_model)
    app.command("learn")(learn.learn)
    app.add_typer(reference.app, name="reference")
    from thioglass.cli import quench as quench_cmd

    app.command("quench")(quench_cmd.quench)
    from thioglass.cli import conductivity as conductivity_cmd
    from thioglass.cli import elastic as elastic_cmd
    from thioglass.cli import rotation as rotation_cmd

    app.command("elastic")(elastic_cmd.elastic)
    app.command("conductivity")(conductivity_cmd.conductivity)
    app.command("rotation")(rotation_cmd.rotation)


_register()


def main() -> None:
    """Entry point: run the app and turn user errors into one line and exit status 2."""
    try:
        app()
    except ThioglassError as err:
        print(f"Error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
