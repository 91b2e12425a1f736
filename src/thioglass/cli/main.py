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


#: command name -> (module in thioglass.cli, function); modules import only typer at top level.
COMMANDS = {
    "build": ("build", "build"),
    "crystal": ("crystal", "crystal"),
    "label": ("label", "label"),
    "train": ("train", "train"),
    "test-model": ("test_model", "test_model"),
    "learn": ("learn", "learn"),
    "quench": ("quench", "quench"),
    "analyze": ("analyze", "analyze"),
    "elastic": ("elastic", "elastic"),
    "conductivity": ("conductivity", "conductivity"),
    "rotation": ("rotation", "rotation"),
    "run": ("run", "run"),
    "validate": ("validate", "validate"),
    "validate-model": ("validate_model", "validate_model"),
}
#: sub-command groups: name -> module holding a Typer ``app``.
GROUPS = {"reference": "reference", "bench": "bench"}


def _register() -> None:
    from importlib import import_module

    for name, (module, function) in COMMANDS.items():
        app.command(name)(getattr(import_module(f"thioglass.cli.{module}"), function))
    for name, module in GROUPS.items():
        app.add_typer(import_module(f"thioglass.cli.{module}").app, name=name)


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
