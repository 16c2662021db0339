"""Neural discovery under torch.distributed: two local gloo ranks (set up as torchrun would) follow
the single-process run, and only rank 0 writes the dataset cache and the run folder."""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from pdesym.discovery.neural import span_loss, span_loss_from_grams, validity_grams
from pdesym.discovery.pipeline import DiscoverOptions, discover
from pdesym.runs import CHECKPOINT_FILE

# K = 4 generators on KdV (the exact algebra's dimension), a small cached dataset, 20 Adam steps
# and 10 L-BFGS polish iterations (full batch, all-reduced Grams; 60 iterations amplify the
# order-of-summation round-off to 3e-7 relative, 10 keep it at 5e-12: measured).
# batch = 301 does not split evenly over 2 ranks (151 + 150 rows), monitor 600 samples.
OPTIONS = DiscoverOptions(method="neural", generators=4, steps=20, polish=10, batch=301, points=600, trajectories=2,
                          snapshots=20, checkpoint_every=10, degree=1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _summary(result) -> dict:
    neural = result.neural
    return {"state": {k: v.detach().clone() for k, v in neural.model.state_dict().items()},
            "spectrum": neural.spectrum.clone(), "history": neural.history_spectra,
            "learned": result.document["cosines"]["learned"]}


def _discover_worker(rank: int, world: int, port: int, workdir: str, options: DiscoverOptions = OPTIONS) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    os.chdir(workdir)
    result = discover("kdv", options=options, out="runs/ddp", plots=False)  # joins the process group itself
    torch.save({**_summary(result), "world": torch.distributed.get_world_size()}, f"ddp.{rank}.pt")
    torch.distributed.barrier()  # both ranks done before either closes its connections (gloo can abort otherwise)
    torch.distributed.destroy_process_group()


def test_ddp_discovery_on_two_processes_follows_the_single_process_run(tmp_path, monkeypatch):
    single_dir, ddp_dir = tmp_path / "single", tmp_path / "ddp"
    single_dir.mkdir(), ddp_dir.mkdir()
    monkeypatch.chdir(single_dir)
    single = _summary(discover("kdv", options=OPTIONS, out="runs/one", plots=False))

    mp.start_processes(_discover_worker, args=(2, _free_port(), str(ddp_dir)), nprocs=2, join=True,
                       start_method="spawn")
    ranks = [torch.load(ddp_dir / f"ddp.{r}.pt", weights_only=False) for r in range(2)]
    assert [r["world"] for r in ranks] == [2, 2]
    for got in ranks:
        # the gradient is the single-process one up to the order of summation: 20 Adam steps and
        # 10 L-BFGS iterations later the parameters agree to ~5e-12 relative, the spectrum to ~2e-11
        for name, value in single["state"].items():
            assert torch.allclose(got["state"][name], value, rtol=1e-9, atol=1e-12), name
        # same validity spectrum (final, on all 600 samples) and the same learned span
        torch.testing.assert_close(got["spectrum"], single["spectrum"], rtol=1e-8, atol=0.0)
        np.testing.assert_allclose(got["history"], single["history"], rtol=1e-8)
        assert got["learned"] == pytest.approx(single["learned"], abs=1e-10)
    # every rank takes the same averaged step: the ranks agree bit for bit
    assert all(torch.equal(ranks[0]["state"][k], ranks[1]["state"][k]) for k in single["state"])
    assert torch.equal(ranks[0]["spectrum"], ranks[1]["spectrum"])
    # rank 0 wrote the one run folder (checkpoint = the final model) and the one dataset cache
    run = ddp_dir / "runs" / "ddp"
    assert {"config.json", "symmetries.json", "report.md", CHECKPOINT_FILE} <= {p.name for p in run.iterdir()}
    saved = torch.load(run / CHECKPOINT_FILE, weights_only=False)
    assert saved["step"] == OPTIONS.steps and saved["polished"] == OPTIONS.polish
    assert all(torch.equal(saved["model"][k], ranks[0]["state"][k]) for k in single["state"])
    assert [p.name for p in (ddp_dir / "data").iterdir()] == ["kdv-discover.h5"]


def test_shard_grams_sum_to_the_batch_grams_and_give_the_same_loss():
    """The identity the data-parallel loss rests on: Grams of row blocks (divided by the whole
    batch size) add up to the batch's Grams, so the loss of the summed Grams is the batch loss."""
    g = torch.Generator().manual_seed(0)
    r, w = torch.randn(5, 301, generator=g), torch.randn(5, 301, 3, generator=g)
    parts = [validity_grams(r[:, s], w[:, s], 301) for s in (slice(0, 151), slice(151, 301))]
    a = parts[0][0] + parts[1][0]
    gram = parts[0][1] + parts[1][1]
    whole, g_whole = span_loss(r, w)
    torch.testing.assert_close(gram, g_whole, rtol=1e-13, atol=1e-15)
    assert float(span_loss_from_grams(a, gram)) == pytest.approx(float(whole), rel=1e-12)
