"""Evals: dataset formats, metrics, thresholds, resumable runs and calibration plumbing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from interviewer.cli import app
from interviewer.config import PROJECT_ROOT
from interviewer.evals.datasets import DatasetError, Scale, load_csv, load_jsonl
from interviewer.evals.metrics import agreement, to_human_scale
from interviewer.evals.suite import check_thresholds

BACKEND = PROJECT_ROOT / "evals" / "datasets" / "backend-v1.jsonl"
runner = CliRunner()


def test_backend_dataset_meets_its_spec() -> None:
    data = load_jsonl(BACKEND)
    assert data.info.scale == Scale(min=1, max=5)
    assert len(data.items) >= 150
    assert len({i.question for i in data.items}) >= 40
    assert {i.category.value for i in data.items} >= {
        "technical",
        "behavioral",
        "system_design",
        "soft_skills",
    }
    assert {i.level.value for i in data.items} == {"junior", "mid", "senior"}
    assert {int(i.human_score) for i in data.items} == {1, 2, 3, 4, 5}
    assert all(i.notes for i in data.items), "every grade has a written rationale"


def test_jsonl_errors_name_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"id": "a", "question": "q", "answer": "x", "human_score": 3}\n'
        '{"id": "b", "question": "q", "answer": "x", "human_score": "high"}\n'
        "not json\n"
    )
    with pytest.raises(DatasetError) as info:
        load_jsonl(bad)
    assert "bad.jsonl:2: field human_score" in str(info.value)
    assert "bad.jsonl:3: not JSON" in str(info.value)


def test_csv_reads_through_a_mapping_and_checks_the_scale(tmp_path: Path) -> None:
    path = tmp_path / "grades.csv"
    path.write_text(
        "qid,prompt,resp,mark\n1,What is a stack?,LIFO,4.5\n2,What is a queue?,FIFO,7\n"
    )
    mapping = {"question": "prompt", "answer": "resp", "human_score": "mark", "group": "qid"}
    with pytest.raises(DatasetError, match=r"outside 0\.\.5"):
        load_csv(path, mapping, Scale(min=0, max=5))
    with pytest.raises(DatasetError, match="no column"):
        load_csv(path, {"answer": "nope"}, Scale(min=0, max=5))
    data = load_csv(path, mapping, Scale(min=0, max=10))
    assert [i.group_key for i in data.items] == ["1", "2"]


def test_metrics_on_known_values() -> None:
    scale = Scale(min=1, max=5)
    perfect = agreement([1, 2, 3, 4, 5, 3], [1, 2, 3, 4, 5, 3], scale, bootstrap=50)
    assert perfect["pearson"] == 1.0 and perfect["qwk"] == 1.0 and perfect["mae"] == 0.0
    off = agreement([1, 2, 3, 4, 5], [2, 3, 4, 5, 5], scale, bootstrap=50)
    assert off["mae"] == pytest.approx(0.8)
    assert off["exact"] == pytest.approx(0.2) and off["within_one"] == 1.0
    assert list(to_human_scale([1, 3, 5], Scale(min=0, max=5))) == [0.0, 2.5, 5.0]


def test_thresholds() -> None:
    metrics = {"qwk": 0.72, "robustness": {"padding": {"inflated_share": 0.1}}}
    checked = check_thresholds(
        metrics,
        {"qwk": ">= 0.70", "robustness.padding.inflated_share": "<= 0.05", "missing": ">= 1"},
    )
    assert [c["ok"] for c in checked] == [True, False, False]


def test_eval_run_resumes_and_gates(tmp_path: Path) -> None:
    rows = BACKEND.read_text().splitlines()
    small = tmp_path / "small.jsonl"
    small.write_text("\n".join(rows[:25]) + "\n")
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        f"name: small\ndataset: {small}\nrobustness_sample: 5\nthresholds:\n  pearson: '>= 2'\n"
    )
    out = tmp_path / "run"
    result = runner.invoke(app, ["eval", "run", str(suite), "--out", str(out)])
    assert result.exit_code == 1, result.output  # pearson >= 2 cannot hold
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == 24 and "robustness" in metrics and metrics["pack_hash"]
    assert (out / "report.html").read_text().startswith("<!doctype html>")
    assert (out / "agreement.png").stat().st_size > 1000
    lines = (out / "results.jsonl").read_text().splitlines()
    again = runner.invoke(
        app, ["eval", "run", "--dataset", str(small), "--out", str(out), "--robustness-sample", "0"]
    )
    assert again.exit_code == 0, again.output
    assert (out / "results.jsonl").read_text().splitlines() == lines, "nothing was re-scored"
