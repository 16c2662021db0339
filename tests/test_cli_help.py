"""Every command's ``--help`` shows examples, and every example command line is valid: each one
parses (options and types, through the command groups), and the fast ones run for real."""

from __future__ import annotations

import json
import shlex

import pytest
from rich.text import Text
from typer.core import TyperGroup
from typer.main import get_command

from pdesym.cli.app import app

ROOT = get_command(app)


def _commands(cmd=ROOT, path: tuple[str, ...] = ()):
    """(path, click command) of the root, every group and every command."""
    yield path, cmd
    if isinstance(cmd, TyperGroup):
        for name in cmd.list_commands(None):
            yield from _commands(cmd.commands[name], (*path, name))


COMMANDS = list(_commands())


def _examples(cmd) -> list[str]:
    """The example command lines a command's help shows (from its epilog, or its docstring)."""
    text = Text.from_markup(cmd.epilog or "").plain + "\n" + (cmd.help or "")
    return [line.strip() for line in text.splitlines() if line.strip().startswith("pdesym ")]


ALL_EXAMPLES = list(dict.fromkeys(line for _, cmd in COMMANDS for line in _examples(cmd)))


def _parse(line: str):
    """Parse an example like click does before running it: root options, then each group's command
    and options; returns the leaf context (raises click's UsageError on anything invalid)."""
    args = shlex.split(line)[1:]
    cmd, ctx = ROOT, ROOT.make_context("pdesym", args)
    while isinstance(cmd, TyperGroup):
        rest = [*ctx._protected_args, *ctx.args]
        name, cmd, rest = cmd.resolve_command(ctx, rest)
        ctx = cmd.make_context(name, rest, parent=ctx)
    return ctx


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p) or "pdesym")
def test_help_shows_examples(cli, path):
    cmd = dict(COMMANDS)[path]
    r = cli(*path, "--help")
    assert r.exit_code == 0 and "Example" in r.stdout
    shown = _examples(cmd)
    assert shown, f"pdesym {' '.join(path)} --help has no example"
    flat = " ".join(r.stdout.split())
    for line in shown:
        assert " ".join(line.split()) in flat  # the help text shows it (rich may wrap it)
        if path:  # an example of a command uses that command
            assert " ".join(path) in line


@pytest.mark.parametrize("line", ALL_EXAMPLES)
def test_every_example_parses(line):
    ctx = _parse(line)
    assert ctx.command.callback is not None


#: Examples that run in a second or two each, in an order where each one's inputs exist: the data
#: file and kdv.json feed info and augment, the discovery run feeds report.
RUN = [
    "pdesym generate kdv --n-train 8 --n-valid 2 --n-test 2 --out data/kdv-small.h5",
    "pdesym symmetries kdv --out kdv.json",
    "pdesym symmetries kdv",
    "pdesym --json symmetries burgers",
    "pdesym symmetries 'u_t = nu*u_xx - u*u_x, nu=0.01' --format md",
    "pdesym symmetries ckdv --method ansatz --basis 'sqrt(t+1), 1/sqrt(t+1)' --out ckdv.json",
    "pdesym generate --equation 'u_t = nu*u_xx, nu=0.01' --n-train 4 --n-valid 1 --n-test 1 --nx 64",
    "pdesym equations",
    "pdesym --json equations",
    "pdesym info data/kdv-small.h5",
    "pdesym --json info data/kdv-small.h5 --strict",
    "pdesym augment data/kdv-small.h5 --symmetries kdv.json --copies 2 --scale 0.1 --out data/kdv-aug.h5",
    "pdesym augment data/kdv-small.h5 -s kdv.json -n 4 --scale X1=1,X3=0.1 -o data/kdv-aug.h5 --force",
    "pdesym --json augment data/kdv-small.h5 -s kdv.json -n 1 --scale 0.1 -o data/kdv-aug1.h5",
    "pdesym discover kdv --trajectories 2 --snapshots 20 --points 1500 --out runs/kdv",
    "pdesym report runs/kdv",
    "pdesym report runs/kdv --format latex --out kdv.tex",
    "pdesym --json report runs/kdv",
]


def test_fast_examples_run(cli, tmp_path, monkeypatch):
    assert set(RUN) <= set(ALL_EXAMPLES)  # still what the help shows
    monkeypatch.chdir(tmp_path)
    for line in RUN:
        r = cli(*shlex.split(line)[1:])
        assert r.exit_code == 0, f"{line}\n{r.output}"
        if "--json" in line:
            json.loads(r.stdout)
    assert (tmp_path / "kdv.tex").read_text().startswith(r"\begin{tabular}")
