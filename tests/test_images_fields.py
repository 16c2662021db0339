"""Pixel-change metric, span capture, validity, classifier files and the learned augmentation: exact oracles."""

import math

import pytest
import sympy as sp
import torch

from pdesym.errors import PdesymError
from pdesym.flows import field_on_grid, pixel_grid
from pdesym.generators import plane_affine_basis
from pdesym.images.classifier import ClassifierConfig, SmallCNN, TrainedClassifier, random_augment
from pdesym.images.discovery import transform_validity
from pdesym.images.fields import (
    affine_summary,
    affine_text,
    normalise_fields,
    pixel_change,
    span_affineness,
    span_capture,
    structure_tensor,
)
from pdesym.images.semola import LearnedAugmentation, SemolaConfig


def test_structure_tensor_of_a_ramp_and_pixel_change_normalisation():
    h = w = 9
    pts = pixel_grid(h, w)
    a, b = 0.7, -0.3
    img = (a * pts[..., 0] + b * pts[..., 1])[None, None].expand(3, 1, h, w)
    s = structure_tensor(img)
    want = torch.tensor([[a * a, a * b], [a * b, b * b]])
    assert torch.allclose(s.permute(2, 3, 0, 1), want.expand(h, w, 2, 2), atol=1e-12)
    fields = field_on_grid(lambda p: plane_affine_basis(p)[:3], h, w)
    # ∂x changes the ramp by a per unit ε: pixel change |a|; rotation by mean |a(-y) + b x|
    pc = pixel_change(fields, s)
    assert math.isclose(pc[0].item(), abs(a), rel_tol=1e-12) and math.isclose(pc[1].item(), abs(b), rel_tol=1e-12)
    rot = ((-a * pts[..., 1] + b * pts[..., 0]) ** 2).mean().sqrt()
    assert math.isclose(pc[2].item(), rot.item(), rel_tol=1e-12)
    normed = normalise_fields(fields, s)
    ref = math.sqrt((a * a + b * b) / 2) * 2.0 / (max(h, w) - 1)  # a one-pixel shift, x and y averaged
    assert torch.allclose(pixel_change(normed, s), torch.full((3,), ref), rtol=1e-12)


def test_span_capture_and_affineness_oracles():
    h = w = 11
    named = field_on_grid(plane_affine_basis, h, w)
    learned = torch.stack([named[0] + named[2], named[1]])
    cap = span_capture(learned, named)
    assert math.isclose(cap[1].item(), 1.0, rel_tol=1e-12)
    # ∂x ⟂ rotation on the symmetric grid: cos(∂x, span) = |∂x| / |∂x + rot|
    r2 = (pixel_grid(h, w) ** 2).sum(-1).mean()
    assert math.isclose(cap[0].item(), 1 / math.sqrt(1 + r2.item()), rel_tol=1e-10)
    assert math.isclose(span_affineness(learned), 1.0, rel_tol=1e-12)
    swirl = field_on_grid(lambda p: torch.exp(-(p**2).sum(-1, keepdim=True) * 4)[None] * plane_affine_basis(p)[2:3], h, w)
    assert span_affineness(swirl) < 0.9
    coeffs, aff = affine_summary(learned)
    assert torch.allclose(coeffs, torch.tensor([[1.0, 0, 1, 0, 0, 0], [0, 1.0, 0, 0, 0, 0]]), atol=1e-12)
    assert torch.allclose(aff, torch.ones(2), atol=1e-12)
    xi, eta, text = affine_text([0, 0, 1.0, 0, 0, 0])
    x, y = sp.symbols("x y", real=True)
    assert sp.simplify(sp.sympify(xi, locals={"x": x, "y": y}) + y) == 0 and sp.simplify(sp.sympify(eta, locals={"x": x, "y": y}) - x) == 0
    assert text == "1·rotation"


def test_validity_vanishes_at_zero_flow_and_grows_with_it():
    torch.manual_seed(0)
    model = SmallCNN(1, 4, 12, 12, (4, 8)).eval()
    imgs = torch.rand(5, 1, 12, 12, generator=torch.Generator().manual_seed(1))
    fields = field_on_grid(lambda p: plane_affine_basis(p)[:2], 12, 12)
    zero = transform_validity(model, imgs, fields, torch.zeros(2, 5))
    assert torch.allclose(zero, torch.zeros(2), atol=1e-12)
    assert torch.allclose(transform_validity(model, imgs, fields, torch.zeros(2, 5), kind="feature"), torch.zeros(2), atol=1e-12)
    big = transform_validity(model, imgs, fields, torch.full((2, 5), 0.5))
    assert bool((big > 1e-6).all())


