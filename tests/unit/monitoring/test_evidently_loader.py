"""Evidently's first import from several threads at once, in a fresh interpreter (as the monitor flow's
concurrent drift and outcome tasks do it): every thread gets the package whole."""

from __future__ import annotations

import subprocess
import sys

RACE = """
import importlib
import threading
from alphapulse.monitoring.evidently_loader import load_evidently

barrier = threading.Barrier(4)
failures = []

#: What the drift task and the outcome task import first (monitoring/drift.py, classification.py).
FIRST_IMPORTS = [
    "evidently.legacy.calculations.stattests.wasserstein_distance_norm",
    "evidently.presets",
]

def first_use(module):
    barrier.wait()
    try:
        load_evidently()
        importlib.import_module(module)
    except Exception as error:
        failures.append(repr(error))

threads = [threading.Thread(target=first_use, args=(m,)) for m in FIRST_IMPORTS * 2]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(failures)
raise SystemExit(1 if failures else 0)
"""


def test_concurrent_first_imports_all_succeed() -> None:
    result = subprocess.run([sys.executable, "-c", RACE], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
