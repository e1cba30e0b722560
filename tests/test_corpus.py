"""The shipped corpus, and how the loader reports every problem with file, item, field and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import question, write_topic
from typer.testing import CliRunner

from interviewer.cli import app
from interviewer.config import PROJECT_ROOT
from interviewer.corpus import load_corpus, near_duplicates, stats
from interviewer.domain import Category, Level
from interviewer.embeddings import MiniLMEmbeddings
from interviewer.errors import CorpusError

runner = CliRunner()


def test_shipped_corpus_is_valid_and_covers_every_category_and_level() -> None:
    corpus = load_corpus(PROJECT_ROOT / "corpus")
    assert corpus.problems == []
    assert len(corpus.questions) >= 60
    for category in Category:
        for level in Level:
            n = sum(1 for q in corpus.questions if q.category == category and level in q.levels)
            assert n >= 1, f"no {category.value} question for {level.value}"


def test_shipped_corpus_has_no_near_duplicates(embeddings: MiniLMEmbeddings) -> None:
    corpus = load_corpus(PROJECT_ROOT / "corpus")
    vectors = embeddings.embed_documents([q.question for q in corpus.questions])
    assert near_duplicates(corpus.questions, vectors) == []


def test_shipped_schema_is_current() -> None:
    result = runner.invoke(app, ["corpus", "schema", "--check"])
    assert result.exit_code == 0, result.output


def test_near_duplicates_are_found(embeddings: MiniLMEmbeddings) -> None:
    from interviewer.domain import Question

    qs = [
        Question.model_validate(question("t-a", text="What is a database index and why use it?")),
        Question.model_validate(question("t-b", text="What is a database index, and why use one?")),
        Question.model_validate(question("t-c", text="Tell me about a conflict in your team.")),
    ]
    pairs = near_duplicates(qs, embeddings.embed_documents([q.question for q in qs]))
    assert [(a.id, b.id) for a, b, _ in pairs] == [("t-a", "t-b")]


def _broken_corpus(root: Path) -> None:
    write_topic(
        root,
        "sample",
        [
            question("t-good"),
            question("t-bad-type", key_points="many"),
            question("t-bad-level", levels=["junior", "guru"]),
            question("t-unknown", difficulty=3),
            question("t-good", text="The same id again, which must be reported as a duplicate."),
            question("t-wrong-topic", topic="elsewhere"),
        ],
    )
    bad = root / "backend-developer" / "broken.yaml"
    bad.write_text("questions:\n  - id: x\n    question: [unclosed\n")
    (root / "backend-developer" / "binary.yaml").write_bytes(b"\xff\xfe\x00garbage")
    (root / "backend-developer" / "shape.yaml").write_text("- just\n- a list\n")


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    _broken_corpus(root)
    corpus = load_corpus(root)
    text = "\n".join(str(p) for p in corpus.problems)
    assert "item t-bad-type: field key_points" in text
    assert "item t-bad-level: field levels.1" in text
    assert "item t-unknown: field difficulty: Extra inputs are not permitted" in text
    assert "item t-good: field id: duplicate id" in text
    assert "item t-wrong-topic: field topic" in text
    assert "broken.yaml:4: is not valid YAML" in text
    assert "started on line 3" in text
    assert "binary.yaml: is not UTF-8" in text
    assert "shape.yaml:1: must be a mapping" in text
    assert [q.id for q in corpus.questions] == ["t-good"]
    with pytest.raises(CorpusError, match="problem"):
        corpus.require_valid()


def test_problem_lines_point_at_the_field(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    path = write_topic(root, "sample", [question("t-one"), question("t-two", category="trivia")])
    problem = load_corpus(root).problems[0]
    lines = path.read_text().splitlines()
    assert problem.line is not None
    assert lines[problem.line - 1].strip() == "category: trivia"


def test_validate_command_exits_non_zero_with_every_problem(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    _broken_corpus(root)
    result = runner.invoke(app, ["corpus", "validate", "--corpus", str(root), "--no-duplicates"])
    assert result.exit_code == 1
    assert "t-bad-level" in result.output
    assert "broken.yaml:4" in result.output
    assert "problem(s)" in result.output


def test_validate_reports_near_duplicates(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    write_topic(
        root,
        "sample",
        [
            question("t-a", text="What is a database index and why would you add one?"),
            question("t-b", text="What is a database index, and why would you add one?"),
        ],
    )
    result = runner.invoke(app, ["corpus", "validate", "--corpus", str(root)])
    assert result.exit_code == 1
    assert "near-duplicate of t-b" in result.output


def test_missing_corpus_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="Corpus folder not found"):
        load_corpus(tmp_path / "nowhere")


def test_stats_count_each_level_a_question_suits(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    write_topic(
        root,
        "sample",
        [question("t-a"), question("t-b", levels=["mid", "senior"], key_points=_mid_points())],
    )
    write_topic(root, "people", [question("t-c", topic="people", category="behavioral")])
    rows = stats(load_corpus(root).questions)
    assert [(r.category, r.topic) for r in rows] == [
        (Category.TECHNICAL, "sample"),
        (Category.BEHAVIORAL, "people"),
    ]
    sample = rows[0]
    assert sample.by_level == {Level.JUNIOR: 1, Level.MID: 2, Level.SENIOR: 1}
    assert sample.total == 2


def _mid_points() -> list[dict[str, object]]:
    return [
        {
            "id": "hashing",
            "text": "The key is hashed to pick a bucket.",
            "weight": 3,
            "level": "mid",
        },
        {
            "id": "collisions",
            "text": "Collisions are chained or probed.",
            "weight": 2,
            "level": "mid",
        },
        {
            "id": "resize",
            "text": "Resizing keeps the load factor low.",
            "weight": 2,
            "level": "senior",
        },
    ]


def test_an_oversized_candidate_questions_file_is_refused_unread(tmp_path: Path) -> None:
    from interviewer.corpus import candidate_questions

    path = tmp_path / "corpus" / "backend-developer" / "closing" / "candidate-questions.yaml"
    path.parent.mkdir(parents=True)
    with path.open("wb") as file:
        file.write(b"questions:\n")
        file.truncate(50_000_000)  # 50 MB (sparse): once took 77 s and 525 MB to reject
    asks, problems = candidate_questions(tmp_path / "corpus", "backend-developer")
    assert asks == []
    assert [str(p) for p in problems] == [
        "corpus/backend-developer/closing/candidate-questions.yaml: is 50,000,000 bytes; "
        "this file holds at most 2 MB, so it was not read"
    ]


def test_problems_are_capped_per_file(tmp_path: Path) -> None:
    from interviewer.corpus import MAX_PROBLEMS_PER_FILE, candidate_questions

    path = tmp_path / "corpus" / "backend-developer" / "closing" / "candidate-questions.yaml"
    path.parent.mkdir(parents=True)
    path.write_text("questions:\n" + "  - id: x\n" * 500)  # 5 problems each: 2,500 in all
    problems = candidate_questions(tmp_path / "corpus", "backend-developer")[1]
    assert len(problems) == MAX_PROBLEMS_PER_FILE + 1
    assert problems[-1].message == (
        "and 2,480 more problem(s) in this file, not listed; fix these first"
    )
    topic = write_topic(tmp_path / "corpus", "sample", [{"id": f"t-{i}"} for i in range(100)])
    found = [p for p in load_corpus(tmp_path / "corpus").problems if p.file.endswith(topic.name)]
    assert len(found) == MAX_PROBLEMS_PER_FILE + 1 and found[-1].message.startswith("and ")
