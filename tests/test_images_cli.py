"""``pdesym images discover|semola`` end to end on a tiny .npz of digits: run folder, schema, reuse."""

import json

import numpy as np
import torch

from pdesym.images.data import load_digits


def test_cli_discover_writes_the_run_folder(cli, tmp_path):
    data = load_digits()
    np.savez(tmp_path / "few.npz", images=data.images[:60, 0].numpy(), labels=data.labels[:60].numpy())
    few = str(tmp_path / "few.npz")
    out = tmp_path / "run"
    res = cli("-q", "images", "discover", "--data", few, "--k", "2", "--steps", "10", "--epochs", "2", "--out", str(out),
              "--classifier", str(tmp_path / "clf.pt"))
    assert res.exit_code == 0, res.output
    rec = json.loads((out / "symmetries.json").read_text())
    assert rec["format"] == "pdesym-symmetries/1" and rec["domain"] == "image" and len(rec["generators"]) == 2
    assert {"xi", "eta", "coefficients", "validity"} <= set(rec["generators"][0])
    assert {p.name for p in out.iterdir()} >= {"report.md", "fields.png", "examples.png", "classifier.pt"}
    # the saved classifier is reused: the same fields come out again
    res = cli("-q", "images", "discover", "--data", few, "--k", "2", "--steps", "10", "--out", str(out), "--force",
              "--classifier", str(tmp_path / "clf.pt"))
    assert res.exit_code == 0, res.output
    again = json.loads((out / "symmetries.json").read_text())
    assert again["span"] == rec["span"] and "classifier reused" in again["notes"][0]
    res = cli("-q", "images", "semola", "--data", few, "--epochs", "2", "--no-baselines", "--tta", "0", "--out", str(tmp_path / "s"))
    assert res.exit_code == 0, res.output
    srec = json.loads((tmp_path / "s" / "symmetries.json").read_text())
    assert srec["method"] == "semola" and len(srec["generators"]) == 3 and "learned" in srec["accuracy"]
    assert torch.tensor([g["range"] for g in srec["generators"]]).le(torch.pi).all()
