"""Run every benchmark script in benchmarks/ and collect their tables in benchmarks/RESULTS.md.

Each ``bench_*.py`` runs as its own subprocess (fresh memory, its own torch threads) with quick
arguments, or the paper sizes with ``--full``; its printed tables, wall time and exit status go
into one Markdown file together with the machine it ran on (CPU count, load average, torch
version, GPU). A script that fails or times out is recorded as such; the others still run.

    python benchmarks/run_all.py                       # quick sizes, writes benchmarks/RESULTS.md
    python benchmarks/run_all.py --full                # paper sizes (long)
    python benchmarks/run_all.py --only scale datasets --out /tmp/results.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from pdesym.atomic import atomic_write

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: Arguments of the known scripts: (quick, full). Scripts not listed run without arguments.
ARGUMENTS: dict[str, tuple[list[str], list[str]]] = {
    "bench_datasets": (["--quick"], []),
    "bench_fno": (["--quick", "--threads", "1"], ["--threads", "1"]),
    "bench_nullspace": (["--repeat", "1", "--points", "500"], []),
    "bench_symbolic": (["--repeat", "1"], []),
    "bench_scale": ([], ["--full"]),
    "bench_discover": (["--quick"], ["--neural"]),
}


def machine() -> list[str]:
    """One line per fact about where the numbers were measured."""
    import torch

    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (GPU rows: not measured)"
    return [
        f"- date (UTC): {dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')}",
        f"- CPU: {os.cpu_count()} logical cores, {platform.processor() or platform.machine()}; "
        f"load average at start {', '.join(f'{v:.1f}' for v in load) if load else 'unknown'} "
        "(a load above the core count means other jobs shared the CPU: rates are lower bounds)",
        f"- GPU: {gpu}",
        f"- Python {platform.python_version()}, torch {torch.__version__}, {platform.system()} {platform.release()}",
    ]


def scripts(only: list[str] | None) -> list[Path]:
    found = sorted(HERE.glob("bench_*.py"))
    if only:
        wanted = {name if name.startswith("bench_") else f"bench_{name}" for name in only}
        missing = wanted - {p.stem for p in found}
        if missing:
            raise SystemExit(f"No benchmark named {', '.join(sorted(missing))}; have: "
                             f"{', '.join(p.stem for p in found)}.")
        found = [p for p in found if p.stem in wanted]
    return found


def run(script: Path, full: bool, timeout: float) -> tuple[list[str], int | str, float, str]:
    quick, paper = ARGUMENTS.get(script.stem, ([], []))
    cmd = [sys.executable, str(script.relative_to(ROOT)), *(paper if full else quick)]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"),
               MKL_NUM_THREADS=os.environ.get("MKL_NUM_THREADS", "1"))
    t0 = time.perf_counter()
    try:
        res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        status: int | str = res.returncode
        output = res.stdout + (f"\n[stderr]\n{res.stderr[-2000:]}" if res.returncode else "")
    except subprocess.TimeoutExpired as exc:
        status = f"timed out after {timeout:g} s"
        output = (exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or "")
    return cmd, status, time.perf_counter() - t0, output


def section(script: Path, cmd: list[str], status: int | str, seconds: float, output: str) -> list[str]:
    shown = " ".join(["python", *cmd[1:]])
    lines = [f"## {script.stem}", "", f"`{shown}` — {seconds:.0f} s, exit status {status}", ""]
    text = output.strip("\n")
    if any(line.startswith("|") for line in text.splitlines()):
        lines += [text, ""]  # the script prints Markdown tables
    else:
        lines += ["```", text, "```", ""]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="paper sizes (each script's full mode)")
    parser.add_argument("--only", nargs="+", help="run only these (e.g. scale datasets)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per script (default 1800, 14400 full)")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()
    timeout = args.timeout or (14400.0 if args.full else 1800.0)
    lines = ["# Benchmark results", "", f"Written by `python benchmarks/run_all.py{' --full' if args.full else ''}`"
             f"{' --only ' + ' '.join(args.only) if args.only else ''}; every script ran as its own process.", "",
             *machine(), ""]
    failures = 0
    for script in scripts(args.only):
        print(f"running {script.name} ...", flush=True)
        cmd, status, seconds, output = run(script, args.full, timeout)
        failures += status != 0
        print(f"  {script.name}: {seconds:.0f} s, status {status}", flush=True)
        lines += section(script, cmd, status, seconds, output)
    atomic_write(args.out, lambda tmp: Path(tmp).write_text("\n".join(lines)))
    print(f"wrote {args.out}" + (f"; {failures} script(s) failed" if failures else ""))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
