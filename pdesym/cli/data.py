"""``pdesym generate``, ``pdesym equations``, ``pdesym info``: make, list and inspect PDE datasets.

Thin: parse options, call :func:`pdesym.datasets.generate_dataset` / :func:`read_dataset` /
:func:`check_dataset`, print with rich. Every failure is one sentence (see ``command_errors``).
"""

from __future__ import annotations

import re
import shlex
import time
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from pdesym.cli.interrupts import SignalInterrupts
from pdesym.cli.output import command_errors, console, emit, err_console, examples, fail, progress_bar, settings
from pdesym.errors import PdesymError

__all__ = ["register", "default_output"]

#: Torch threads for ``pdesym generate`` unless ``--threads`` says otherwise. Measured on the
#: project's shared 2-core machine (kdv, 48 trajectories, nx 256): 1 thread 26-66 traj/s, 2 threads
#: 1.6-1.7 traj/s (thread-pool spin-waiting under load); see benchmarks/bench_datasets.py.
DEFAULT_THREADS = 1


def default_output(spec: str) -> Path:
    """``data/<preset>.h5`` for a preset, ``data/<equation as a slug>.h5`` for typed equations."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", spec.strip()).strip("_")[:48] or "dataset"
    return Path("data") / f"{slug.lower()}.h5"


def _command_line(spec_args: list[str], options: dict[str, object]) -> str:
    """The provenance command: reconstructed from the parsed options, so identical runs record
    identical text wherever they are launched from."""
    parts = ["pdesym", "generate", *spec_args]
    for name, value in options.items():
        if value is None or value is False:
            continue
        flag = "--" + name.replace("_", "-")
        parts += [flag] if value is True else [flag, str(value)]
    return shlex.join(parts)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_fmt(v)}" for k, v in value.items()) or "-"
    if value is None or value == "":
        return "-"
    return str(value)


def _range(a) -> str:
    """One value if all trajectories share it, else min … max."""
    return f"{a.min():.6g}" if (a == a.flat[0]).all() else f"{a.min():.4g} … {a.max():.4g}"


def _provenance_rows(attrs: dict) -> list[tuple[str, str]]:
    """Readable rows of the root attributes; solver settings of ``generate_batch`` get one row per topic."""
    if not attrs:
        return [("", "none recorded (not written by pdesym)")]
    rows = [(k, _fmt(attrs[k])) for k in ("equation", "preset", "parameters", "seed") if k in attrs]
    solver = attrs.get("solver")
    if isinstance(solver, dict) and {"length", "nx", "dt", "t_end"} <= set(solver):
        g = solver.get
        rows += [
            ("solver", str(g("solver_message") or g("solver") or g("method"))),
            ("domain", f"L = {g('length'):.6g}, nx = {g('nx')}, t from {g('t_start', 0):.6g} over {g('t_end'):.6g} "
                       f"in {g('nt_out')} snapshots, warm-up {g('warmup', 0):.6g}"),
            ("time step", f"dt = {g('dt'):.6g}" + (f" ({g('dt_note')})" if g("dt_note") else "")),
            ("initial data", f"{g('modes')} random Fourier modes, amplitude ≤ {g('amplitude')}, "
                             f"wavenumbers ≤ {g('max_wavenumber')}"),
            ("computed with", f"{g('dtype')} on {g('device')}"),
            ("settings from", str(g("source", "-"))),
        ]
    elif solver is not None:
        rows.append(("solver", _fmt(solver)))
    if "world_size" in attrs:
        shards = attrs.get("shards") or []
        rows.append(("written by", f"{attrs['world_size']} processes; virtual dataset over {len(shards)} shard "
                                   f"files ({', '.join(map(str, shards[:2]))}{', …' if len(shards) > 2 else ''})"))
    if isinstance(attrs.get("dropped"), dict):
        lost = {k: v for k, v in attrs["dropped"].items() if v}
        rows.append(("blown up, dropped", "; ".join(f"{k}: {len(v)} ({', '.join(map(str, v[:8]))}"
                                                    f"{', …' if len(v) > 8 else ''})" for k, v in lost.items())
                     or "none"))
    rows += [(k, _fmt(attrs[k])) for k in ("pdesym_version", "created", "command", "format") if k in attrs]
    return rows


def _leave_process_group() -> None:
    """Destroy the process group before exiting: a rank that exits with a live gloo group can abort
    (SIGABRT) when its peers close their connections first."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _report_dropped(path: Path) -> None:
    """Tell the user which trajectories --on-blowup drop left out (recorded in the attribute 'dropped')."""
    import json

    import h5py

    with h5py.File(path, "r") as f:
        dropped = json.loads(f.attrs.get("dropped", "{}"))
    lost = {k: v for k, v in dropped.items() if v}
    if not lost:
        console.print("No trajectory blew up; none was dropped.")
        return
    parts = [f"{k}: {len(v)} ({', '.join(map(str, v[:10]))}{', …' if len(v) > 10 else ''})" for k, v in lost.items()]
    err_console.print(f"[yellow]Warning:[/] dropped blown-up trajectories (indices recorded in the attribute "
                      f"'dropped'): {'; '.join(parts)}.", soft_wrap=True)


