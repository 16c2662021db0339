"""Wall time and recovery quality of ``pdesym discover`` per equation and method (2 cores).

Run: ``PYTHONPATH=. python benchmarks/bench_discover.py [--equations kdv ks burgers]
[--methods nullspace neural] [--steps 800] [--threads 2] [--flow]``

For every equation and method, in a fresh working directory (so the null-space time includes
generating the default dataset): total wall time, the dimension found, how many generators were
verified exactly, the smallest principal cosine of the reported span against the exact algebra
and, for the neural method, of the raw learned span, K chosen and its validity ratio.

Baseline in the same process: one neural training step with the generic residual of
:func:`pdesym.prolongation.characteristic_residual` (nested forward-mode ``jvp``, 2^n passes)
against the Taylor-mode residual the neural path uses (:func:`pdesym.discovery.neural.mlp_residual`,
about n + 2 passes); printed as a ratio. Targets: null space ≤ 15 s including the data,
neural ≤ 3 min. ``--flow`` adds the paper's scoring of the reported generators (finite RK4
flows of 63×63 patches, ``--validity flow``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import torch


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--equations", nargs="+", default=["kdv", "ks", "burgers"])
    parser.add_argument("--methods", nargs="+", default=["nullspace", "neural"])
    parser.add_argument("--steps", type=int, default=1600)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--flow", action="store_true", help="also score with --validity flow on 63×63 patches")
    args = parser.parse_args()
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(args.threads)
    from pdesym.discovery.pipeline import DiscoverOptions, discover

    here = os.getcwd()
    print(f"{'eq':8} {'method':9} {'wall s':>7} {'dim':>3} {'exact':>5} {'min cos':>8} {'learned':>8} "
          f"{'K':>2} {'ratio':>9} {'ok':>5} {'data s':>6} {'flow max':>9}", flush=True)
    f = lambda v, fmt: "—" if v is None else format(v, fmt)  # noqa: E731
    for eq in args.equations:
        for method in args.methods:
            with tempfile.TemporaryDirectory() as tmp:
                os.chdir(tmp)
                try:
                    start = time.perf_counter()
                    opts = DiscoverOptions(method=method, steps=args.steps,
                                           max_generators=5 if eq == "burgers" else 4)
                    run = discover(eq, options=opts, out="runs/bench", plots=False)
                    seconds = time.perf_counter() - start
                    doc = run.document
                    d = doc["discovery"]
                    cos = doc["cosines"] or {}
                    flow = None
                    if args.flow:
                        fopts = DiscoverOptions(method="nullspace", validity="flow", patch_size=(63, 63), patches=16)
                        flow = discover(eq, options=fopts, out="runs/flow", plots=False).document["generators"]
                        flow = max(g["validity"] for g in flow)
                finally:
                    os.chdir(here)
            exact = sum(bool(g["verified"]) for g in doc["generators"])
            ok = d.get("accepted")
            print(f"{eq:8} {method:9} {seconds:7.1f} {doc['dimension']:3d} {exact:5d} {f(cos.get('min'), '8.5f')} "
                  f"{f(cos.get('learned_min'), '8.5f')} {f(d.get('neural_dimension'), '2d')} {f(d.get('ratio'), '9.3g')} "
                  f"{'—' if ok is None else str(ok):>5} {f(doc['timings'].get('data'), '6.2f')} {f(flow, '9.2e')}",
                  flush=True)
    print("\nbaseline: one neural training step (6 fields, 1024 points), generic nested-jvp residual vs Taylor mode")
    for eq in args.equations:
        with tempfile.TemporaryDirectory() as tmp:
            os.chdir(tmp)
            try:
                g, t = _step_time(eq, True), _step_time(eq, False)
            finally:
                os.chdir(here)
        print(f"  {eq:8} nested jvp {g * 1e3:7.1f} ms   Taylor mode {t * 1e3:7.1f} ms   ratio {g / t:5.1f}x")


if __name__ == "__main__":
    main()
