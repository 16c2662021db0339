"""The pdesym-symmetries/1 JSON format, saving and loading, and the ``pdesym symmetries`` command."""

import json

import pytest
import sympy as sp

from pdesym.equations import T, U, X
from pdesym.errors import PdesymError
from pdesym.symbolic import FORMAT, SymmetryResult, VectorField, find_symmetries, parse_basis, verify_family


@pytest.fixture(scope="module")
def heat():
    return find_symmetries("heat")


def test_json_round_trip_keeps_everything(heat, tmp_path):
    path = heat.save(tmp_path / "heat.json")
    data = json.loads(path.read_text())
    assert data["format"] == FORMAT and data["dimension"] == 6 and data["complete"] is True
    g = data["generators"][5]
    assert set(g) >= {"name", "xi", "tau", "phi", "text", "latex", "verified", "source", "validity"}
    assert g["source"] == "exact" and g["verified"] is True and g["validity"] is None
    back = SymmetryResult.load(path)
    assert back.fields == heat.fields
    assert [g.name for g in back.generators] == [g.name for g in heat.generators]
    assert back.structure.table == heat.structure.table and back.structure.closed
    (fam,) = back.families
    assert fam.field == heat.families[0].field and fam.conditions == heat.families[0].conditions
    assert verify_family(back.equation, fam)
    assert back.equation.params == heat.equation.params


def test_symbolic_parameters_survive_the_round_trip():
    r = find_symmetries("u_t = nu*u_xx")
    back = SymmetryResult.from_json(r.to_json())
    assert back.fields == r.fields  # nu is the same real symbol as in the equation


def test_save_refuses_to_overwrite_without_force(heat, tmp_path):
    path = tmp_path / "s.json"
    path.write_text("keep me")
    with pytest.raises(PdesymError, match="already exists"):
        heat.save(path)
    assert path.read_text() == "keep me"
    heat.save(path, force=True)
    assert SymmetryResult.load(path).dimension == 6
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]  # no temporary files left


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(format="other/2"), "format"),
    (lambda d: d.pop("generators"), "generators"),
    (lambda d: d["generators"][0].update(xi="x +* )"), "cannot read"),
    (lambda d: d["generators"][0].update(source="guess"), "source"),
    (lambda d: d["generators"][0].update(validity="high"), "validity"),
    (lambda d: d["commutators"].update(table=[[None]]), "commutator"),
])
def test_load_rejects_malformed_files_with_one_sentence(heat, tmp_path, mutate, message):
    data = json.loads(heat.to_json())
    mutate(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(PdesymError, match=message) as info:
        SymmetryResult.load(path)
    assert str(info.value).count(". ") == 0 and "\n" not in str(info.value)


def test_load_rejects_non_json_and_missing_files(tmp_path):
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(PdesymError, match="not valid JSON"):
        SymmetryResult.load(tmp_path / "x.json")
    with pytest.raises(PdesymError, match="No symmetries file"):
        SymmetryResult.load(tmp_path / "missing.json")


def test_markdown_and_latex_reports(heat):
    md = heat.to_markdown()
    assert "| X6 | 2tx∂x + 2t²∂t − (50x² + t)u∂u | projective | yes |" in md
    assert "β∂u" in md and "## Commutators" in md
    tex = heat.to_latex()
    assert r"X_{1} &= \partial_x" in tex and r"\begin{tabular}" in tex


def test_basis_parsing():
    assert parse_basis("exp(t/50), sqrt(t+1)") == (sp.exp(T / 50), sp.sqrt(T + 1))
    assert parse_basis(None) == ()
    for bad, msg in [("exp(t/50", "Cannot"), ("foo(t)", "Unknown function"), ("t, t", "twice"),
                     ("3", "must be"), ("exp", "function"), ("y*t", "Unknown name")]:
        with pytest.raises(PdesymError, match=msg):
            parse_basis(bad)


# ----------------------------------------------------------------------------- CLI
def test_cli_prints_the_algebra_and_writes_json(cli, tmp_path):
    out = tmp_path / "kdv.json"
    res = cli("symmetries", "kdv", "--out", out)
    assert res.exit_code == 0, res.output
    for text in ("∂x", "t∂x + ∂u", "x∂x + 3t∂t − 2u∂u", "Galilean boost", "✓", "4 generators", "−2X3"):
        assert text in res.output
    assert SymmetryResult.load(out).fields == [VectorField(1, 0, 0), VectorField(0, 1, 0),
                                                VectorField(T, 0, 1), VectorField(X, 3 * T, -2 * U)]
    again = cli("symmetries", "kdv", "--out", out)
    assert again.exit_code != 0 and "already exists" in again.output


def test_cli_formats_and_ansatz_basis(cli):
    res = cli("symmetries", "nkdv", "--method", "ansatz", "--degree", "1", "--basis", "exp(t/50),exp(-t/50)",
              "--format", "json")
    assert res.exit_code == 0
    data = json.loads(res.output)
    assert data["dimension"] == 4 and data["solver"] == "ansatz" and data["basis"] == ["exp(t/50)", "exp(-t/50)"]
    md = cli("symmetries", "u_t = nu*u_xx", "-f", "md")
    assert md.exit_code == 0 and "2νt∂x − xu∂u" in md.output
    tex = cli("symmetries", "burgers", "-f", "latex")
    assert tex.exit_code == 0 and r"\begin{align*}" in tex.output


@pytest.mark.parametrize("args, message", [
    (["u_t = v_xx, v_t = u_xx"], "no systems"),
    (["u_t**2 + u_xx**2 = 0"], "cannot be solved"),
    (["u_t = foo(u)*u_xx"], "Unknown function 'foo'"),
    (["hello world"], "Unknown preset"),
    (["kdv", "--degree", "0"], "degree must be an integer from 1 to 8"),
    (["kdv", "--degree", "100", "-m", "ansatz"], "degree must be an integer from 1 to 8"),
    (["kdv", "--method", "magic"], "Unknown method 'magic'"),
    (["kdv", "--format", "pdf"], "Unknown format 'pdf'"),
    (["kdv", "--basis", "exp(t/50"], "basis function"),
    (["kdv", "-m", "ansatz", "--basis", "bessel(t)"], "Unknown function 'bessel'"),
])
def test_cli_bad_input_is_one_sentence(cli, args, message):
    res = cli("symmetries", *args)
    assert res.exit_code != 0
    assert message in res.output.replace("\n", " ")
    assert "Traceback" not in res.output
