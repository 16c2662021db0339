"""Test helper: run ``pdesym`` in a subprocess and send it a signal once it is part-way."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Callable


def interrupt_when(args: tuple, cwd: Path, env: dict, ready: Callable[[], bool], signum: int,
                   *, wait: float = 90.0) -> tuple[int, str]:
    """Start ``python -m pdesym ARGS``, send ``signum`` as soon as ``ready()`` holds (polled every
    5 ms: a file that says the run is part-way, not a fixed sleep), and return (exit code, output).
    Fails if the run ends before it could be interrupted."""
    proc = subprocess.Popen([sys.executable, "-m", "pdesym", *map(str, args)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + wait
        while not ready() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert proc.poll() is None, "the run ended before it could be interrupted: " + proc.stdout.read()
        proc.send_signal(signum)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, output
