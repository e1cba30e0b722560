"""Human review: grades in the session database, the queue, agreement, export and import."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import jsonschema
import pytest
from factories import LOCAL, cli_error

from interviewer.config import PROJECT_ROOT
from interviewer.domain import Level, Phase
from interviewer.evals.datasets import load_jsonl
from interviewer.review.agreement import JUDGE, OFFLINE, OVERALL
from interviewer.review.grades import GradeConflictError, ReviewError
from interviewer.review.queue import Filters
from interviewer.review.service import INTERVIEWS, Review
from interviewer.services import Services
from interviewer.store import MIGRATIONS, SessionStore

SCHEMA = PROJECT_ROOT / "evals" / "schema" / "eval-dataset-line.schema.json"


def _interview(services: Services, level: Level, profile: str, partial: bool) -> str:
    """A finished offline phone screen: reference answers (or their first sentence), one skip."""
    interview = services.new_interview(
        "backend-developer", level, "phone-screen", profile, viewer=LOCAL
    )
    interview.start()
    for n in range(20):
        state = interview.session.active
        if state is None:
            break
        q = interview.questions[state.question_id]
        if n == 1:
            interview.handle("skip")
            continue
        text = q.reference_answer.split(". ")[0] + "." if partial else q.reference_answer
        interview.handle(text)
        while interview.session.active is state:  # a follow-up: move on
            interview.handle("skip")
    interview.handle("end")
    assert interview.session.phase is Phase.DONE
    return interview.session.id


@pytest.fixture(scope="module")
def reviewed(shipped_services: Services, tmp_path_factory: pytest.TempPathFactory) -> Services:
    """Services on a fresh store holding three finished interviews."""
    store = SessionStore.for_data_dir(tmp_path_factory.mktemp("review"))
    services = shipped_services.sharing(shipped_services.settings, store)
    _interview(services, Level.MID, "ana", partial=False)
    _interview(services, Level.MID, "ben", partial=True)
    _interview(services, Level.SENIOR, "ana", partial=True)
    return services


def _scores(item, value: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {c.id: value for c in item.rubric.criteria}


def test_the_queue_holds_answered_questions_of_finished_interviews(reviewed: Services) -> None:
    items = Review(reviewed).queue()
    sessions = {item.key.split(":")[1] for item in items}
    assert len(sessions) == 3
    assert all(item.answer and item.offline is not None for item in items)
    assert all(item.judge is None for item in items)  # offline interviews
    # the skipped second question of each interview is not in the queue
    assert len(items) == sum(
        1
        for row in reviewed.store.list_sessions(viewer=LOCAL)
        for state in reviewed.store.load(row.id, viewer=LOCAL).plan
        if state.answers and not state.skipped
    )
    mid = Review(reviewed, filters=Filters(level=Level.MID)).queue()
    ana = Review(reviewed, filters=Filters(profile="ana")).queue()
    assert {i.level for i in mid} == {Level.MID} and len(mid) < len(items)
    assert {i.profile for i in ana} == {"ana"} and len(ana) < len(items)


def test_grades_are_kept_once_per_grader_and_item(reviewed: Services) -> None:
    review = Review(reviewed)
    items = review.queue()
    item = items[0]
    grade = review.commit(item, "  Dana  Lee ", _scores(item, 4), 4.0, "clear")
    assert grade.grader == "Dana Lee"
    with pytest.raises(GradeConflictError, match="already graded"):
        review.commit(item, "Dana Lee", _scores(item, 2), 2.0)
    kept = review.graded_by("Dana Lee", items)
    assert kept[item.key].overall == 4.0 and kept[item.key].note == "clear"
    assert review.next_index("Dana Lee", items) == 1  # resumes after the graded item
    with pytest.raises(ReviewError, match="Type your name"):
        review.commit(items[1], "   ", _scores(items[1], 3), 3.0)
    with pytest.raises(ReviewError, match="at most 60"):
        review.commit(items[1], "x" * 61, _scores(items[1], 3), 3.0)
    partial = dict(list(_scores(items[1], 3).items())[:1])
    with pytest.raises(ReviewError, match="Score every criterion"):
        review.commit(items[1], "Dana Lee", partial, 3.0)
    with pytest.raises(ReviewError, match="overall: Input should be less than or equal to 5"):
        review.commit(items[1], "Dana Lee", _scores(items[1], 3), 7.0)
    with pytest.raises(ReviewError, match="note: String should have at most 2000"):
        review.commit(items[1], "Dana Lee", _scores(items[1], 3), 3.0, "x" * 2001)
    assert len(review.grades.grades()) == 1  # nothing half-saved


def test_agreement_between_graders_and_with_the_scorer(reviewed: Services) -> None:
    review = Review(reviewed)
    items = review.queue()
    for item in items:
        offline = round(item.offline.overall) if item.offline else 3
        for grader, shift in (("kim", 0), ("lou", 1)):
            value = max(1, min(5, offline + (shift if items.index(item) % 2 else 0)))
            with contextlib.suppress(GradeConflictError):
                review.commit(item, grader, _scores(item, value), float(value))
    report = review.agreement(items)
    assert {"kim", "lou"} <= set(report.graders)
    overall = {(p.first, p.second): p for p in report.pairs if p.target == OVERALL}
    assert overall[("kim", OFFLINE)].qwk > overall[("lou", OFFLINE)].qwk
    assert overall[("kim", "lou")].n == len(items)
    low, high = overall[("kim", "lou")].qwk_ci
    assert low <= overall[("kim", "lou")].qwk <= high
    assert not any(p.second == JUDGE for p in report.pairs)  # no judge in offline interviews
    alpha = next(a for a in report.alphas if a.target == OVERALL)
    assert alpha.graders >= 2 and -1 <= alpha.alpha <= 1
    gaps = [abs(d.gap) for d in report.disagreements]
    assert gaps == sorted(gaps, reverse=True)


def test_export_is_a_dataset_eval_run_reads(
    reviewed: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    review = Review(reviewed)
    items = review.queue()
    review.commit(items[-1], "mo", _scores(items[-1], 5), 5.0, "names no one")
    review.commit(items[-1], "pat", _scores(items[-1], 4), 4.0)
    lines = review.export(items)
    header, rows = json.loads(lines[0]), [json.loads(line) for line in lines[1:]]
    assert header["dataset"]["scale"] == {"min": 1, "max": 5}
    schema = json.loads(SCHEMA.read_text())
    for row in rows:
        jsonschema.validate(row, schema)
        assert row["rater"] == "" and row["notes"] == ""  # anonymous unless asked for
        assert not row["id"].startswith("interview:")
        assert row["group"] == row["question"]
    assert max(r["grader_count"] for r in rows) >= 2
    named = [json.loads(line) for line in review.export(items, with_names=True)[1:]]
    assert any("mo" in r["rater"] for r in named)
    path = tmp_path / "review.jsonl"
    path.write_text("\n".join(lines) + "\n")
    data = load_jsonl(path)
    assert len(data.items) == len(rows)
    # `eval run` accepts it as it is
    from typer.testing import CliRunner

    from interviewer.cli import app

    settings = reviewed.settings
    monkeypatch.setenv("INTERVIEWER_CORPUS_DIR", str(settings.corpus_dir))
    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(settings.data_dir))
    run = ["eval", "run", "--dataset", str(path), "--out", str(tmp_path / "run")]
    result = CliRunner().invoke(app, [*run, "--robustness-sample", "0"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["n"] == len(rows)


def test_an_export_with_no_grades_is_a_message(shipped_services: Services, tmp_path: Path) -> None:
    services = shipped_services.sharing(
        shipped_services.settings, SessionStore.for_data_dir(tmp_path)
    )
    with pytest.raises(ReviewError, match="No graded items"):
        Review(services).export(Review(services).queue())


def test_an_imported_dataset_is_graded_like_interviews(
    shipped_services: Services, tmp_path: Path
) -> None:
    services = shipped_services.sharing(
        shipped_services.settings, SessionStore.for_data_dir(tmp_path)
    )
    path = tmp_path / "outside.jsonl"
    rows = [
        {"dataset": {"name": "outside", "scale": {"min": 0, "max": 2}}},
        *(
            {
                "id": f"a{i}",
                "question": "What does a hash index speed up, and what can it not do?",
                "reference_answer": "Equality lookups; it cannot serve range scans or ordering.",
                "answer": answer,
                "human_score": score,
            }
            for i, (answer, score) in enumerate(
                [("Equality lookups, not ranges.", 2), ("It sorts rows.", 0), ("Lookups.", 1)]
            )
        ),
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    review = Review(services)
    assert review.import_dataset(load_jsonl(path)) == (3, 0)
    assert review.import_dataset(load_jsonl(path)) == (0, 3)  # nothing counted twice
    assert review.sources() == [INTERVIEWS, "outside"]
    items = Review(services, "outside").queue()
    assert next(i.answer for i in items) == "Equality lookups, not ranges."
    assert all(i.offline is not None and i.source == "dataset" for i in items)
    with pytest.raises(ReviewError, match="No imported dataset named 'elsewhere'"):
        Review(services, "elsewhere").queue()


def test_a_pack_changed_since_the_interview_is_flagged(reviewed: Services) -> None:
    items = Review(reviewed).queue()
    assert not any(i.rubric_changed for i in items)
    row = reviewed.store.list_sessions(viewer=LOCAL)[0]
    session = reviewed.store.load(row.id, viewer=LOCAL)
    session.pack_hash = "an-older-pack"
    reviewed.store.save(session)
    changed = [i for i in Review(reviewed).queue() if i.rubric_changed]
    assert {i.key.split(":")[1] for i in changed} == {row.id}


def test_the_review_tables_come_with_a_numbered_migration(tmp_path: Path) -> None:
    assert [m[0] for m in MIGRATIONS][3] == 4
    store = SessionStore.for_data_dir(tmp_path)
    assert store.migrate() == []  # applied once, on open
    with store.engine.connect() as conn:
        from sqlalchemy import text

        versions = [r[0] for r in conn.execute(text("SELECT version FROM schema_migrations"))]
    assert versions[:4] == [1, 2, 3, 4]


def test_review_commands_import_export_and_agreement(
    reviewed: Services,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from typer.testing import CliRunner

    from interviewer.cli import app

    settings = reviewed.settings
    assert reviewed.store.path is not None
    monkeypatch.setenv("INTERVIEWER_CORPUS_DIR", str(settings.corpus_dir))
    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(reviewed.store.path.parent))
    monkeypatch.setenv("INTERVIEWER_CACHE_DIR", str(settings.cache_dir))
    review = Review(reviewed)
    items = review.queue()
    for grader, value in (("ida", 3), ("jo", 4)):
        for item in items[:3]:
            with contextlib.suppress(GradeConflictError):
                review.commit(item, grader, _scores(item, value), float(value))
    runner = CliRunner()
    out = tmp_path / "graded.jsonl"
    result = runner.invoke(app, ["review", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "graded item(s)" in result.output and out.is_file()
    agreement = runner.invoke(app, ["review", "agreement"])
    assert agreement.exit_code == 0, agreement.output
    assert "ida ~ jo" in agreement.output and "Krippendorff" in agreement.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "question": "Q?"}\n')
    refused = cli_error(monkeypatch, capsys, "review", "import", str(bad))
    assert "bad.jsonl:1: field answer" in refused