def _split_record(s) -> dict:
    """JSON summary of one split: shape, dtype, domain length, spacings, times and seeds."""
    t = s.t.reshape(-1, s.nt)
    length = s.dx * s.nx
    return {"shape": [s.n, s.nt, s.nx], "dtype": str(s.u.dtype),
            "length": [float(length.min()), float(length.max())], "dx": [float(s.dx.min()), float(s.dx.max())],
            "t": [float(t[:, 0].min()), float(t[:, -1].max())], "dt": [float(s.dt.min()), float(s.dt.max())],
            "seed": s.attrs.get("seed")}


def _shapes(path: Path) -> dict:
    """{split: [N, nt, nx]} of a written dataset (metadata only, no field is read)."""
    from pdesym.datasets import read_dataset

    with read_dataset(path, check_finite=False) as ds:
        return {name: [s.n, s.nt, s.nx] for name, s in ds.splits.items()}


def _dropped(path: Path) -> dict:
    """The trajectories that --on-blowup drop left out, per split (the attribute 'dropped')."""
    import json

    import h5py

    with h5py.File(path, "r") as f:
        return {k: v for k, v in json.loads(f.attrs.get("dropped", "{}")).items() if v}


def register(app: typer.Typer) -> None:
    """Add ``generate``, ``equations`` and ``info`` to the root app."""

    @app.command("generate", epilog=examples(
        "pdesym generate kdv --n-train 8 --n-valid 2 --n-test 2 --out data/kdv-small.h5",
        "pdesym generate --equation 'u_t = nu*u_xx, nu=0.01' --n-train 4 --n-valid 1 --n-test 1 --nx 64",
        "pdesym --json generate burgers --n-train 16 --seed 1 --out data/burgers.h5 --force"))
    @command_errors
    def generate(
        preset: Optional[str] = typer.Argument(None, help="A preset (see 'pdesym equations'): kdv, ks, burgers, "
                                                          "heat, nkdv, ckdv."),
        equation: Optional[str] = typer.Option(None, "--equation", "-e",
                                               help="An equation instead of a preset, e.g. "
                                                    "'u_t + u*u_x + u_xxx = 0' or 'u_t = nu*u_xx, nu=0.01'."),
        n_train: int = typer.Option(64, "--n-train", help="Training trajectories."),
        n_valid: int = typer.Option(16, "--n-valid", help="Validation trajectories."),
        n_test: int = typer.Option(16, "--n-test", help="Test trajectories."),
        nx: Optional[int] = typer.Option(None, "--nx", help="Grid points (default: the preset's)."),
        nt_out: Optional[int] = typer.Option(None, "--nt-out", help="Stored snapshots per trajectory."),
        dt: Optional[float] = typer.Option(None, "--dt", help="Solver time step."),
        length: Optional[float] = typer.Option(None, "--length", help="Domain length L (periodic)."),
        t_end: Optional[float] = typer.Option(None, "--t-end", help="Final time."),
        seed: int = typer.Option(0, "--seed", help="Base seed; each split derives its own."),
        device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
        dtype: str = typer.Option("float64", "--dtype", help="float64 or float32."),
        chunk: Optional[int] = typer.Option(None, "--chunk", help="Trajectories solved and written at a time "
                                            "(bounds memory; default 64 on the CPU, from free memory on CUDA)."),
        threads: int = typer.Option(DEFAULT_THREADS, "--threads", help="Torch CPU threads."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output file (default data/<preset>.h5)."),
        force: bool = typer.Option(False, "--force", help="Overwrite --out if it exists."),
        resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run from its partial file "
                                                            "(.NAME.partial.h5); the options must be the same."),
        on_blowup: str = typer.Option("stop", "--on-blowup", help="stop: report the trajectory and stop; drop: leave "
                                                                  "blown-up trajectories out and record them."),
        distributed: bool = typer.Option(False, "--distributed", help="One shard per torchrun process, joined into "
                                                                      "--out (automatic under torchrun)."),
    ) -> None:
        """Solve an equation for train/valid/test trajectories and write an LPSDA-layout HDF5 file."""
        import torch

        from pdesym.datasets import generate_dataset
        from pdesym.distributed import environment_world
        from pdesym.errors import check_choice
        from pdesym.partial import partial_path

        if (preset is None) == (equation is None):
            raise PdesymError(
                "Give either a PRESET (e.g. 'pdesym generate kdv') or --equation TEXT, not both or neither."
            )
        if threads < 1:
            raise PdesymError(f"--threads must be at least 1, got {threads}.")
        check_choice("--on-blowup", on_blowup, ("stop", "drop"))
        world = environment_world()
        distributed = distributed or (world is not None and world.world_size > 1)
        if preset is not None:
            from pdesym.solvers import SOLVER_PRESETS

            check_choice("preset", preset.strip().lower(), SOLVER_PRESETS)
            spec, spec_args = preset.strip().lower(), [preset.strip().lower()]
        else:
            from pdesym.equations import get_equation

            # parse before the progress bar: a typo or a non-evolution equation is one sentence, no bar
            typed = get_equation(equation)
            if not typed.is_evolution:
                raise PdesymError(
                    f"pdesym generate solves evolution equations u_t = K(x, t, u, u_x, ...), but {typed.text!r} "
                    f"is solved for {typed.leading}; write it with u_t alone on the left, e.g. 'u_t = u_xx'."
                )
            spec, spec_args = equation, ["--equation", equation]
        out = out if out is not None else default_output(spec)
        options = dict(n_train=n_train, n_valid=n_valid, n_test=n_test, nx=nx, nt_out=nt_out, dt=dt, length=length,
                       t_end=t_end, seed=seed, device=device, dtype=dtype, chunk=chunk, out=out, force=force,
                       on_blowup=on_blowup if on_blowup != "stop" else None)
        # --resume, --force, --distributed do not change the data: an interrupted and a resumed run,
        # or a single-process and a distributed run, record the same command
        command = _command_line(spec_args, {k: v for k, v in options.items() if k != "force"})
        previous = torch.get_num_threads()
        torch.set_num_threads(threads)
        total = max(0, n_train) + max(0, n_valid) + max(0, n_test)
        start = time.perf_counter()
        context = None
        if distributed:
            from pdesym.distributed import init_distributed

            context = init_distributed()
        main_rank = context is None or context.is_main
        bar = progress_bar()
        task = None

        interrupts = SignalInterrupts()

        def report(done: int, total_: int) -> None:
            nonlocal task
            interrupts.check()
            if not main_rank:
                return
            if task is None:  # first call: the arguments passed validation, solving begins
                bar.start()
                task = bar.add_task(spec if preset else "equation", total=total_, status="")
            rate = done / max(time.perf_counter() - start, 1e-9)
            bar.update(task, completed=done, total=total_, status=f"{rate:.2f} traj/s" if done else "")

        kwargs = dict(n_train=n_train, n_valid=n_valid, n_test=n_test, seed=seed, nx=nx, nt_out=nt_out, dt=dt,
                      length=length, t_end=t_end, device=device, dtype=dtype, chunk=chunk, force=force,
                      resume=resume, on_blowup=on_blowup, progress=report, command=command)
        try:
            with interrupts:
                if distributed:
                    from pdesym.shards import generate_sharded

                    path = generate_sharded(spec, out, **kwargs)
                else:
                    path = generate_dataset(spec, out, **kwargs)
        except KeyboardInterrupt:
            bar.stop()
            where = "each rank's shard partial file" if distributed else str(partial_path(out))
            raise fail(f"Interrupted; nothing was written under {out}; the completed chunks are kept in {where}: "
                       "rerun the same command with --resume to continue.", 130) from None
        finally:
            bar.stop()
            torch.set_num_threads(previous)
            if context is not None:
                _leave_process_group()
        if not main_rank:
            return
        elapsed = time.perf_counter() - start
        if settings.json:
            emit({"file": str(path), "splits": _shapes(path), "trajectories": total,
                  "timings": {"total": round(elapsed, 4)},
                  "trajectories_per_second": round(total / max(elapsed, 1e-9), 4),
                  "processes": context.world_size if context is not None else 1, "seed": seed,
                  "dropped": _dropped(path) if on_blowup == "drop" else {}})
            return
        lost = _dropped(path) if on_blowup == "drop" else {}
        kept = ", ".join(f"{k} {max(0, n) - len(lost.get(k, []))}" + (f" ({len(lost[k])} dropped)" if lost.get(k) else "")
                         for k, n in (("train", n_train), ("valid", n_valid), ("test", n_test)))
        console.print(f"Wrote {path}: {kept} trajectories "
                      f"in {elapsed:.1f} s ({total / max(elapsed, 1e-9):.2f} traj/s)"
                      + (f" by {context.world_size} processes (virtual dataset over their shards)" if distributed
                         else "") + ".", soft_wrap=True)
        if on_blowup == "drop":
            _report_dropped(path)
            empty = [k for k, n in (("train", n_train), ("valid", n_valid), ("test", n_test))
                     if n > 0 and len(lost.get(k, [])) >= n]
            if empty:
                err_console.print(f"[yellow]Warning:[/] every trajectory of {', '.join(empty)} blew up, so the file "
                                  "holds none there; try a smaller --dt.", soft_wrap=True)

    @app.command("equations", epilog=examples("pdesym equations", "pdesym --json equations"))
    @command_errors
    def equations() -> None:
        """List the equation presets with their solver settings."""
        from pdesym.solvers import SOLVER_PRESETS

        if settings.json:
            emit({"presets": [
                {"name": name, "equation": p.equation.text,
                 "parameters": {k: float(v) for k, v in p.equation.params.items() if v is not None},
                 "length": float(p.length), "nx": int(p.nx), "t_start": float(p.warmup),
                 "t_end": float(p.warmup + p.t_end), "snapshots": int(p.nt_out), "dt": float(p.dt),
                 "method": p.method} for name, p in SOLVER_PRESETS.items()]})
            return
        table = Table(title="Equation presets (pdesym generate PRESET)", title_justify="left")
        for col in ("preset", "equation", "L", "nx", "stored t", "snapshots", "dt"):
            table.add_column(col, justify="left" if col in ("preset", "equation", "stored t") else "right",
                             style="bold" if col == "preset" else None, no_wrap=col != "equation")
        for name, p in SOLVER_PRESETS.items():
            eq = p.equation
            params = ", ".join(f"{k} = {float(v):g}" for k, v in eq.params.items() if v is not None)
            text = eq.text + (f" ({params})" if params else "")
            table.add_row(name, text, f"{p.length:.4g}", str(p.nx), f"{p.warmup:g} … {p.warmup + p.t_end:g}",
                          str(p.nt_out), f"{p.dt:g}" + ("" if p.method == "auto" else f" {p.method}"))
        console.print(table)

    @app.command("info", epilog=examples("pdesym info data/kdv-small.h5",
                                         "pdesym --json info data/kdv-small.h5 --strict"))
    @command_errors
    def info(
        file: Path = typer.Argument(..., help="A dataset file (.h5, LPSDA layout)."),
        strict: bool = typer.Option(False, "--strict", help="Exit with code 1 when a sanity check fails."),
    ) -> None:
        """Splits, shapes, grid, provenance and sanity checks of a dataset file."""
        from pdesym.datasets import check_dataset, read_dataset

        with read_dataset(file) as ds:
            if settings.json:
                checks = check_dataset(ds)
                failed = sum(c.ok is False for c in checks)
                doc = {"file": str(file), "splits": {name: _split_record(s) for name, s in ds.splits.items()},
                       "provenance": ds.attrs,
                       "checks": [{"split": c.split, "name": c.name, "value": c.value, "ok": c.ok, "note": c.note}
                                  for c in checks],
                       "failed": failed}
                if failed and strict:
                    doc["error"] = f"{failed} sanity check(s) failed; see 'checks'."
                emit(doc)
                if failed and strict:
                    raise typer.Exit(1)
                return
            table = Table(title=f"{file}", title_justify="left")
            for col in ("split", "N × nt × nx", "dtype", "L", "dx", "t", "dt", "seed"):
                table.add_column(col, justify="left" if col in ("split", "dtype", "t") else "right")
            for name, s in ds.splits.items():
                t = s.t.reshape(-1, s.nt)
                table.add_row(name, f"{s.n} × {s.nt} × {s.nx}", str(s.u.dtype), _range(s.dx * s.nx), _range(s.dx),
                              f"{t[:, 0].min():.4g} … {t[:, -1].max():.4g}", _range(s.dt), _fmt(s.attrs.get("seed")))
            console.print(table)
            prov = Table(title="Provenance", title_justify="left", show_header=False)
            prov.add_column("", style="bold")
            prov.add_column("")
            for key, value in _provenance_rows(ds.attrs):
                prov.add_row(key, value)
            console.print(prov)
            checks = check_dataset(ds)
        ct = Table(title="Sanity checks (all values finite: ✓)", title_justify="left")
        for col in ("split", "check", "value", "", "note"):
            ct.add_column(col)
        failed = 0
        for c in checks:
            mark = {True: "[green]✓[/]", False: "[yellow]⚠[/]", None: ""}[c.ok]
            failed += c.ok is False
            ct.add_row(c.split, c.name, f"{c.value:.3g}", mark, c.note)
        console.print(ct)
        if failed:
            err_console.print(f"[yellow]Warning:[/] {failed} sanity check(s) failed; see the table above.")
            if strict:
                raise typer.Exit(1)
        elif not settings.quiet:
            console.print("All sanity checks passed.")
