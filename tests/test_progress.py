"""How a report words progress since the candidate's earlier interviews."""

from __future__ import annotations

from interviewer.progress import CriterionChange, SessionProgress, progress_text


def _progress(
    count: int, previous: float | None, first: float | None, *moves: tuple[str, float, float]
) -> SessionProgress:
    changes = [CriterionChange(name, now, before) for name, before, now in moves]
    changes.sort(key=lambda c: -abs(c.delta))
    return SessionProgress(count, 3.4, previous, first, changes, [], "mid")


def test_the_first_interview_says_what_comes_next() -> None:
    text = progress_text(_progress(1, None, None))
    assert text.startswith("This is your first finished mid-level interview in this pack")


def test_moves_are_named_up_and_down_and_small_ones_left_out() -> None:
    p = _progress(
        3,
        2.9,
        2.1,
        ("Communication", 2.5, 3.5),
        ("Correctness", 3.8, 3.0),
        ("Depth", 3.0, 3.1),  # within a quarter point: not named
    )
    text = progress_text(p)
    assert (
        "your 3rd finished mid-level interview in this pack. Overall 3.4, last time 2.9 (+0" in text
    )
    assert "the first time 2.1." in text
    assert "Up since last time: Communication 2.5 to 3.5." in text
    assert "Down: Correctness 3.8 to 3.0." in text
    assert "Depth" not in text


def test_steady_scores_and_ordinals() -> None:
    p = _progress(12, 3.4, 3.0, ("Depth", 3.3, 3.4))
    text = progress_text(p)
    assert "your 12th finished mid-level interview" in text and "(+0.0)" in text
    assert "Every criterion is within a quarter point of last time." in text
    assert "your 22nd" in progress_text(_progress(22, 3.0, 3.0))
    assert "your 2nd" in progress_text(_progress(2, 3.0, None)) and "first time" not in (
        progress_text(_progress(2, 3.0, None))
    )
