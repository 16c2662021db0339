"""``pdesym discover --paper``: the run uses Ko, Kim & Lee's settings (PAPER_FLOW) end to end."""

from __future__ import annotations

import json

from pdesym.discovery.pipeline import PAPER_FLOW


def test_paper_flag_runs_neural_generators_scored_by_rk4_flows_of_64x64_patches(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = cli("--json", "discover", "kdv", "--paper", "--steps", "30", "--trajectories", "2", "--points", "600",
            "--generators", "2", "--out", "runs/p")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    flow = doc["discovery"]["flow"]
    assert doc["method"] == "neural"
    assert (flow["patches"], tuple(flow["patch_size"]), flow["steps"], flow["method"], flow["reduce"]) == \
        (PAPER_FLOW["patches"], PAPER_FLOW["patch_size"], PAPER_FLOW["flow_steps"], PAPER_FLOW["flow_method"],
         PAPER_FLOW["flow_reduce"])
    config = json.loads((tmp_path / "runs" / "p" / "config.json").read_text())
    assert config["options"]["snapshots"] == PAPER_FLOW["snapshots"] == 400
    # the flow score separates: its ε = 0 floor is far below the score of the non-symmetry ∂u
    assert flow["floor"] < 1e-3 * flow["non_symmetry_d_u"]
