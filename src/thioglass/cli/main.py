"""The ``thioglass`` Typer application.

Command modules import only typer at module level so that ``thioglass --help`` stays
instant; numpy, ASE and the analysis code are imported inside each command.
"""

from __future__ import annotations

import os
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
    "convert-model": ("convert_model", "convert_model"),
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
    "domain": ("domain", "domain"),
    "study": ("study", "study"),
}
#: sub-command groups: name -> module holding a Typer ``app``.
GROUPS = {"reference": "reference", "bench": "bench"}


def _register() -> None:
    from importlib import import_module

    from thioglass.cli.preflight import guard

    for name, (module, function) in COMMANDS.items():
        app.command(name)(guard(name, getattr(import_module(f"thioglass.cli.{module}"), function)))
    for name, module in GROUPS.items():
        app.add_typer(import_module(f"thioglass.cli.{module}").app, name=name)


_register()


def main() -> None:
    """Entry point: run the app and turn user errors into one line and exit status 2.

    OS errors (a disk, a permission) and value errors that escape a command are shown the same way;
    THIOGLASS_DEBUG=1 shows their traceback instead. Ctrl-C exits with 130 and says how to resume.
    """
    from thioglass.cli.preflight import Interrupted

    try:
        app()
    except Interrupted as err:
        print(f"\n{err}", file=sys.stderr)
        sys.exit(130)
    except ThioglassError as err:
        print(f"Error: {err}", file=sys.stderr)
        sys.exit(2)
    except (OSError, ValueError, MemoryError) as err:
        if os.environ.get("THIOGLASS_DEBUG"):
            raise
        print(f"Error: {one_line(err)}", file=sys.stderr)
        sys.exit(2)


def one_line(err: BaseException) -> str:
    """An unexpected error as one line: what failed, on which file, and where to look further."""
    if isinstance(err, MemoryError):
        return "out of memory; use a smaller cell or fewer frames (THIOGLASS_DEBUG=1 shows where)"
    if isinstance(err, OSError) and err.strerror:
        where = f": {err.filename}" if err.filename else ""
        return f"{err.strerror}{where} (THIOGLASS_DEBUG=1 shows where)"
    text = " ".join(str(err).split()) or type(err).__name__
    return f"{text[:300]} ({type(err).__name__}; THIOGLASS_DEBUG=1 shows the traceback)"


if __name__ == "__main__":
    main()
