"""The ``alphapulse`` command line: the commands in ``app``, the tables they print in ``render``."""

from alphapulse.cli.app import app

__all__ = ["app"]
