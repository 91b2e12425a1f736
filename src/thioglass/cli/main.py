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
    pass


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
