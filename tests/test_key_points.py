"""Which key points the offline scorer ticks, against a grader's labels
(evals/datasets/key-points-v1.jsonl): what the report shows covered, what the interviewer stops
probing and what a hint skips."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from factories import cli_error
from fake_llm import FakeLLM, _text_of, judge_reply
from pydantic import SecretStr

from interviewer.config import PROJECT_ROOT
from interviewer.corpus import load_corpus
from interviewer.domain import Question
from interviewer.embeddings import MiniLMEmbeddings
from interviewer.evals.cross import Prefetched
from interviewer.evals.datasets import DatasetError
from interviewer.evals.key_points import agreement_of, load_points, point_agreement
from interviewer.packs import load_pack
from interviewer.scoring.base import ScoringRequest
from interviewer.scoring.offline import EmbeddingScorer, ScorerParams
from interviewer.services import Services
from interviewer.store import SessionStore

LABELS = PROJECT_ROOT / "evals" / "datasets" / "key-points-v1.jsonl"
CALIBRATION = PROJECT_ROOT / "prompts" / "backend-developer" / "calibration.json"
PACK = load_pack(PROJECT_ROOT / "prompts" / "backend-developer")


@pytest.fixture(scope="module")
def questions() -> dict[str, Question]:
    return load_corpus(PROJECT_ROOT / "corpus").by_id()


def test_the_shipped_labels_cover_every_point_of_real_questions(
    questions: dict[str, Question],
) -> None:
    labels = load_points(LABELS, questions)
    assert len(labels.items) == 80
    assert sum(len(item.points) for item in labels.items) == 445
    categories = {questions[item.question].category.value for item in labels.items}
    assert categories == {"technical", "system_design", "behavioral", "soft_skills"}
    assert {item.level.value for item in labels.items} == {"junior", "mid", "senior"}
    assert all(item.why.keys() == item.points.keys() for item in labels.items)


def test_ticked_points_agree_with_the_graders_far_better_than_closeness_alone(
    model_cache: Path, questions: dict[str, Question]
) -> None:
    items = load_points(LABELS, questions).items
    embeddings = Prefetched(MiniLMEmbeddings(model_cache))  # both rules, one embedding pass
    shipped = ScorerParams.load(CALIBRATION)
    now = point_agreement(items, EmbeddingScorer(embeddings, shipped), questions, PACK).agreement
    # the rule before: a sentence at cosine 0.485 or more ticked the point, whatever it said
    closeness = shipped.model_copy(update={"point_close_at": 0.485, "point_near_at": 2.0})
    old = EmbeddingScorer(embeddings, closeness)
    before = point_agreement(items, old, questions, PACK).agreement
    assert now["all"].kappa >= 0.55 and now["all"].precision >= 0.7, now["all"]
    assert now["all"].kappa - before["all"].kappa >= 0.2, (now["all"], before["all"])
    # as many ticks as the graders gave, give or take; before, half the ticks were wrong
    assert abs(now["all"].called_covered - now["all"].labelled_covered) <= 0.1
    assert before["all"].precision < 0.55
    for category in ("technical", "system_design", "behavioral"):
        assert now[category].kappa > before[category].kappa, category


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_a_label_file_that_does_not_fit_the_corpus_names_the_line_and_field(
    tmp_path: Path,
    questions: dict[str, Question],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    q = questions["db-isolation-lost-update"]
    ids = [kp.id for kp in q.key_points]
    good = {"id": "a", "question": q.id, "level": "mid", "answer": "We lock the row."}
    full = dict.fromkeys(ids, 0)
    cases = [
        ({**good, "points": {**full, "no-such-point": 2}}, "field points: no-such-point not a key"),
        ({**good, "points": {ids[0]: 2}}, f"field points: no label for {ids[1]}"),
        ({**good, "points": {**full, ids[0]: 3}}, f"field points.{ids[0]}:"),
        ({**good, "question": "nope", "points": full}, "field question: no corpus question 'nope'"),
        ({**good, "level": "staff", "points": full}, "field level:"),
    ]
    for row, message in cases:
        path = _write(tmp_path / "labels.jsonl", [{"dataset": {"name": "x"}}, row])
        with pytest.raises(DatasetError) as raised:
            load_points(path, questions)
        assert f"{path}:2: {message}" in str(raised.value)
    # an id used twice counted one answer twice; eval run refuses it, and so does this
    path = _write(tmp_path / "labels.jsonl", [{**good, "points": full}, {**good, "points": full}])
    with pytest.raises(DatasetError) as raised:
        load_points(path, questions)
    assert f"{path}: duplicate item ids: a (lines 1, 2)" in str(raised.value)
    # the command says so before loading any model, and exits 2
    path = _write(tmp_path / "labels.jsonl", [{**good, "points": {ids[0]: 2}}])
    shown = cli_error(monkeypatch, capsys, "eval", "points", "--dataset", str(path))
    assert f"{path}:1: field points: no label for {ids[1]}" in shown


def test_an_llm_judges_ticks_are_measured_over_http(
    shipped_services: Services, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    """The judge's covered_key_points, through the real client against a local server; an
    answer it cannot judge (bad JSON, every attempt) is left out and counted."""
    settings = shipped_services.settings.model_copy(
        update={
            "model": "openai:fake-model",
            "base_url": fake_llm.base_url,
            "api_key": SecretStr("sk-test"),
            "llm_max_retries": 0,
        }
    )
    services = shipped_services.sharing(settings, SessionStore.for_data_dir(tmp_path))
    questions = services.corpus.by_id()
    items = load_points(LABELS, questions).items[:6]
    broken, mute = items[5].answer[:60], items[4].answer[:60]

    def respond(body: dict[str, Any]) -> str:
        prompt = "\n".join(_text_of(m.get("content")) for m in body["messages"])
        if broken in prompt:
            return "not a judgement"
        ids = re.findall(r"^- \[([a-z0-9-]+)\] ", prompt, flags=re.MULTILINE)
        judgement = json.loads(judge_reply(body))
        covered = [] if mute in prompt else ids[:1]  # names no point for one answer
        judgement["covered_key_points"], judgement["missed_key_points"] = covered, ids[1:]
        return json.dumps(judgement)

    fake_llm.responder = respond
    pack = services.pack("backend-developer")
    judge = services.scorer_for(pack)
    assert judge.name == "llm:openai:fake-model"
    run = point_agreement(items, judge, questions, pack)
    assert (run.answers, run.failed, run.silent) == (5, 1, 1)
    # it ticked the first point of each answer but the fifth, and nothing else: the figures
    # follow (the fifth's offline ticks, which the interview shows, are not the judge's)
    points = [questions[item.question].key_points for item in items[:5]]
    labels = [item.points[kp.id] for item, kps in zip(items[:5], points, strict=True) for kp in kps]
    firsts = [i == 0 and n < 4 for n, kps in enumerate(points) for i in range(len(kps))]
    assert run.agreement["all"] == agreement_of(np.array(labels), np.array(firsts))
    q = questions[items[4].question]
    request = ScoringRequest(q, items[4].answer, items[4].level, pack.rubric(q.category))
    shown, offline = judge.score(request), services.offline_scorer(pack).score(request)
    assert shown.key_points_by == "offline", "the interview shows the offline ticks there"
    assert [kp.covered for kp in shown.key_points] == [kp.covered for kp in offline.key_points]


def test_points_with_no_answer_judged_say_why_without_a_traceback(
    tmp_path: Path,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Was IndexError in agreement_of when every call failed."""
    monkeypatch.setenv("INTERVIEWER_BASE_URL", fake_llm.base_url)
    monkeypatch.setenv("INTERVIEWER_API_KEY", "test-key")
    monkeypatch.setenv("INTERVIEWER_LLM_MAX_RETRIES", "0")
    fake_llm.responder = lambda body: "not a judgement"
    rows = LABELS.read_text().splitlines()[:3]
    path = tmp_path / "two.jsonl"
    path.write_text("\n".join(rows) + "\n")
    args = ["eval", "points", "--dataset", str(path), "--scorer", "llm", "--model", "fake-model"]
    shown = " ".join(cli_error(monkeypatch, capsys, *args).split())
    assert "could be judged: all 2 failed" in shown, shown
    assert "(the first error: it returned a malformed reply)" in shown and "Traceback" not in shown


@pytest.mark.parametrize(
    ("labels", "ticks", "kappa", "precision"),
    [
        ([2, 2, 0, 1], [True, True, False, False], 1.0, 1.0),  # partly is not covered
        ([2, 0, 0, 0], [False, True, False, False], -1 / 3, 0.0),
        ([2, 2], [True, True], 1.0, 1.0),  # one kind throughout, the same: agreement
        ([0, 1], [True, True], 0.0, 0.0),  # one kind throughout, opposite: none
    ],
)
def test_agreement_counts_only_covered_as_covered(
    labels: list[int], ticks: list[bool], kappa: float, precision: float
) -> None:
    got = agreement_of(np.array(labels), np.array(ticks))
    assert got.kappa == pytest.approx(kappa) and got.precision == pytest.approx(precision)
    assert got.points == len(labels) and got.called_covered == pytest.approx(np.mean(ticks))
