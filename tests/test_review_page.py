"""The Review page through Streamlit's AppTest: grade, reveal, next, resume, two graders,
agreement, export. Finished interviews are played with the real engine, offline."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import streamlit as st
from factories import LOCAL
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from interviewer.domain import Level
from interviewer.review.queue import ReviewItem
from interviewer.review.service import Review
from interviewer.services import Services

PASSED = "review-score|{key}|{criterion}"


@pytest.fixture(autouse=True)
def fresh_resources() -> Iterator[None]:
    """Each test builds its own services from its own environment."""
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def _review_page() -> None:
    from interviewer.web.review_page import review_page

    review_page()


def _svc() -> Services:
    """The app's own services (the same cached object the page uses)."""
    from interviewer.web.resources import services

    return services()


def _play(svc: Services, strong: bool) -> None:
    """One phone screen: two questions answered (the reference answer, or its first sentence),
    then ended."""
    corpus = svc.corpus.by_id()
    interview = svc.new_interview(
        "backend-developer", Level.MID, "phone-screen", profile="kim", viewer=LOCAL
    )
    interview.start()
    for _ in range(2):
        state = interview.session.active
        assert state is not None
        q = corpus[state.question_id]
        interview.handle(q.reference_answer if strong else q.reference_answer.split(". ")[0])
        if interview.session.active is state:  # a follow-up: move on
            interview.handle("skip")
    interview.handle("end")
    assert interview.session.phase.value == "done"


@pytest.fixture
def items() -> list[ReviewItem]:
    """Two finished interviews (a strong and a weak one): four answers to grade."""
    svc = _svc()
    _play(svc, strong=True)
    _play(svc, strong=False)
    found = Review(svc).queue()
    assert len(found) == 4
    return found


def _open(name: str | None = None) -> AppTest:
    at = AppTest.from_function(_review_page, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    if name is not None:
        at.text_input(key="review-name-input").input(name)
        _click(at, "Start grading")
    return at


def _click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label.endswith(label)).click().run()
    assert not at.exception, at.exception
    return at


def _strings(message: Any) -> Iterator[str]:
    """Every string field of a protobuf message, nested ones included."""
    for _, value in message.ListFields():
        repeated = hasattr(value, "__len__") and not isinstance(value, str | bytes)
        for v in value if repeated else [value]:
            if isinstance(v, str):
                yield v
            elif hasattr(v, "ListFields"):
                yield from _strings(v)


