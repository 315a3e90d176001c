"""What the deployer knows between restarts: which colour serves which Bento version, what served before,
and how the last operation ended. One JSON file on the deployer's volume, replaced atomically."""

from __future__ import annotations

import os
import re
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from alphapulse.serving.bento import BENTO_NAME

Color = Literal["blue", "green"]
Outcome = Literal["running", "served", "kept previous", "failed"]
#: Docker's rule for an image tag, which a Bento version becomes.
_VERSION = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
#: Versions kept in the history (rollback targets).
HISTORY_LENGTH = 20


def bento_version(tag: str) -> str:
    """``alphapulse:<version>`` or ``<version>`` -> ``<version>``; anything else is refused by name."""
    version = tag.strip().removeprefix(f"{BENTO_NAME}:")
    if not _VERSION.fullmatch(version):
        raise ValueError(
            f"tag: {tag!r} is not a Bento tag ({BENTO_NAME}:<version>, the version made of letters, "
            "digits, '_', '.', '-', at most 128 characters)"
        )
    return version


def other(color: Color) -> Color:
    return "green" if color == "blue" else "blue"


class Slot(BaseModel):
    color: Color
    version: str
    image: str
    container: str
    upstream: str
    since: datetime


class Operation(BaseModel):
    kind: Literal["rollout", "rollback", "bootstrap"]
    version: str
    started_at: datetime
    finished_at: datetime | None = None
    outcome: Outcome = "running"
    detail: str = ""
    #: From the request to the new version answering through the switched proxy.
    seconds_to_served: float | None = None


class DeployState(BaseModel):
    active: Slot | None = None
    #: Versions served before the active one, oldest first.
    history: list[str] = Field(default_factory=list)
    last: Operation | None = None

    def previous(self) -> str:
        if not self.history:
            raise LookupError("no previous Bento version recorded; name the tag to roll back to")
        return self.history[-1]

    def served(self, slot: Slot) -> None:
        if self.active is not None and self.active.version != slot.version:
            self.history = [v for v in self.history if v != self.active.version][-HISTORY_LENGTH + 1 :]
            self.history.append(self.active.version)
        self.history = [v for v in self.history if v != slot.version]
        self.active = slot


def load_state(path: Path) -> DeployState:
    if not path.exists():
        return DeployState()
    return DeployState.model_validate_json(path.read_text(encoding="utf-8"))


def save_state(state: DeployState, path: Path) -> None:
    write_atomically(path, state.model_dump_json(indent=2))


def write_atomically(path: Path, text: str) -> None:
    """Readers (Caddy, a restarted deployer) see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
