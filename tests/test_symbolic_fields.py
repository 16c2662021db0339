"""Vector fields: text, LaTeX, algebra, numerics, JSON round trips; numeric span comparison."""

import numpy as np
import pytest
import sympy as sp
import torch

from pdesym.equations import T, U, X
from pdesym.errors import PdesymError
from pdesym.symbolic import VectorField, grassmann_distance, principal_cosines, read_expression, sample_fields

V = VectorField


@pytest.mark.parametrize("field, text", [
    (V(1, 0, 0), "∂x"),
    (V(0, 0, 0), "0"),
    (V(T, 0, 1), "t∂x + ∂u"),
    (V(X, 3 * T, -2 * U), "x∂x + 3t∂t − 2u∂u"),
    (V(T * X, T**2, X - T * U), "tx∂x + t²∂t + (x − tu)∂u"),
    (V(-1, -T, 0), "−∂x − t∂t"),
    (V(2 * sp.sqrt(T + 1), 0, 1 / sp.sqrt(T + 1)), "2√(t + 1)∂x + ∂u/√(t + 1)"),
    (V(50 * sp.exp(T / 50), 0, 1), "50·exp(t/50)∂x + ∂u"),
    (V(X, 3 * T + 3, -2 * U), "x∂x + 3(t + 1)∂t − 2u∂u"),
])
def test_text_is_the_simplest_unicode_form(field, text):
    assert field.text() == text == str(field)
    assert "+ -" not in field.text() and "+ −" not in field.text()


def test_symbolic_parameters_print_as_greek_letters_and_signs_factor_out():
    nu = sp.Symbol("nu", real=True)
    f = V(4 * nu * T * X, 4 * nu * T**2, -(X**2 + 2 * nu * T) * U)
    assert f.text() == "4νtx∂x + 4νt²∂t − (x² + 2νt)u∂u"
    assert f.latex() == r"4 \nu t x \partial_x + 4 \nu t^{2} \partial_t - u \left(2 \nu t + x^{2}\right) \partial_u"


def test_latex():
    assert V(X, 3 * T, -2 * U).latex() == r"x \partial_x + 3 t \partial_t - 2 u \partial_u"
    assert V(0, 0, 1).latex() == r"\partial_u"


def test_linear_operations_and_bracket():
    a, b = V(X, 3 * T, -2 * U), V(T, 0, 1)
    assert a + b == V(X + T, 3 * T, 1 - 2 * U)
    assert 2 * a - a == a and (a * sp.Rational(1, 2)).xi == X / 2
    assert a.bracket(b) == V(2 * T, 0, 2)  # [S, G] = 2G
    assert V(1, 0, 0).bracket(a) == V(1, 0, 0)
    p, q, r = V(X * U, T, X**2), V(U, T * X, 1), V(T**2, U, X)
    jacobi = p.bracket(q.bracket(r)) + q.bracket(r.bracket(p)) + r.bracket(p.bracket(q))
    assert jacobi.is_zero() and (p.bracket(q) + q.bracket(p)).is_zero()


def test_numeric_torch_and_numpy_broadcast_constants():
    f = V(1, sp.exp(-T / 50), X * U)
    x = torch.linspace(0, 1, 5)[:, None]
    t = torch.linspace(0, 2, 3)[None, :]
    u = torch.tensor(2.0)
    out = f.numeric("torch")(x, t, u)
    assert out.shape == (5, 3, 3) and out.dtype == torch.float64
    assert torch.allclose(out[..., 0], torch.ones(5, 3))
    assert torch.allclose(out[..., 1], torch.exp(-t / 50).expand(5, 3))
    assert torch.allclose(out[..., 2], (2 * x).expand(5, 3))
    outn = f.numeric("numpy")(x.numpy(), t.numpy(), 2.0)
    assert np.allclose(outn, out.numpy(), rtol=0, atol=1e-15)


