"""What every command checks before it starts, applied in one place to every registered command.

:func:`guard` wraps a command function (Typer still sees its signature through ``functools.wraps``):
before the command body runs, its outputs are checked to be writable (:mod:`thioglass.checks`), its
seed and label store are checked, and its output folder is locked (:mod:`thioglass.locking`) for
the commands that write resumable work into one. Ctrl-C inside a command becomes :class:`Interrupted`,
which :func:`thioglass.cli.main.main` prints as one line saying how to resume.

Options are found by their parameter names, so a new command that names its options as the others
do (``out``, ``json_out``, ``output``, ``plots``, ``export``, ``seed``) is checked without a line here.
``thioglass run`` and ``thioglass quench`` lock inside :func:`thioglass.workflow.run.run_glass` and
:func:`thioglass.md.quench.run_quench`, so that the API is locked too.
"""

from __future__ import annotations

import functools
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable

from thioglass.errors import ThioglassError

#: parameter name -> the option users type; these must be writable files.
OUTPUT_FILES = {"json_out": "--json", "output": "--output", "export": "--export"}
#: parameter name -> option; these must be writable folders (created here).
OUTPUT_DIRS = {"out": "--out", "plots": "--plots"}
#: command -> parameter naming a folder that must already exist (option, hint).
INPUT_DIRS = {"train": ("store", "--labels", "make one with thioglass label or thioglass learn")}
#: command -> (parameter of the folder to lock, what the message calls the holder).
LOCKED = {"conductivity": ("out", "conductivity"), "label": ("store", "label"), "train": ("out", "train")}
#: command -> {parameter: option}: output folders a command names its own way.
COMMAND_OUTPUT_DIRS = {"label": {"store": "--store"}}


class Interrupted(ThioglassError):
    """Ctrl-C inside a command."""

    def __init__(self, command: str) -> None:
        super().__init__(f"thioglass {command} stopped (Ctrl-C); rerun the same command to resume: finished work "
                         "is kept")


def guard(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` with the checks and the lock of command ``name`` around it."""

    @functools.wraps(function)
    def checked(*args: Any, **kwargs: Any) -> Any:
        try:
            with ExitStack() as stack:
                check_options(name, kwargs)
                lock = lock_target(name, kwargs)
                if lock is not None:
                    from thioglass.locking import folder_lock

                    stack.enter_context(folder_lock(lock[0], what=lock[1]))
                return function(*args, **kwargs)
        except KeyboardInterrupt:
            raise Interrupted(name) from None

    return checked


def check_options(name: str, kwargs: dict[str, Any]) -> None:
    """Outputs writable, seed not negative, input folders present: before any work."""
    from thioglass.checks import check_input_path, check_output_dir, check_output_file, check_seed

    check_seed(kwargs.get("seed") if isinstance(kwargs.get("seed"), int) else None)
    if name in INPUT_DIRS:
        parameter, option, hint = INPUT_DIRS[name]
        if kwargs.get(parameter) is not None:
            check_input_path(kwargs[parameter], option, folder=True, hint=hint)
    for parameter, option in OUTPUT_FILES.items():
        if isinstance(kwargs.get(parameter), Path):
            check_output_file(kwargs[parameter], option)
    for parameter, option in {**OUTPUT_DIRS, **COMMAND_OUTPUT_DIRS.get(name, {})}.items():
        if isinstance(kwargs.get(parameter), Path):
            check_output_dir(kwargs[parameter], option)
    if name == "elastic":
        _check_elastic(kwargs)


def _check_elastic(kwargs: dict[str, Any]) -> None:
    from thioglass.checks import check_output_dir

    if kwargs.get("route") in ("md", "both") and kwargs.get("out") is None and isinstance(kwargs.get("json_out"), Path):
        check_output_dir(elastic_workdir(kwargs), "--out (default beside --json)")


def elastic_workdir(kwargs: dict[str, Any]) -> Path:
    """The MD route's run folder of ``thioglass elastic`` (as the command derives it)."""
    json_out = kwargs["json_out"]
    return kwargs.get("out") or json_out.with_name(f"{json_out.stem}_md")


def lock_target(name: str, kwargs: dict[str, Any]) -> tuple[Path, str] | None:
    """(folder, what) to lock for command ``name``, or None."""
    if name == "elastic":
        return (elastic_workdir(kwargs), "elastic") if kwargs.get("route") in ("md", "both") else None
    if name == "label" and not (kwargs.get("structures") or kwargs.get("import_file")):
        # Listing or exporting only reads finished labels (each written atomically), so it may run beside
        # the labelling job that holds the store: that is how a long campaign is committed at milestones.
        return None
    if name in LOCKED and kwargs.get(LOCKED[name][0]) is not None:
        return Path(kwargs[LOCKED[name][0]]), LOCKED[name][1]
    return None
