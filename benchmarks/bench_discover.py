"""pdesym discover with its default settings vs the finite-flow settings of Ko, Kim & Lee (NeurIPS 2024).

Run (1 torch thread, as the CLI; ~10 min on 2 shared cores, ``--quick`` ~3 min):

    PYTHONPATH=. python benchmarks/bench_discover.py [--quick] [--equations kdv ks burgers]
        [--steps 1200] [--threads 1] [--out benchmarks/results/discover_paper.md] [--taylor]

Per equation, three runs in this process, each in a fresh working directory (so every wall time
includes generating its default dataset):

1. ``default`` — baseline: ``pdesym discover EQ`` (null space over cubic monomials, infinitesimal
   validity, 8 trajectories × 80 snapshots);
2. ``flow-score`` — the same generators scored by the paper's finite flow validity
   (``--validity flow``: 16 patches of 64×64 samples moved by exp(εV) with fixed-step RK4,
   8 steps, derivatives re-fitted) on the same default data: the cost of the flow test alone,
   and its fit-error floor on the 80-snapshot data;
``--neural`` adds ``neural`` — pdesym's own neural path (``--method neural``, infinitesimal
validity, default data) — as a control for the paper row;

3. ``paper`` — the paper's method settings (:data:`pdesym.discovery.pipeline.PAPER_FLOW`): MLP
   generators (``--method neural``) scored by the flow validity of 64×64 RK4-flowed patches, on
   data resolved in t (400 snapshots: at 80, KS's fit floor is ~0.3 and exact symmetries are not
   separable from ∂u).

Columns: wall time and its ratio to the baseline run of the same equation, dimension found,
generators verified exactly, the smallest principal cosine of the reported span against the
exact algebra, for neural runs the K chosen and whether its validity gap was accepted (if not,
the run reports the null-space generators instead) and the cosine of the raw learned span, the largest validity of a verified
generator (infinitesimal or flow, as the row says), and for flow rows the ε = 0 fit floor and
the flow validity of ∂u (not a symmetry of any of the three) — an exact symmetry should score at
the floor, orders of magnitude below ∂u. ``--taylor`` adds the older per-step baseline (generic
nested-jvp residual vs the Taylor-mode residual of the neural path).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent


def _step_time(equation: str, generic: bool, reps: int = 5) -> float:
    """Seconds of one forward+backward of the neural objective on 1024 jet points, 6 fields."""
    from pdesym.discovery.neural import mlp_residual, span_loss
    from pdesym.discovery.pipeline import DiscoverOptions, load_samples
    from pdesym.generators import MLPVectorFields
    from pdesym.jets import compute_jets
    from pdesym.prolongation import characteristic_residual

    sample = load_samples(equation, None, DiscoverOptions(trajectories=2, snapshots=20))
    jets = compute_jets(sample.u, sample.x, sample.t, sample.equation).sample(1024, seed=0)
    pts = torch.stack([jets.x, jets.t, jets[(0, 0)]], -1)
    std = pts.std(0)
    model = MLPVectorFields(3, 6, mean=pts.mean(0), std=std, out_scale=std)

    def once():
        if generic:
            fn = lambda x, t, u: model(torch.stack([x, t, u], -1)).transpose(0, 1)  # noqa: E731
            p = characteristic_residual(fn, jets, sample.equation, parts=True)
        else:
            p = mlp_residual(model, jets, sample.equation)
        w = (torch.stack([p.xi, p.tau, p.phi], -1) / std).transpose(0, 1)
        loss, _ = span_loss(p.R.T, w)
        loss.backward()

    once()
    start = time.perf_counter()
    for _ in range(reps):
        once()
    return (time.perf_counter() - start) / reps


def settings(equation: str, quick: bool, steps: int, neural: bool = False) -> dict[str, object]:
    """Row name -> DiscoverOptions for one equation."""
    from pdesym.discovery.pipeline import PAPER_FLOW, DiscoverOptions

    k = 5 if equation == "burgers" else 4
    flow = {"validity": "flow", "patches": 8 if quick else PAPER_FLOW["patches"],
            "patch_size": PAPER_FLOW["patch_size"], "flow_stencil": PAPER_FLOW["flow_stencil"],
            "flow_points": 16 if quick else PAPER_FLOW["flow_points"], "flow_steps": PAPER_FLOW["flow_steps"],
            "flow_method": PAPER_FLOW["flow_method"], "flow_reduce": PAPER_FLOW["flow_reduce"]}
    rows = {
        "default": DiscoverOptions(),
        "flow-score": DiscoverOptions(**flow),
        "neural": DiscoverOptions(method="neural", steps=steps, max_generators=k),
        "paper": DiscoverOptions(**{**PAPER_FLOW, **flow, "steps": steps, "max_generators": k}),
    }
    if not neural:
        del rows["neural"]
    return rows


def run_one(equation: str, options) -> dict[str, object]:
    """``discover`` in a fresh working directory; the numbers of one table row."""
    from pdesym.discovery.pipeline import discover

    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            start = time.perf_counter()
            run = discover(equation, options=options, plots=False)
            doc = run.document
            seconds = time.perf_counter() - start
        finally:
            os.chdir(here)
    d = doc["discovery"]
    cos = doc["cosines"] or {}
    gens = doc["generators"]
    ver = [g["validity"] for g in gens if g["verified"]]
    flow = d.get("flow") or {}
    from pdesym.symbolic import find_symmetries
    from pdesym.symbolic.algebra import canonical_basis, coordinates

    found = [f for f, g in zip(run.fields, gens) if g["verified"]]
    basis = canonical_basis(found) if found else []
    # an exact generator is found when it lies in the span of the verified ones
    missing = [g.field.text() for g in find_symmetries(equation).generators
               if not basis or coordinates(basis, g.field) is None]
    return {"missing": ", ".join(missing) or "—","wall": seconds, "dim": doc["dimension"], "verified": sum(bool(g["verified"]) for g in gens),
            "exact_dim": cos.get("reference_dimension"), "min_cos": cos.get("min"), "learned": cos.get("learned_min"),
            "validity": max(ver) if ver else None, "kind": "flow" if flow else "inf.", "floor": flow.get("floor"),
            "d_u": flow.get("non_symmetry_d_u"), "neural_s": doc["timings"].get("neural"),
            "score_s": doc["timings"].get("verify"),
            "accepted": d.get("accepted"), "k": d.get("neural_dimension"), "snapshots": options.snapshots, "method": options.method}


HEADER = ("| eq | setting | method | snaps | wall s | × default | dim (exact) | verified | min cos | neural K, accepted | learned cos "
          "| validity kind | max validity (verified) | flow floor ε=0 | flow ∂u | scoring s | exact generators not found |")


def neural_text(r: dict) -> str:
    if r["k"] is None:
        return "—"
    return f"{r['k']}, {'yes' if r['accepted'] else 'no → null space'}"


def row_text(eq: str, name: str, r: dict, base: float) -> str:
    f = lambda v, fmt: "—" if v is None else format(v, fmt)  # noqa: E731
    return (f"| {eq} | {name} | {r['method']} | {r['snapshots']} | {r['wall']:.1f} | {r['wall'] / base:.1f} | "
            f"{r['dim']} ({f(r['exact_dim'], 'd')}) | {r['verified']} | {f(r['min_cos'], '.5f')} | "
            f"{neural_text(r)} | "
            f"{f(r['learned'], '.5f')} | {r['kind']} | {f(r['validity'], '.2e')} | {f(r['floor'], '.2e')} | "
            f"{f(r['d_u'], '.2e')} | {f(r['score_s'], '.1f')} | {r['missing']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--equations", nargs="+", default=["kdv", "ks", "burgers"])
    parser.add_argument("--quick", action="store_true", help="400 neural steps, 8 patches × 16 fits (~3 min)")
    parser.add_argument("--steps", type=int, default=None, help="neural steps of the paper row (1200; 400 quick)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None,
                        help="Markdown table (benchmarks/results/discover_paper[_quick].md)")
    parser.add_argument("--neural", action="store_true",
                        help="add pdesym's own neural row (infinitesimal validity, default data) as a control")
    parser.add_argument("--taylor", action="store_true", help="also time one neural step: nested jvp vs Taylor mode")
    args = parser.parse_args()
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(args.threads)
    steps = args.steps or (400 if args.quick else 1200)
    out = args.out or ROOT / "benchmarks" / "results" / f"discover_paper{'_quick' if args.quick else ''}.md"
    load = os.getloadavg()
    lines = [HEADER, "|" + "---|" * (HEADER.count("|") - 1)]
    print(HEADER + "\n" + lines[1], flush=True)
    total = time.perf_counter()
    for eq in args.equations:
        base = None
        for name, options in settings(eq, args.quick, steps, args.neural).items():
            r = run_one(eq, options)
            base = base if base is not None else r["wall"]
            lines.append(row_text(eq, name, r, base))
            print(lines[-1], flush=True)
    total = time.perf_counter() - total
    extra = []
    if args.taylor:
        extra.append("\nBaseline of one neural training step (6 fields, 1024 points): generic nested-jvp residual "
                     "vs Taylor mode")
        for eq in args.equations:
            here = os.getcwd()
            with tempfile.TemporaryDirectory() as tmp:
                os.chdir(tmp)
                try:
                    g, t = _step_time(eq, True), _step_time(eq, False)
                finally:
                    os.chdir(here)
            extra.append(f"- {eq}: nested jvp {g * 1e3:.1f} ms, Taylor mode {t * 1e3:.1f} ms, ratio {g / t:.1f}x")
        print("\n".join(extra))
    from pdesym.atomic import atomic_write
    from pdesym.discovery.pipeline import PAPER_FLOW

    text = "\n".join([
        "# pdesym discover: default settings vs the paper's finite-flow settings (Ko, Kim & Lee 2024)",
        "",
        f"- command: `PYTHONPATH=. python benchmarks/bench_discover.py {' '.join(sys.argv[1:])}`".rstrip(),
        f"- date (UTC): {dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')}; {os.cpu_count()} CPU cores, "
        f"{args.threads} torch thread(s), load average at start {load[0]:.1f} (shared box: times are upper bounds)",
        f"- total wall time {total:.0f} s; neural steps {steps}; paper settings {PAPER_FLOW}"
        + (" (quick: 8 patches × 16 fits)" if args.quick else ""),
        "- rows: `default` = `pdesym discover EQ`; `flow-score` = the same with `--validity flow` (64×64 patches, "
        "RK4 8 steps, ε = 0.05 of the data scale, derivatives re-fitted on 9×13 interior stencils, median); "
        "`paper` = MLP generators + that flow validity on data resolved in t (400 snapshots)",
        "- `× default`: wall time over the `default` row of the same equation (same process)",
        "",
        *lines, *extra, ""])
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    print(f"\nwrote {out} ({total:.0f} s)")


if __name__ == "__main__":
    main()