def test_numeric_needs_parameter_values():
    nu = sp.Symbol("nu", real=True)
    f = V(2 * nu * T, 0, -X * U)
    with pytest.raises(PdesymError, match="nu"):
        f.numeric("torch")
    val = f.numeric("numpy", params={"nu": 0.5})(np.array([1.0]), np.array([2.0]), np.array([3.0]))
    assert np.allclose(val, [[2.0, 0.0, -3.0]])


@pytest.mark.parametrize("field", [
    V(1, 0, 0), V(T * X, T**2, X - T * U), V(2 * sp.sqrt(T + 1), 0, 1 / sp.sqrt(T + 1)),
    V(50 * sp.exp(T / 50), sp.Rational(3, 7) * X, sp.sin(X) * U**3),
])
def test_json_strings_round_trip_exactly(field):
    d = field.to_dict()
    assert all(isinstance(v, str) for v in d.values())
    assert V.from_dict(d) == field
    assert all(sp.sympify(d[k], locals={"x": X, "t": T, "u": U}) == c
               for k, c in zip(("xi", "tau", "phi"), field.components))


def test_read_expression_refuses_nonsense():
    with pytest.raises(PdesymError, match="Cannot read"):
        read_expression("x +* )")


def test_principal_cosines_and_grassmann_distance_torch_and_numpy():
    torch.manual_seed(0)
    x, t, u = torch.rand(200), torch.rand(200), torch.rand(200)
    kdv = [V(1, 0, 0), V(0, 1, 0), V(T, 0, 1), V(X, 3 * T, -2 * U)]
    mixed = [kdv[0] + kdv[3], kdv[1] * 2 - kdv[2], kdv[2] + kdv[0] * 3, kdv[3]]
    a, b = sample_fields(kdv, x, t, u), sample_fields(mixed, x, t, u)
    assert a.shape == (4, 200, 3)
    cos = principal_cosines(a, b)
    assert torch.allclose(cos, torch.ones(4), atol=1e-12) and grassmann_distance(a, b) < 1e-6
    # ∂x against ∂t: orthogonal samples, angle π/2
    assert float(principal_cosines(a[:1], a[1:2])[0]) < 1e-12
    assert abs(grassmann_distance(a[:1], a[1:2]) - np.pi / 2) < 1e-9
    # different dimensions: the missing direction counts as a right angle
    assert abs(grassmann_distance(a[:3], a) - np.pi / 2) < 1e-6
    an = sample_fields(kdv, x.numpy(), t.numpy(), u.numpy())
    assert np.allclose(principal_cosines(an, an[::-1]), 1.0)
    with pytest.raises(PdesymError, match="linearly dependent"):
        principal_cosines(torch.stack([a[0], a[0]]), a)


def test_fields_with_float_coefficients_print():
    """Learned and fitted fields carry floats; printing them once recursed without end."""
    assert VectorField(0.5 * X, 0, 0).text() == "0.5x∂x"
    text = VectorField(-0.25 * X + 1.5 * T * U, 2 * T, -0.333333 * U).text()
    assert text == "(1.5tu − 0.25x)∂x + 2t∂t − 0.333333u∂u"
    assert "0.5" in VectorField(0.5 * X, 0, 0).latex()


def test_numbers_and_dictionary_coefficients_are_float64_whatever_torch_default():
    """The house default is float64 even where torch's global default is float32 (outside the suite)."""
    from pdesym.discovery.dictionary import FunctionDictionary

    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        c = FunctionDictionary(1).coefficients(VectorField(X / 3, 0, U / 7))
        out = VectorField(X / 3, 0, 0).numeric()(0.1, 0.0, 0.0)
    finally:
        torch.set_default_dtype(before)
    assert c.dtype == torch.float64 and sorted(set(c.tolist())) == [0.0, 1 / 7, 1 / 3]  # oracle: exact rationals
    assert out.dtype == torch.float64 and float(out[0]) == pytest.approx(0.1 / 3, rel=1e-15)
