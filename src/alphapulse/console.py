"""Shared rich console, progress bar, log setup and JSON output, so every command looks and reports the
same way."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import sys
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.logging import RichHandler
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
#: The logger every AlphaPulse module logs under (``logging.getLogger(__name__)`` inside the package).
LOGGER_NAME = "alphapulse"


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


def configure_logging(level: str) -> None:
    """AlphaPulse's log records at ``level`` (``ALPHAPULSE_LOG_LEVEL``) on stderr, where they never mix
    with tables or JSON on stdout. Idempotent: a second call only changes the level."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level)
    if not any(getattr(handler, "alphapulse", False) for handler in logger.handlers):
        handler = RichHandler(console=err_console, show_path=False, rich_tracebacks=False)
        handler.alphapulse = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False


def machine_readable(value: Any) -> Any:
    """``value`` as JSON-ready data: Decimal as its exact string (money never passes through float), times
    as ISO 8601, dataclasses and pydantic models as objects, non-finite floats as null."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path | Enum):
        return str(value.value if isinstance(value, Enum) else value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, bool | int | str) or value is None:
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: machine_readable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "model_dump"):
        return machine_readable(value.model_dump())
    if isinstance(value, Mapping):
        return {str(k): machine_readable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [machine_readable(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return machine_readable(value.item())
    raise TypeError(f"no JSON form for {type(value).__name__}")


def print_json(value: Any) -> None:
    """The one JSON document of a ``--json`` command, on stdout (everything else goes to stderr)."""
    sys.stdout.write(json.dumps(machine_readable(value), indent=2, allow_nan=False) + "\n")
    sys.stdout.flush()
