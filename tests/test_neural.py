"""Neural discovery: the span loss, the validity spectrum, the choice of K, training, resume."""

import numpy as np
import pytest
import scipy.linalg
import torch

from pdesym.discovery.neural import choose_dimension, span_loss, validity_spectrum


def _random_problem(k=5, n=400, seed=0):
    g = torch.Generator().manual_seed(seed)
    r = torch.randn(k, n, generator=g)
    w = torch.randn(k, n, 3, generator=g)
    return r, w


def test_validity_spectrum_is_the_generalised_eigenproblem():
    r, w = _random_problem()
    lam, vec = validity_spectrum(r, w)
    a = (r @ r.T / r.shape[1]).numpy()
    g = torch.einsum("kni,lni->kl", w, w).numpy() / w.shape[1]
    ref = scipy.linalg.eigh(a, g, eigvals_only=True)
    np.testing.assert_allclose(lam.numpy(), np.sort(ref), rtol=1e-10)
    # eigenvectors are G-orthonormal and A-diagonal
    v = vec.numpy()
    np.testing.assert_allclose(v.T @ g @ v, np.eye(5), atol=1e-10)
    np.testing.assert_allclose(v.T @ a @ v, np.diag(lam.numpy()), atol=1e-10)


def test_span_loss_depends_only_on_the_span_apart_from_conditioning():
    r, w = _random_problem()
    mix = torch.randn(5, 5, generator=torch.Generator().manual_seed(3)) + 3 * torch.eye(5)
    r2, w2 = mix @ r, torch.einsum("jk,kni->jni", mix, w)
    l1, _ = span_loss(r, w, conditioning=0.0, floor=0.0)
    l2, _ = span_loss(r2, w2, conditioning=0.0, floor=0.0)
    assert float(l1) == pytest.approx(float(l2), rel=1e-10, abs=1e-10)
    # with the conditioning term an orthonormal (G = I) basis of the same span scores lower
    _, vec = validity_spectrum(r, w)
    r3, w3 = vec.T @ r, torch.einsum("jk,kni->jni", vec.T, w)
    l3, g3 = span_loss(r3, w3, conditioning=1.0, floor=0.0)
    l4, _ = span_loss(r2, w2, conditioning=1.0, floor=0.0)
    torch.testing.assert_close(g3, torch.eye(5))
    assert float(l3) < float(l4)


@pytest.mark.parametrize("spectrum, k, accepted", [
    ([1e-16, 2e-16, 1e-15, 3e-16 * 10, 1e-3, 2e-3], 4, True),
    ([1e-6, 2e-6, 5e-6, 1e-5], 2, False),                      # no ratio >= 5
    ([1e-8, 1e-7, 1.2e-6, 1.3e-6], 2, False),                  # 12 vs 10: no clear winner
])
def test_choose_dimension_by_the_largest_validity_ratio(spectrum, k, accepted):
    s = sorted(spectrum)
    got_k, ratio, runner, ok, reason = choose_dimension(s)
    assert (got_k, ok) == (k, accepted), reason
    consecutive = sorted((b / a for a, b in zip(s, s[1:])), reverse=True)  # oracle: λ_{K+1}/λ_K by hand
    assert ratio == pytest.approx(s[k] / s[k - 1]) == pytest.approx(consecutive[0])
    assert runner == pytest.approx(consecutive[1])
