"""Shared test set-up: float64 everywhere, a fixed torch thread count, CLI runner."""

import os

import pytest
import torch

torch.set_default_dtype(torch.float64)
# One thread by default: the suite shares 2 cores with other work, and oversubscribed torch
# threads are far slower than one. PDESYM_TEST_THREADS overrides.
torch.set_num_threads(int(os.environ.get("PDESYM_TEST_THREADS", "1")))


@pytest.fixture
def cli():
    """Invoke ``pdesym`` in-process: ``cli("generate", "kdv", ...)`` -> click Result."""
    from typer.testing import CliRunner

    from pdesym.cli.app import app

    runner = CliRunner()

    def invoke(*args: str, **kwargs):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False, **kwargs)

    return invoke
