"""Run folders: --force replaces a run, never a user's other files; --resume needs a run."""

from __future__ import annotations

import pytest

from pdesym.errors import PdesymError
from pdesym.runs import CONFIG_FILE, RESULT_FILE, prepare_run_folder


def test_force_replaces_only_a_run_folder(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / RESULT_FILE).write_text("{}")
    (run / CONFIG_FILE).write_text("{}")
    (run / ".symmetries.json.ab12.tmp").write_text("partial")
    with pytest.raises(PdesymError, match="already holds a finished run; pass --force"):
        prepare_run_folder(run)
    assert prepare_run_folder(run, force=True) == run
    assert list(run.iterdir()) == []


def test_force_refuses_a_folder_with_foreign_files(tmp_path):
    (tmp_path / RESULT_FILE).write_text("{}")
    (tmp_path / "thesis.tex").write_text("years of work")
    (tmp_path / "data").mkdir()
    with pytest.raises(PdesymError, match=r"holds files pdesym did not write \(data, thesis.tex\)"):
        prepare_run_folder(tmp_path, force=True)
    assert (tmp_path / "thesis.tex").read_text() == "years of work"
    assert (tmp_path / RESULT_FILE).read_text() == "{}"


def test_resume_and_force_together_and_resume_without_run(tmp_path):
    with pytest.raises(PdesymError, match="not both"):
        prepare_run_folder(tmp_path / "r", force=True, resume=True)
    with pytest.raises(PdesymError, match="Nothing to resume"):
        prepare_run_folder(tmp_path / "r", resume=True)
    assert not (tmp_path / "r").exists()


def test_jsonable_turns_arrays_and_scalars_into_plain_json():
    import json
    import math

    import numpy as np
    import torch

    from pdesym.runs import jsonable

    doc = {1: np.float64(0.25), "a": torch.tensor([1.5, float("nan")]), "n": np.int64(3), "b": np.bool_(True),
           "t": (math.inf, "x"), "d": torch.float64}
    got = jsonable(doc)
    # oracle: the JSON text written out by hand (NaN and inf have no JSON form: null)
    assert json.dumps(got, sort_keys=True) == ('{"1": 0.25, "a": [1.5, null], "b": true, "d": "torch.float64", '
                                               '"n": 3, "t": [null, "x"]}')


def test_report_plots_count_as_run_files():
    from pdesym.report import PLOTS
    from pdesym.runs import RUN_FILES

    assert set(PLOTS) <= RUN_FILES  # `report RUN --plots RUN` must not make --force refuse the folder
