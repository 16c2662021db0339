"""The image module's must-show figures, and the speed of grid-interpolated flows.

Tables (each with a baseline run in the same process):

1. Flow cost: one image warp through the flow of K MLP fields, evaluating each field once on the
   pixel grid and interpolating inside the integrator (pdesym) vs calling the MLP at every stage
   of every step (baseline); ratio = baseline time / pdesym time.
2. Discovery on digits with default settings: span capture of ∂x, ∂y, rotation, scaling, shears
   and the swirl/∂x validity ratio, for the classifier trained with shifts (default) and, as the
   baseline, without augmentation.
3. SEMoLA on rotated digits, default settings, one row per seed: rotation found, ranges, test
   accuracy learned / no augmentation / fixed full rotation (± test-time averaging); mean row.
4. SEMoLA on unrotated digits: accuracy vs no augmentation and the learned rotation range.

    python benchmarks/bench_images.py                 # all tables, 3 seeds (about 10 min on 2 idle cores)
    python benchmarks/bench_images.py --quick         # tables 1-2 and one seed
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from pdesym.flows import field_on_grid, integrate_flow, pixel_grid, to_sampling_grid, warp_images
from pdesym.generators import MLPVectorFields
from pdesym.images.classifier import ClassifierConfig, train_classifier
from pdesym.images.data import load_images
from pdesym.images.discovery import DiscoveryConfig, discover_image_symmetries
from pdesym.images.semola import SemolaConfig, compare_augmentations


def _timed(fn, repeats: int = 5) -> float:
    fn()
    t = time.process_time()
    for _ in range(repeats):
        fn()
    return (time.process_time() - t) / repeats


def flow_table() -> None:
    print("\n## 1. Flow of K=4 MLP fields on 32 images of 24×24 (rk4, 4 steps), CPU seconds per warp")
    print("| evaluation | seconds | ratio |\n|---|---|---|")
    fields = MLPVectorFields(2, 4, hidden=32, depth=2, seed=0, dtype=torch.float32)
    gen = torch.Generator().manual_seed(0)
    imgs = torch.rand(4, 32, 1, 24, 24, generator=gen)
    eps = torch.rand(4, 32, generator=gen) * 0.2

    def grid():
        g = field_on_grid(fields, 24, 24, dtype=torch.float32)
        grids = g[:, None].expand(4, 32, 2, 24, 24).reshape(128, 2, 24, 24)
        warp_images(imgs.reshape(128, 1, 24, 24), grids, eps.reshape(-1), steps=4).sum().backward()

    def direct():
        start = pixel_grid(24, 24, dtype=torch.float32).reshape(1, 1, -1, 2).expand(4, 32, 576, 2).reshape(4, 32 * 576, 2)
        e = -eps[:, :, None].expand(4, 32, 576).reshape(4, -1)
        pts = integrate_flow(fields, start, e, steps=4).reshape(128, 24, 24, 2)
        out = torch.nn.functional.grid_sample(imgs.reshape(128, 1, 24, 24), to_sampling_grid(pts, 24, 24), align_corners=True)
        out.sum().backward()

    t_grid, t_direct = _timed(grid), _timed(direct)
    print(f"| MLP at every stage (baseline) | {t_direct:.4f} | 1.00 |")
    print(f"| once on the grid + interpolation (pdesym) | {t_grid:.4f} | {t_direct / t_grid:.2f} |")


def discovery_table() -> None:
    print("\n## 2. Discovery on digits, default settings (K=4, 300 steps)")
    data = load_images("digits")
    train, test = data.split(0.2, seed=0)
    print("| classifier aug | test acc | ∂x | ∂y | rotation | scaling | shear1 | shear2 | span affine-ness | swirl/∂x | CPU s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for aug in ("shift", "none"):
        t = time.process_time()
        clf = train_classifier(train, ClassifierConfig(augment=aug), test=test)
        r = discover_image_symmetries(clf, train.images, DiscoveryConfig())
        caps = " | ".join(f"{v:.3f}" for v in list(r.capture.values())[:6])
        ratio = r.reference["swirl (non-symmetric)"] / r.reference["∂x"]
        print(f"| {aug}{' (baseline)' if aug == 'none' else ''} | {clf.test_accuracy:.3f} | {caps} | {r.span_affineness:.3f} | {ratio:.1f} | {time.process_time() - t:.1f} |")


def semola_tables(seeds: list[int]) -> None:
    for spec in ("rotated-digits", "digits"):
        print(f"\n## {'3' if spec == 'rotated-digits' else '4'}. SEMoLA on {spec}, default settings")
        print("| seed | rotation found | |cos| rot | ranges | learned | learned+tta | none | fixed rot | fixed rot+tta | rotation range | CPU s | wall s |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        rows = []
        for seed in seeds:
            t, tw = time.process_time(), time.perf_counter()
            data = load_images(spec, seed=seed)
            r = compare_augmentations(data, SemolaConfig(seed=seed))
            a = r.accuracy
            rows.append(r)
            print(f"| {seed} | {'yes' if r.contains_rotation else 'no'} | {max(r.rotation_cosine):.3f} | "
                  f"{', '.join(f'{x:.2f}' for x in r.ranges)} | {a['learned']:.4f} | {a['learned+tta']:.4f} | {a['none']:.4f} | "
                  f"{a['fixed rotation']:.4f} | {a['fixed rotation+tta']:.4f} | {r.rotation_range:.3f} | "
                  f"{time.process_time() - t:.1f} | {time.perf_counter() - tw:.1f} |")
        mean = {k: statistics.mean(r.accuracy[k] for r in rows) for k in rows[0].accuracy}
        print(f"| mean | {sum(r.contains_rotation for r in rows)}/{len(rows)} | | | {mean['learned']:.4f} | {mean['learned+tta']:.4f} | "
              f"{mean['none']:.4f} | {mean['fixed rotation']:.4f} | {mean['fixed rotation+tta']:.4f} | "
              f"{statistics.mean(r.rotation_range for r in rows):.3f} | | |")
        print(f"learned − none: {100 * (mean['learned'] - mean['none']):+.2f} points; "
              f"learned − fixed rotation: {100 * (mean['learned'] - mean['fixed rotation']):+.2f} points; "
              f"with test-time averaging: {100 * (mean['learned+tta'] - mean['fixed rotation+tta']):+.2f} points")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one seed")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", choices=["flow", "discover", "semola"], default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    seeds = list(range(1 if args.quick else args.seeds))
    if args.only in (None, "flow"):
        flow_table()
    if args.only in (None, "discover"):
        discovery_table()
    if args.only in (None, "semola"):
        semola_tables(seeds)


if __name__ == "__main__":
    main()