def _everything(at: AppTest) -> str:
    """Everything the page sends to the browser (text, labels, help, options, table cells),
    as a reader sees it: untrusted text reaches Markdown backslash-escaped."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "ListFields"):
            parts.extend(_strings(proto))
        if type(node).__name__ == "Dataframe":
            parts.append(node.value.to_csv())
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return re.sub(r"\\(.)", r"\1", "\n".join(parts))


def _grade_on_page(at: AppTest, item: ReviewItem, score: int) -> None:
    for c in item.rubric.criteria:
        at.segmented_control(key=PASSED.format(key=item.key, criterion=c.id)).set_value(score)
    at.run()
    _click(at, "Save grade")


def _position(at: AppTest) -> str:
    return next(p for p in at.get("progress")).proto.text


def test_grade_reveals_the_scorers_only_after_saving_then_next_and_resume(
    items: list[ReviewItem],
) -> None:
    first = items[0]
    assert first.offline is not None
    reason = first.offline.criteria[0].reason
    at = _open("Priya")
    assert any("Grading as **Priya**" in m.value for m in at.markdown)
    assert _position(at).startswith("Item 1 of 4")
    before = _everything(at)
    assert first.question.question[:40] in before
    assert "Offline scorer" not in before and reason not in before
    assert f"{first.offline.overall:.2f}" not in before

    _grade_on_page(at, first, 4)
    after = _everything(at)
    assert "Grade saved" in at.success[0].value
    assert "Offline scorer" in after and reason in after
    assert f"**{first.offline.overall:.2f}**" in after
    saved = Review(_svc()).graded_by("Priya", items)[first.key]
    assert saved.criteria == {c.id: 4 for c in first.rubric.criteria} and saved.overall == 4.0
    assert not any(b.label == "Save grade" for b in at.button)  # never a second form

    _click(at, "Next item")
    assert _position(at).startswith("Item 2 of 4")
    assert any(b.label == "Save grade" for b in at.button)
    assert "Offline scorer" not in _everything(at)

    # A new browser session with the same name continues at the first answer not graded.
    again = _open("Priya")
    assert _position(again).startswith("Item 2 of 4 · you have graded 1 of 4")


def test_a_second_grader_never_sees_the_first_graders_scores(items: list[ReviewItem]) -> None:
    review = Review(_svc())
    for item in items[:2]:
        review.commit(
            item, "Priya", {c.id: 2 for c in item.rubric.criteria}, 2.0, "PRIYA-SECRET-NOTE"
        )
    at = _open("Sam")
    assert _position(at).startswith("Item 1 of 4 · you have graded 0 of 4")
    seen = _everything(at)
    assert "Priya" not in seen and "PRIYA-SECRET-NOTE" not in seen
    _grade_on_page(at, items[0], 5)
    seen = _everything(at)
    assert "Offline scorer" in seen  # revealed: the scorers, but still not the other grader
    assert "Priya" not in seen and "PRIYA-SECRET-NOTE" not in seen


def test_the_same_grader_in_two_tabs_keeps_the_first_grade(items: list[ReviewItem]) -> None:
    first, second = _open("Priya"), _open("Priya")
    for c in items[0].rubric.criteria:  # the second tab fills in the form ...
        second.segmented_control(key=PASSED.format(key=items[0].key, criterion=c.id)).set_value(1)
    second.run()
    _grade_on_page(first, items[0], 5)  # ... the first saves ...
    _click(second, "Save grade")  # ... then the second
    assert "already graded" in second.warning[0].value
    assert not any(b.label == "Save grade" for b in second.button)
    grades = Review(_svc()).grades.grades([items[0].key])
    assert [(g.grader, g.overall) for g in grades] == [("Priya", 5.0)]


def test_a_missing_or_too_long_name_is_an_error_and_saves_nothing(
    items: list[ReviewItem],
) -> None:
    at = _open()
    for name, expected in [
        ("", "Type your name first"),
        ("   ", "Type your name first"),
        ("x" * 61, "61 characters long"),
    ]:
        at.text_input(key="review-name-input").input(name)
        _click(at, "Start grading")
        assert len(at.error) == 1 and expected in at.error[0].value, name
        assert not at.get("progress") and not any(b.label == "Save grade" for b in at.button)
    assert Review(_svc()).grades.grades() == []


def test_an_empty_queue_says_why() -> None:
    at = _open()
    assert "No finished interviews yet" in at.info[0].value
    at.selectbox(key="review-level").set_value(Level.SENIOR).run()
    assert "match these filters" in at.info[0].value


def test_agreement_export_and_opening_a_disagreement(
    items: list[ReviewItem], monkeypatch: pytest.MonkeyPatch
) -> None:
    downloads: list[bytes] = []
    keep = MemoryMediaFileStorage.load_and_get_id

    def record(self, data, mimetype, kind, filename=None):  # type: ignore[no-untyped-def]
        downloads.append(data if isinstance(data, bytes) else data.encode())
        return keep(self, data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    review = Review(_svc())
    for i, item in enumerate(items):
        ids = [c.id for c in item.rubric.criteria]
        review.commit(item, "Priya", dict.fromkeys(ids, 1 + i), 1.0 + i, "note by Priya")
        review.commit(item, "Sam", dict.fromkeys(ids, min(5, 2 + i)), min(5.0, 2.0 + i))
    at = _open("Sam")
    at.segmented_control(key="review-view").set_value("Agreement").run()
    assert not at.exception, at.exception
    assert [m.value for m in at.metric] == ["4 of 4", "8", "2"]
    pairs = at.dataframe[0].value
    kappa = pairs[(pairs["target"] == "overall") & (pairs["raters"] == "Priya ~ Sam")]
    assert len(kappa) == 1 and kappa.iloc[0]["n"] == 4
    assert kappa.iloc[0]["QWK [95% CI]"][0].isdigit()
    assert "Krippendorff's alpha [95% CI]" in at.dataframe[1].value.columns

    lines = [json.loads(line) for line in downloads[-1].decode().splitlines()]
    assert lines[0]["dataset"]["name"] == "review-interviews"
    assert len(lines) == 5 and all(line["grader_count"] == 2 for line in lines[1:])
    assert not any("Priya" in json.dumps(line) for line in lines)
    at.checkbox(key="review-export-names").check().run()
    named = [json.loads(line) for line in downloads[-1].decode().splitlines()]
    assert named[1]["rater"] == "Priya, Sam" and named[1]["notes"] == "note by Priya"

    # The first disagreement opens in the Grade view, at its place in the queue.
    # (by key: two interviews may have asked the same question)
    first = review.agreement(items).disagreements[0]
    index = next(i for i, item in enumerate(items) if item.key == first.key)
    listed = _everything(at).split("Where graders and a scorer part most")[1]
    assert first.question[:60] in listed[:400]
    at.button(key="review-open-0").click().run()
    assert not at.exception, at.exception
    assert at.segmented_control(key="review-view").value == "Grade"
    assert _position(at).startswith(f"Item {index + 1} of 4")
    assert items[index].question.question[:60] in _everything(at)


def test_key_points_marked_on_the_page_are_saved_and_set_beside_the_ticks(
    items: list[ReviewItem],
) -> None:
    item = items[0]
    assert item.offline is not None and len(item.question.key_points) >= 2
    first, second = item.question.key_points[:2]
    ticked = {kp.id: kp.covered for kp in item.offline.key_points}
    at = _open("Kai")
    for c in item.rubric.criteria:
        at.segmented_control(key=PASSED.format(key=item.key, criterion=c.id)).set_value(3)
    at.segmented_control(key=f"review-point|{item.key}|{first.id}").set_value("covered")
    at.segmented_control(key=f"review-point|{item.key}|{second.id}").set_value("partly")
    at.run()
    _click(at, "Save grade")
    assert not at.exception, at.exception
    saved = Review(_svc()).graded_by("Kai", items)[item.key]
    assert saved.points == {first.id: 2, second.id: 1}  # unmarked points stay unmarked
    rows = [line for line in _everything(at).splitlines() if line.startswith("| ")]
    scorer = "covered" if ticked[first.id] else "missed"
    assert any(
        r.startswith(f"| {first.text[:30]}") and r.endswith(f"| covered | {scorer} |") for r in rows
    )
    assert any(r.startswith(f"| {second.text[:30]}") and "| partly |" in r for r in rows)

    at.segmented_control(key="review-view").set_value("Agreement").run()
    assert not at.exception, at.exception
    marks = next(d.value for d in at.dataframe if "Cohen's kappa" in d.value.columns)
    kai = marks[marks["Grader"] == "Kai"]
    assert len(kai) == 1 and kai.iloc[0]["Points marked"] == "2"
