"""Per-question figures: ranking within a question, level between questions."""

from __future__ import annotations

import numpy as np
import pytest

from interviewer.evals.question_level import question_level, question_means, too_few


def _answers(questions: int = 12, per: int = 10, seed: int = 1) -> tuple[np.ndarray, list[str]]:
    """Human grades: each question its own level, answers spread around it."""
    rng = np.random.default_rng(seed)
    level = rng.uniform(1.5, 4.0, questions)
    human = np.concatenate([lv + rng.normal(0, 0.8, per) for lv in level])
    groups = [f"q{i}" for i in range(questions) for _ in range(per)]
    return human, groups


def test_a_scorer_off_by_a_constant_is_level_everywhere() -> None:
    human, groups = _answers()
    result = question_level(human, human - 0.7, groups, bootstrap=200)
    assert result["questions"] == 12
    assert result["within_question"] == pytest.approx(1.0)
    assert result["between_questions"] == pytest.approx(1.0)
    assert result["level_spread"] == pytest.approx(0.0, abs=1e-9)  # one offset for all


def test_ranking_each_question_well_at_the_wrong_level_is_told_apart() -> None:
    """The issue's complaint: good order inside each question, its level wrong per question."""
    human, groups = _answers()
    rng = np.random.default_rng(7)
    shift = dict(zip(sorted(set(groups)), rng.normal(0, 1.0, 12), strict=True))
    predicted = human + np.array([shift[g] for g in groups])
    result = question_level(human, predicted, groups, bootstrap=300)
    assert result["within_question"] == pytest.approx(1.0)
    assert result["between_questions"] < 0.7
    assert result["level_spread"] > 0.5
    low, high = result["level_spread_ci"]  # type: ignore[misc]
    assert low <= result["level_spread"] <= high and low > 0.2


def test_question_means_without_ranking_inside() -> None:
    human, groups = _answers()
    means = {g: float(np.mean(human[[i for i, x in enumerate(groups) if x == g]])) for g in groups}
    noise = np.random.default_rng(3).normal(0, 0.8, len(human))
    predicted = np.array([means[g] for g in groups]) + noise
    result = question_level(human, predicted, groups, bootstrap=100)
    assert abs(result["within_question"]) < 0.3  # type: ignore[arg-type]
    assert result["between_questions"] > 0.9
    assert result["level_spread"] < 0.4


def test_intervals_resample_questions_not_answers() -> None:
    """With few questions the between-question interval is wide however many answers."""
    human, groups = _answers(questions=6, per=200)
    rng = np.random.default_rng(2)
    shift = dict(zip(sorted(set(groups)), rng.normal(0, 0.5, 6), strict=True))
    noisy = human + np.array([shift[g] for g in groups]) + rng.normal(0, 0.6, len(human))
    result = question_level(human, noisy, groups, bootstrap=400)
    low, high = result["between_questions_ci"]  # type: ignore[misc]
    wlow, whigh = result["within_question_ci"]  # type: ignore[misc]
    assert high - low > whigh - wlow  # 6 questions against 1,200 answers


def test_too_few_questions_and_bad_input() -> None:
    two = question_level([1, 2, 3, 4], [1, 2, 3, 3], ["a", "a", "b", "b"])
    assert two == {"questions": 2}
    assert too_few(two).endswith("this set has 2.")
    human, groups = _answers(questions=3, per=4)
    assert too_few(question_level(human, human, groups, bootstrap=20)) == ""
    with pytest.raises(ValueError, match="same length"):
        question_level([1, 2], [1, 2, 3], ["a", "b"])


def test_a_constant_scorer_spreads_as_much_as_the_graders_question_means() -> None:
    human, groups = _answers()
    result = question_level(human, np.full(len(human), 3.0), groups, bootstrap=50)
    assert result["level_spread"] == pytest.approx(result["graders_spread"], abs=1e-3)
    assert result["graders_spread"] > 0.3  # the questions' levels do differ


def test_question_means_put_the_most_misleading_question_first() -> None:
    human = [3, 4, 2, 3, 4, 5, 1, 2]
    groups = ["a", "a", "b", "b", "c", "c", "d", "d"]
    predicted = [3.5, 4.5, 2.5, 3.5, 2.5, 3.5, 1.5, 2.5]  # +0.5 everywhere but c: -1.5
    rows = question_means(human, predicted, groups)
    first = rows[0]
    assert first["question"] == "c"
    assert first["n"] == 2 and first["human"] == 4.5 and first["scorer"] == 3.0
    # the dataset-wide offset (0.5 * 6 - 1.5 * 2) / 8 = 0 is taken out: c sits 1.5 below
    assert first["offset"] == pytest.approx(-1.5)
    assert [r["offset"] for r in rows[1:]] == pytest.approx([0.5, 0.5, 0.5])
