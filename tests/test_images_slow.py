"""End-to-end image runs on digits (slow; small settings, the full 3-seed figures are in
benchmarks/bench_images.py). Oracles: the classifier was trained with shifts, so ∂x and ∂y are
symmetries of it by construction; on rotated digits rotation is a symmetry of the data."""

import pytest

from pdesym.images.classifier import ClassifierConfig, train_classifier
from pdesym.images.data import load_images
from pdesym.images.discovery import DiscoveryConfig, discover_image_symmetries
from pdesym.images.semola import SemolaConfig, compare_augmentations

pytestmark = pytest.mark.slow


def test_discovered_span_holds_the_translations_and_the_swirl_is_invalid():
    data = load_images("digits")
    train, test = data.split(0.2, seed=0)
    clf = train_classifier(train, ClassifierConfig(augment="shift", epochs=6), test=test)
    assert clf.test_accuracy > 0.95
    r = discover_image_symmetries(clf, train.images, DiscoveryConfig(k=4, steps=300, eval_images=128))
    assert r.capture["∂x"] >= 0.95 and r.capture["∂y"] >= 0.95
    assert r.reference["swirl (non-symmetric)"] >= 10 * r.reference["∂x"]
    assert r.span_affineness > 0.9


def test_semola_finds_rotation_on_rotated_digits_and_stays_narrow_on_digits():
    rotated = compare_augmentations(load_images("rotated-digits", seed=0), SemolaConfig(epochs=20, tta=0), baselines=False)
    assert rotated.contains_rotation and rotated.rotation_range > 2.0
    upright = compare_augmentations(load_images("digits"), SemolaConfig(epochs=15, tta=0), baselines=False)
    assert upright.rotation_range < 1.0 and upright.accuracy["learned"] > 0.97
