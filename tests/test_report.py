"""Run documents and their renderings: Markdown, JSON, LaTeX, rich; run folders; ``pdesym report``."""

import json

import numpy as np
import pytest

from pdesym.errors import PdesymError
from pdesym.report import load_run, run_document, to_latex, to_markdown
from pdesym.runs import RESULT_FILE, prepare_run_folder, write_json_atomic
from pdesym.symbolic import SymmetryResult, find_symmetries


@pytest.fixture(scope="module")
def kdv_doc():
    exact = find_symmetries("kdv")
    return run_document(exact, cosines={"reference": "exact algebra (direct method)", "reference_dimension": 4,
                                        "values": np.array([1.0, 1.0, 0.99999, 0.9999]), "min": 0.9999},
                        discovery={"method": "nullspace", "dimension": 4, "gap": 1.5e9, "degree": 3, "columns": 60},
                        timings={"data": 1.25, "discovery": 0.31}, data={"source": "data/kdv-discover.h5",
                                                                        "trajectories": 8, "nt": 80, "nx": 256})


def test_document_extends_the_symmetries_format_without_breaking_its_reader(kdv_doc):
    # older readers (SymmetryResult) read the extended document and get the same algebra back
    back = SymmetryResult.from_json(json.dumps(kdv_doc))
    assert [g.field.text() for g in back.generators] == ["∂x", "∂t", "t∂x + ∂u", "x∂x + 3t∂t − 2u∂u"]
    assert all(g["approximate"] is False and g["verified"] is True for g in kdv_doc["generators"])
    assert kdv_doc["domain"] == "pde" and kdv_doc["cosines"]["values"][2] == pytest.approx(0.99999)
    assert kdv_doc["timings"] == {"data": 1.25, "discovery": 0.31}


def test_markdown_and_latex_show_generators_cosines_and_commutators(kdv_doc):
    md = to_markdown(kdv_doc)
    assert "| X4 | x∂x + 3t∂t − 2u∂u |" in md and "| yes |" in md
    assert "min 0.9999" in md and "## Commutators" in md and "data/kdv-discover.h5" in md
    tex = to_latex(kdv_doc)
    assert r"x \partial_{x}" in tex or r"x \partial_x" in tex
    assert tex.count(r"\begin{tabular}") == 2  # generators and commutators
    assert "0.9999" in tex


def test_run_folder_is_never_overwritten_without_force(tmp_path):
    run = prepare_run_folder(tmp_path / "r")
    write_json_atomic(run / RESULT_FILE, {"keep": 1})
    with pytest.raises(PdesymError, match="finished run"):
        prepare_run_folder(run)
    assert json.loads((run / RESULT_FILE).read_text()) == {"keep": 1}
    with pytest.raises(PdesymError, match="not both"):
        prepare_run_folder(run, force=True, resume=True)
    prepare_run_folder(run, force=True)
    assert list(run.iterdir()) == []


def test_report_round_trip_md_json_latex(kdv_doc, tmp_path, cli):
    run = prepare_run_folder(tmp_path / "kdv")
    write_json_atomic(run / RESULT_FILE, kdv_doc)
    r = cli("report", run, "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == kdv_doc
    r = cli("report", run, "--format", "md")
    assert r.exit_code == 0 and r.stdout == to_markdown(kdv_doc)
    out = tmp_path / "kdv.tex"
    r = cli("report", run, "--format", "latex", "--out", out)
    assert r.exit_code == 0 and out.read_text() == to_latex(kdv_doc)
    r = cli("report", run, "--format", "latex", "--out", out)
    assert r.exit_code == 1 and "already exists" in r.stderr
    r = cli("report", run, "--format", "table")
    assert r.exit_code == 0 and "x∂x + 3t∂t − 2u∂u" in r.stdout


@pytest.mark.parametrize("content, message", [
    ("{not json", "not a valid"),
    ('{"format": "other/1", "generators": []}', "not a pdesym symmetries file"),
    ('{"format": "pdesym-symmetries/1", "domain": "audio", "generators": []}', "unknown domain"),
])
def test_report_rejects_bad_files_with_one_sentence(tmp_path, cli, content, message):
    path = tmp_path / "s.json"
    path.write_text(content)
    r = cli("report", path)
    assert r.exit_code == 1 and message in r.stderr and "Traceback" not in r.output
    r = cli("report", tmp_path / "missing")
    assert r.exit_code == 1 and "No run folder" in r.stderr


def test_image_documents_render_without_pde_fields(tmp_path):
    doc = {"format": "pdesym-symmetries/1", "domain": "image", "data": {"name": "digits", "images": 1797, "shape": [8, 8]},
           "span": {"capture": {"rotation": 0.97, "∂x": 0.99}},
           "generators": [{"name": "rotation", "text": "−y∂x + x∂y", "validity": 0.01, "verified": None,
                           "approximate": True}],
           "cosines": {"reference": "affine basis", "reference_dimension": 6, "values": [0.98], "min": 0.98}}
    path = tmp_path / "img.json"
    path.write_text(json.dumps(doc))
    back = load_run(path)
    md = to_markdown(back)
    assert "digits" in md and "−y∂x + x∂y" in md and "approximate" in md and "0.9800" in md
    assert "1797 images" in md and "rotation 0.970" in md
    assert "rotation" in to_latex(back) or "y" in to_latex(back)


def test_a_partial_span_says_how_many_exact_dimensions_are_missing(kdv_doc):
    # three of KdV's four generators found: every cosine is 1, yet the report must not read as complete
    exact_dim = find_symmetries("kdv").dimension
    partial = {**kdv_doc, "cosines": {**kdv_doc["cosines"], "values": [1.0, 1.0, 1.0], "min": 1.0}}
    assert f"found 3 of its {exact_dim} dimensions (1 missing)" in to_markdown(partial)
    assert "1 missing" in to_latex(partial)
    assert "missing" not in to_markdown(kdv_doc)  # the complete span gets no note
    image = {**partial, "domain": "image"}  # image runs compare with a named basis, not an algebra
    assert "missing" not in to_markdown(image)
