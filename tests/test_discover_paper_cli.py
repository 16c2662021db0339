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


def test_flow_options_from_the_command_line_reach_the_run_and_win_over_paper(cli, tmp_path, monkeypatch):
    """Every flow-validity setting has a flag; given with --paper, the flag wins over PAPER_FLOW."""
    monkeypatch.chdir(tmp_path)
    r = cli("--json", "discover", "kdv", "--trajectories", "2", "--snapshots", "40", "--validity", "flow",
            "--patches", "4", "--patch-size", "16x16", "--flow-stencil", "whole", "--flow-steps", "2",
            "--flow-method", "euler", "--flow-eps", "0.1", "--flow-degree-x", "6", "--flow-degree-t", "2",
            "--flow-reduce", "mean", "--out", "runs/f")
    assert r.exit_code == 0, r.output
    flow = json.loads(r.stdout)["discovery"]["flow"]
    assert (flow["patches"], flow["patch_size"], flow["steps"], flow["method"], flow["eps"], flow["fit"],
            flow["degrees"], flow["reduce"]) == (4, [16, 16], 2, "euler", 0.1, "the whole patch", [6, 2], "mean")
    r = cli("--json", "discover", "kdv", "--paper", "--steps", "5", "--polish", "0", "--trajectories", "2",
            "--points", "300", "--generators", "1", "--flow-eps", "0.02", "--flow-points", "4", "--out", "runs/p")
    assert r.exit_code == 0, r.output
    flow = json.loads(r.stdout)["discovery"]["flow"]
    assert (flow["eps"], flow["patch_size"], flow["method"]) == (0.02, list(PAPER_FLOW["patch_size"]), "rk4")
    assert flow["fit"].startswith("4 interior 9×13 stencils")
