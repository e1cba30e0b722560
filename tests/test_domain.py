"""The corpus item model: what it accepts and what it rejects with a field-level reason."""

from __future__ import annotations

import pytest
from factories import question
from pydantic import ValidationError

from interviewer.domain import Level, Question


def test_valid_item_loads_and_orders_levels() -> None:
    q = Question.model_validate(question())
    assert q.levels == [Level.JUNIOR, Level.MID]
    assert [kp.id for kp in q.expected_at(Level.JUNIOR)] == ["hashing", "collisions"]
    assert len(q.expected_at(Level.SENIOR)) == 3


def test_unknown_field_is_rejected_by_name() -> None:
    with pytest.raises(ValidationError, match="difficulty"):
        Question.model_validate(question(difficulty="hard"))


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"levels": ["expert"]}, "levels.0"),
        ({"category": "trivia"}, "category"),
        ({"red_flags": []}, "red_flags"),
        ({"source": "wikipedia"}, "source"),
        ({"levels": ["junior"]}, "key_points.resize.level"),
        (
            {
                "follow_ups": [
                    {"text": "What about open addressing?", "probes": ["probing"]},
                    {"text": "And resizing cost over time?", "probes": ["resize"]},
                ]
            },
            "follow_ups.0.probes",
        ),
        ({"reference_answer": "Too short to teach anything."}, "reference_answer"),
        ({"id": "Not A Slug"}, "id"),
    ],
)
def test_invalid_items_name_the_field(overrides: dict[str, object], needle: str) -> None:
    with pytest.raises(ValidationError) as info:
        Question.model_validate(question(**overrides))
    assert needle in str(info.value)


def test_no_key_point_at_lowest_level_is_rejected() -> None:
    item = question(levels=["junior", "mid"])
    item["key_points"] = [dict(kp, level="mid") for kp in item["key_points"]]  # type: ignore[attr-defined]
    with pytest.raises(ValidationError, match="lowest level 'junior'"):
        Question.model_validate(item)


def test_behavioral_items_need_no_red_flags() -> None:
    q = Question.model_validate(question(category="behavioral", red_flags=[]))
    assert q.red_flags == []


def test_content_hash_tracks_content_only() -> None:
    a = Question.model_validate(question())
    same = Question.model_validate(question())
    edited = Question.model_validate(question(text="How does a hash map resolve collisions?"))
    assert a.content_hash() == same.content_hash()
    assert a.content_hash() != edited.content_hash()


def test_search_text_carries_question_topic_and_tags() -> None:
    q = Question.model_validate(question(tags=["hash-map", "big-o"]))
    assert q.question in q.search_text()
    assert q.search_text().endswith("sample: hash map big o")
