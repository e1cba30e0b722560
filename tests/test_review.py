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
    # answers nobody has graded yet are what a grading round is for: no human_score needed
    fresh = tmp_path / "fresh.jsonl"
    fresh.write_text(
        '{"id": "a1", "question": "What does an index cost on writes?", "answer": "Each insert '
        'also updates the index."}\n{"id": "a2", "question": "Why use a queue?", "answer": '
        '"To absorb bursts.", "human_score": 4}\n'
    )
    imported = runner.invoke(app, ["review", "import", str(fresh)])
    assert imported.exit_code == 0, imported.output
    assert "Imported 2 item(s) into 'fresh'" in imported.output
    assert "1 answer(s) without a human_score" in " ".join(imported.output.split())
    keys = [k for k, _, _ in review.grades.dataset_items("fresh", LOCAL)]
    assert keys == ["dataset:fresh:a1", "dataset:fresh:a2"]
    sheet = tmp_path / "fresh.csv"
    sheet.write_text("q,a\nWhat is a deadlock?,Two locks taken in opposite orders.\n")
    imported = runner.invoke(app, ["review", "import", str(sheet), "--map", "question=q,answer=a"])
    assert imported.exit_code == 0, imported.output
    # ... while an eval still refuses a line without a grade, naming it
    refused = cli_error(monkeypatch, capsys, "eval", "run", "--dataset", str(fresh))
    assert "fresh.jsonl:1: field human_score: Field required" in refused


def test_key_point_marks_are_kept_set_against_the_ticks_and_exported_as_labels(
    reviewed: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from interviewer.cli import app
    from interviewer.evals.key_points import load_points

    review = Review(reviewed)
    items = [i for i in review.queue() if i.offline and i.question.key_points]
    # the queue's order follows random session ids: put an answer with a ticked point first, so
    # kp-a (items 0 to 2) always has a point to agree on
    first = next(i for i in items if any(kp.covered for kp in i.offline.key_points))
    items = [first, *(i for i in items if i is not first)]
    ticked = {i.key: {kp.id: kp.covered for kp in i.offline.key_points} for i in items[:4]}
    assert any(any(t.values()) for t in ticked.values())
    assert any(not all(t.values()) for t in ticked.values())
    with pytest.raises(ReviewError, match="no key point nope"):
        review.commit(items[0], "kp-a", _scores(items[0], 3), 3.0, points={"nope": 2})
    for item in items[:3]:  # kp-a reads every point as the scorer ticked it
        marks = {p: 2 if hit else 0 for p, hit in ticked[item.key].items()}
        review.commit(item, "kp-a", _scores(item, 3), 3.0, points=marks)
    # kp-b calls every point of one more answer partly made, and marks only some of another
    review.commit(
        items[3], "kp-b", _scores(items[3], 3), 3.0, points=dict.fromkeys(ticked[items[3].key], 1)
    )
    some = dict(list(dict.fromkeys(ticked[items[0].key], 2).items())[:1])
    review.commit(items[0], "kp-b", _scores(items[0], 3), 3.0, points=some)
    review.commit(items[4], "kp-c", _scores(items[4], 3), 3.0)  # marks nothing: allowed
    assert review.graded_by("kp-a", items)[items[1].key].points == {
        p: 2 if hit else 0 for p, hit in ticked[items[1].key].items()
    }
    rows = {row.grader: row.agreement for row in review.agreement(items).points}
    assert rows["kp-a"].kappa == pytest.approx(1.0) and rows["kp-a"].precision == 1.0
    assert "kp-c" not in rows
    # labels: the lower median of the graders' marks, for answers with every point marked
    lines = review.export_points(items)
    labelled = {row["id"]: row for row in map(json.loads, lines[1:])}
    assert json.loads(lines[0])["dataset"]["name"].endswith("-key-points")
    assert len(labelled) == 4  # items[0..2] by kp-a, items[3] by kp-b; items[4] unmarked
    first = next(r for r in labelled.values() if r["answer"] == items[0].answer)
    marked_by_b = next(iter(some))
    # kp-a's mark and kp-b's 2 on one point: the lower of the two; the rest kp-a's alone
    assert first["points"][marked_by_b] == (2 if ticked[items[0].key][marked_by_b] else 0)
    partly = next(r for r in labelled.values() if r["answer"] == items[3].answer)
    assert set(partly["points"].values()) == {1}
    path = tmp_path / "marks.jsonl"
    path.write_text("\n".join(lines) + "\n")
    assert len(load_points(path, reviewed.corpus.by_id()).items) == 4
    # the commands: agreement prints the marks beside the ticks; export writes the labels
    settings = reviewed.settings
    assert reviewed.store.path is not None
    monkeypatch.setenv("INTERVIEWER_CORPUS_DIR", str(settings.corpus_dir))
    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(reviewed.store.path.parent))
    monkeypatch.setenv("INTERVIEWER_CACHE_DIR", str(settings.cache_dir))
    runner = CliRunner()
    agreement = runner.invoke(app, ["review", "agreement"])
    assert agreement.exit_code == 0, agreement.output
    assert "Key points" in agreement.output and "kp-a" in agreement.output
    out = tmp_path / "cli-marks.jsonl"
    exported = runner.invoke(
        app, ["review", "export", "--out", str(tmp_path / "g.jsonl"), "--points", str(out)]
    )
    assert exported.exit_code == 0, exported.output
    assert len(load_points(out, reviewed.corpus.by_id()).items) >= 4
    checked = runner.invoke(app, ["eval", "points", "--dataset", str(out)])
    assert checked.exit_code == 0, checked.output
    assert "kappa" in checked.output


def test_grades_saved_before_key_point_marks_read_as_unmarked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import text

    import interviewer.store as store_module
    from interviewer.review.grades import GradeStore

    monkeypatch.setattr(store_module, "MIGRATIONS", MIGRATIONS[:5])
    old = SessionStore.for_data_dir(tmp_path)  # a database as version 5 left it
    with old.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO grades (id, item_key, grader, criteria, overall, note, rubric_hash, "
                "at) VALUES ('g1', 'k', 'ana', '{\"correctness\": 4}', 4.0, '', 'h', 't')"
            )
        )
    old.engine.dispose()
    monkeypatch.setattr(store_module, "MIGRATIONS", MIGRATIONS)
    store = SessionStore.for_data_dir(tmp_path)  # opening it applies migration 6
    assert store.migrate() == []
    (grade,) = GradeStore(store).grades()
    assert grade.grader == "ana" and grade.criteria == {"correctness": 4} and grade.points == {}