def test_classifier_save_load_round_trip_and_bad_file(tmp_path):
    torch.manual_seed(0)
    model = SmallCNN(1, 3, 8, 8, (4,)).eval()
    clf = TrainedClassifier(model, ClassifierConfig(widths=(4,), dtype="float64"), (1, 8, 8), ["a", "b", "c"], 0.5, "t")
    clf.save(tmp_path / "c.pt")
    with pytest.raises(PdesymError, match="--force"):
        clf.save(tmp_path / "c.pt")
    back = TrainedClassifier.load(tmp_path / "c.pt")
    x = torch.rand(2, 1, 8, 8)
    assert torch.equal(back.model(x), model(x)) and back.classes == ["a", "b", "c"] and back.test_accuracy == 0.5
    (tmp_path / "bad.pt").write_bytes(b"nonsense")
    with pytest.raises(PdesymError, match="not a pdesym image classifier"):
        TrainedClassifier.load(tmp_path / "bad.pt")


def test_shift_augmentation_is_a_whole_pixel_shift():
    img = torch.zeros(6, 1, 10, 10)
    img[:, 0, 4:6, 3:7] = torch.arange(8.0).reshape(2, 4)
    out = random_augment(img, "shift", torch.Generator().manual_seed(0), shift_pixels=2)
    for o in out:
        hits = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                if torch.equal(o, torch.roll(img[0], (dy, dx), dims=(-2, -1)))]
        assert len(hits) == 1
    assert torch.equal(random_augment(img, "none", torch.Generator()), img)


def test_learned_augmentation_rotation_is_exact_and_ranges_are_capped():
    cfg = SemolaConfig(k=2, init_width=0.5)
    aug = LearnedAugmentation(9, 9, cfg, dtype=torch.float64, device=torch.device("cpu"))
    with torch.no_grad():
        aug.coefficients.copy_(torch.tensor([[0, 0, 2.0, 0, 0, 0], [1.0, 0, 0, 0, 0, 0]]))
        aug.width_logits.fill_(50.0)
    # the rotation keeps its unit size (ε in radians), whatever the raw scale
    assert torch.allclose(aug.normalised_coefficients()[0], torch.tensor([0, 0, 1.0, 0, 0, 0]), atol=1e-12)
    assert bool((aug.ranges <= math.pi).all())
    img = torch.rand(1, 1, 9, 9, generator=torch.Generator().manual_seed(0))
    quarter = aug.transform(img, torch.tensor([[math.pi / 2, 0.0]]))
    assert torch.allclose(quarter, torch.rot90(img, 1, (-2, -1)), atol=1e-12) or torch.allclose(
        quarter, torch.rot90(img, -1, (-2, -1)), atol=1e-12)
    assert float(aug.orthogonality().detach()) < 1e-20  # rotation ⟂ ∂x on the symmetric grid
    with pytest.raises(PdesymError):
        SemolaConfig(init_width=4.0)
    with pytest.raises(PdesymError):
        SemolaConfig(generators="spline")
    mlp = LearnedAugmentation(9, 9, SemolaConfig(k=2, generators="mlp"), dtype=torch.float64, device=torch.device("cpu"))
    g = mlp.grid_fields()
    rms = (g**2).sum(1).mean((-2, -1)).sqrt()
    assert torch.allclose(rms, aug.target_rms.expand(2), rtol=1e-12)
    assert torch.allclose(mlp.transform(img, torch.zeros(1, 2)), img, atol=1e-12)


def test_training_is_seeded_and_leaves_the_callers_random_stream_alone():
    from pdesym.images.classifier import train_classifier
    from pdesym.images.data import ImageSet

    gen = torch.Generator().manual_seed(3)
    data = ImageSet(torch.rand(8, 1, 8, 8, generator=gen, dtype=torch.float64), torch.arange(8) % 2, ["a", "b"], "test")
    config = ClassifierConfig(widths=(2,), epochs=1, batch_size=4, augment="none", dtype="float64", seed=5)
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    first = train_classifier(data, config).model.state_dict()
    assert torch.equal(torch.random.get_rng_state(), state)  # oracle: the global stream is where the caller left it
    second = train_classifier(data, config).model.state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)  # same seed -> same weights
