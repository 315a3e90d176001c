"""Shared rich console and progress bar so every command looks and reports the same way."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

#: Wide enough for the evaluation tables when output goes to a file or CI log (a terminal sets its own).
LOG_WIDTH = 180
console = Console(highlight=False)
if not console.is_terminal:
    console = Console(highlight=False, width=LOG_WIDTH)
err_console = Console(stderr=True, highlight=False)


def progress() -> Progress:
    """A progress bar for long work; it disappears when output is not a terminal (CI logs stay clean)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=not console.is_terminal,
        disable=not console.is_terminal,
    )
