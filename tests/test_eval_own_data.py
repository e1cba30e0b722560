"""The eval CLI with an evaluator's own data: --scale on JSONL, keys of a source's own, --map for
JSONL, misspelt fields, and progress that suits a log as well as a terminal."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from factories import cli_error

from interviewer.config import PROJECT_ROOT
from interviewer.evals.datasets import (
    DatasetError,
    Scale,
    ScaleError,
    line_schema,
    load_csv,
    load_jsonl,
    parse_mapping,
    parse_scale,
)
from interviewer.evals.judging import LineProgress, progress_bar

BACKEND = PROJECT_ROOT / "evals" / "datasets" / "backend-v1.jsonl"
QUIZ = [  # answers graded 0..2, as a source outside the project grades them
    {"id": "q1", "question": "What is a stack?", "answer": "LIFO", "human_score": 2},
    {"id": "q2", "question": "What is a queue?", "answer": "FIFO, mostly", "human_score": 1.5},
    {"id": "q3", "question": "What is a heap?", "answer": "a kind of list", "human_score": 0},
]


def _jsonl(path: Path, rows: list[dict[str, object]], header: dict[str, object] | None) -> Path:
    lines = ([{"dataset": header}] if header is not None else []) + rows
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    return path


# 1. --scale on a JSONL file


def test_scale_supplies_a_jsonl_files_scale_and_a_differing_header_is_refused(
    tmp_path: Path,
) -> None:
    bare = _jsonl(tmp_path / "bare.jsonl", QUIZ, None)
    with pytest.raises(DatasetError) as outside:
        load_jsonl(bare)  # no header, no --scale: 1..5, and 0 is outside it
    message = str(outside.value)
    assert f"{bare}:3: field human_score: 0 is outside 1..5" in message
    assert "default scale" in message and "--scale MIN,MAX" in message
    assert "its grades run from 0 to 2" in message  # what the right scale might be
    assert isinstance(outside.value, ScaleError)
    assert load_jsonl(bare, scale=parse_scale("0,2")).info.scale == Scale(min=0, max=2)
    assert load_jsonl(bare, scale=parse_scale("0..2")).info.scale == Scale(min=0, max=2)

    named = _jsonl(tmp_path / "named.jsonl", QUIZ, {"name": "quiz"})  # a header, no scale
    assert load_jsonl(named, scale=parse_scale("0,2")).info.scale == Scale(min=0, max=2)

    declared = _jsonl(tmp_path / "declared.jsonl", QUIZ, {"scale": {"min": 0, "max": 2}})
    assert load_jsonl(declared).info.scale == Scale(min=0, max=2)
    assert load_jsonl(declared, scale=parse_scale("0,2")).info.scale == Scale(min=0, max=2)
    with pytest.raises(DatasetError) as conflict:
        load_jsonl(declared, scale=parse_scale("0,5"))
    assert "declares the scale 0..2 but --scale says 0..5" in str(conflict.value)

    # Still reported with file, line and field on the scale that results.
    with pytest.raises(DatasetError) as low:
        load_jsonl(bare, scale=parse_scale("1,2"))
    assert f"{bare}:3: field human_score: 0 is outside 1..2" in str(low.value)
    assert "the scale given by --scale" in str(low.value)
    seven = {**QUIZ[0], "id": "q4", "human_score": 7}
    offscale = _jsonl(tmp_path / "off.jsonl", [*QUIZ, seven], {"scale": {"min": 0, "max": 2}})
    with pytest.raises(DatasetError, match=r"off\.jsonl:5: field human_score: 7 is outside 0\.\.2"):
        load_jsonl(offscale)

    for bad in ("5", "5,0", "low,high", "0,5,9"):
        with pytest.raises(DatasetError, match="use MIN,MAX"):
            parse_scale(bad)


def test_the_eval_cli_refuses_a_scale_it_cannot_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    declared = _jsonl(tmp_path / "declared.jsonl", QUIZ, {"scale": {"min": 0, "max": 2}})
    shown = cli_error(
        monkeypatch, capsys, "eval", "run", "--dataset", str(declared), "--scale", "0,5"
    )
    assert f"error: {declared}:1: the header line declares the scale 0..2" in shown
    assert "--scale says 0..5" in shown
    shown = cli_error(
        monkeypatch, capsys, "eval", "run", "--dataset", str(declared), "--scale", "5"
    )
    assert "--scale '5': use MIN,MAX" in shown and "Traceback" not in shown
    # A suite file sets its own mapping and scale: the flags are refused, not ignored.
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"name: s\ndataset: {declared}\n")
    for flag, value in (("--scale", "0,5"), ("--map", "human_score=points")):
        shown = cli_error(monkeypatch, capsys, "eval", "run", str(suite), flag, value)
        assert "is a suite file" in shown and "apply to a dataset file" in shown
    shown = cli_error(monkeypatch, capsys, "eval", "run", str(suite), "--dataset", str(declared))
    assert "is a suite file, which names its dataset itself" in " ".join(shown.split())
    # A misspelt threshold was found only after the whole run, as a breach with the value nan.
    typo = tmp_path / "typo.yaml"
    typo.write_text(f"name: s\ndataset: {declared}\nthresholds:\n  qwq: '>= 0.5'\n")
    shown = " ".join(cli_error(monkeypatch, capsys, "eval", "run", str(typo)).split())
    assert f"{typo}: field thresholds: unknown name 'qwq' (did you mean qwk?)" in shown
    assert "threshold names are n, pearson," in shown and "robustness.PROBE." in shown
    shown = cli_error(
        monkeypatch, capsys, "eval", "calibrate", "--dataset", str(suite), "--scale", "0,5"
    )
    assert "every --dataset is a suite file" in shown
    # Two files on different scales: one --scale cannot serve both, and the error says how.
    bare = _jsonl(tmp_path / "bare.jsonl", QUIZ, None)
    args = ["eval", "cross", "--dataset", str(declared), "--dataset", str(bare)]
    for extra in ([], ["--scale", "0,5"]):
        shown = " ".join(cli_error(monkeypatch, capsys, *args, *extra).split())
        assert "--scale applies to every dataset file given" in shown
        assert 'its own in a header line (first line: {"dataset":' in shown
    alone = cli_error(monkeypatch, capsys, "eval", "run", "--dataset", str(bare))
    assert "every dataset file given" not in alone  # one file: --scale is the whole answer


def test_a_suite_gives_its_dataset_file_a_scale_a_mapping_and_a_name(tmp_path: Path) -> None:
    from interviewer.cli import _dataset

    rows = [
        {**{k: v for k, v in r.items() if k != "answer"}, "response": r["answer"]} for r in QUIZ
    ]
    _jsonl(tmp_path / "bare.jsonl", rows, None)
    suite = tmp_path / "quiz.yaml"
    suite.write_text(
        "name: quiz\ndataset:\n  path: bare.jsonl\n  name: quiz-2026\n"
        "  map: {answer: response}\n  scale: {min: 0, max: 2}\n"
    )
    data = _dataset(suite, None, None)
    assert (data.info.name, data.info.scale) == ("quiz-2026", Scale(min=0, max=2))
    assert [i.answer for i in data.items] == [r["answer"] for r in QUIZ]
    declared = _jsonl(tmp_path / "declared.jsonl", QUIZ, {"scale": {"min": 0, "max": 2}})
    suite.write_text(f"name: quiz\ndataset:\n  path: {declared}\n  scale: {{min: 0, max: 5}}\n")
    with pytest.raises(ScaleError) as conflict:
        _dataset(suite, None, None)
    assert f"declares the scale 0..2 but {suite}'s scale says 0..5" in str(conflict.value)
    suite.write_text(f"name: quiz\ndataset: {declared}\n")  # a bare path, as before
    assert _dataset(suite, None, None).info.scale == Scale(min=0, max=2)
    for body, said in (
        ("dataset:\n  path: answers.csv\n", "field dataset: Value error, a CSV dataset needs map"),
        ("dataset:\n  path: bare.jsonl\n  defaults: {level: junior}\n", "defaults apply to a CSV"),
    ):
        suite.write_text("name: quiz\n" + body)
        with pytest.raises(DatasetError, match=said):
            _dataset(suite, None, None)


def test_calibrate_refuses_what_it_cannot_fit_before_loading_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was a scikit-learn traceback (n_splits=1, or an unknown --curve) after the embedding."""
    scale = {"scale": {"min": 0, "max": 2}}
    one = [{**row, "question": "What is a stack?"} for row in QUIZ]  # one question, asked thrice
    single = _jsonl(tmp_path / "single.jsonl", one, {"name": "single", **scale})
    shown = " ".join(
        cli_error(monkeypatch, capsys, "eval", "calibrate", "--dataset", str(single)).split()
    )
    assert "needs answers to 2 or more questions; the datasets given hold answers to 1" in shown
    assert "Traceback" not in shown
    quiz = _jsonl(tmp_path / "quiz.jsonl", QUIZ, {"name": "quiz", **scale})
    args = ["eval", "calibrate", "--dataset", str(quiz), "--curve", "nope"]
    shown = " ".join(cli_error(monkeypatch, capsys, *args).split())
    assert "no dataset is named 'nope' (the datasets: quiz)" in shown
    # Grades that never vary wrote weights of 0 and NaN CV figures over the pack's calibration.
    flat_rows = [{**r, "human_score": 1} for r in QUIZ]
    flat = _jsonl(tmp_path / "flat.jsonl", flat_rows, {"name": "flat", **scale})
    args = ["eval", "calibrate", "--dataset", str(quiz), "--dataset", str(flat)]
    args += ["--out", str(tmp_path / "c.json")]
    shown = " ".join(cli_error(monkeypatch, capsys, *args).split())
    assert f"dataset flat ({flat}): every answer is graded 1" in shown
    assert "grades that vary" in shown and not (tmp_path / "c.json").exists()


def test_an_item_with_nothing_to_score_against_is_refused_by_line_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An item with no reference answer, no key points and no corpus question was scored
    against its own question text, without a word."""
    ref = "Last in first out."
    rows = [
        {**QUIZ[0], "reference_answer": ref},
        {**QUIZ[1]},  # no reference_answer at all
        {**QUIZ[2], "reference_answer": "  "},
        {**QUIZ[2], "id": "q4", "key_points": ["A tree-shaped priority queue."]},
        {**QUIZ[2], "id": "q5", "question": "db-isolation-lost-update"},  # a corpus question
    ]
    path = _jsonl(tmp_path / "quiz.jsonl", rows, {"name": "quiz", "scale": {"min": 0, "max": 2}})
    shown = cli_error(monkeypatch, capsys, "eval", "run", "--dataset", str(path)).splitlines()
    lines = [x for x in shown if "field reference_answer" in x]
    assert [x.split(": field")[0].removeprefix("error: ") for x in lines] == [
        f"{path}:3",
        f"{path}:4",
    ]
    assert "nothing to score the answer against" in lines[0]
    csv_path = tmp_path / "marks.csv"
    csv_path.write_text(f"q,a,ref,mark\nWhat is a stack?,LIFO,{ref},2\nWhat is a heap?,a list,,0\n")
    mapping = "question=q,answer=a,reference_answer=ref,human_score=mark"
    args = ["eval", "run", "--dataset", str(csv_path), "--map", mapping, "--scale", "0,2"]
    shown = cli_error(monkeypatch, capsys, *args)
    assert f"{csv_path}:3: field reference_answer: empty" in shown
    assert f"{csv_path}:2:" not in shown
    for command in ("calibrate", "cross"):
        shown = cli_error(monkeypatch, capsys, "eval", command, "--dataset", str(path))
        assert f"{path}:3: field reference_answer: empty" in shown


def test_files_saved_with_a_byte_order_mark_read_as_without(tmp_path: Path) -> None:
    """Excel's "CSV UTF-8" starts with a BOM, which was read into the first column's name."""
    csv_path = tmp_path / "marks.csv"
    csv_path.write_bytes(
        b"\xef\xbb\xbfq,a,mark\nWhat is a stack?,LIFO,2\nWhat is a queue?,FIFO,1\n"
    )
    mapping = {"question": "q", "answer": "a", "human_score": "mark"}
    data = load_csv(csv_path, mapping, Scale(min=0, max=2))
    assert [i.question for i in data.items] == ["What is a stack?", "What is a queue?"]
    plain = _jsonl(tmp_path / "plain.jsonl", QUIZ, {"name": "quiz", "scale": {"min": 0, "max": 2}})
    marked = tmp_path / "marked.jsonl"
    marked.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    read = load_jsonl(marked)
    assert read.info == load_jsonl(plain).info and len(read.items) == len(QUIZ)


def test_csv_scores_outside_the_scale_name_the_line_a_record_starts_on(tmp_path: Path) -> None:
    path = tmp_path / "marks.csv"
    path.write_text('q,a,mark\nWhat is a stack?,"LIFO,\nlike plates",1\nWhat is a queue?,FIFO,9\n')
    mapping = {"question": "q", "answer": "a", "human_score": "mark"}
    with pytest.raises(DatasetError) as info:
        load_csv(path, mapping, Scale(min=0, max=5), origin="the scale given by --scale")
    assert f"{path}:4: field human_score: 9 is outside 0..5" in str(info.value)
    assert [i.id for i in load_csv(path, mapping, Scale(min=0, max=10)).items] == [
        "marks-2",
        "marks-3",
    ], "ids still count records, so resumed runs keep matching"


# 2. Keys of a source's own, --map for JSONL, misspelt fields


def test_keys_of_a_sources_own_are_ignored_and_listed_once(tmp_path: Path) -> None:
    rows = [
        {**QUIZ[0], "label": "correct", "feedback": "Good."},
        {**QUIZ[1], "label": "partially_correct", "feedback": "Half."},
        {**QUIZ[2], "label": "incorrect", "feedback": "No.", "question_id": "heap-1"},
    ]
    path = _jsonl(tmp_path / "saf.jsonl", rows, {"scale": {"min": 0, "max": 2}})
    data = load_jsonl(path)
    assert [i.id for i in data.items] == ["q1", "q2", "q3"]
    assert len(data.notices) == 1
    assert "ignored fields: label, feedback (3 lines); question_id (1 line)" in data.notices[0]
    assert load_jsonl(BACKEND).notices == [], "a file in the format has nothing to report"
    # The published schema says the same: keys of one's own are allowed.
    import jsonschema

    for row in rows:
        jsonschema.validate(row, line_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"id": "a", "question": "q", "answer": "x", "label": 3}, line_schema())


def test_map_reads_jsonl_fields_from_other_keys(tmp_path: Path) -> None:
    base = {"question": "What is a stack?", "answer": "LIFO", "human_score": 99}
    rows = [
        {**base, "id": f"p{n}", "points": n, "model_answer": "Last in, first out."}
        for n in range(3)
    ]
    path = _jsonl(tmp_path / "points.jsonl", rows, {"scale": {"min": 0, "max": 2}})
    mapping = parse_mapping("human_score=points,reference_answer=model_answer")
    data = load_jsonl(path, mapping)
    assert [i.human_score for i in data.items] == [0, 1, 2]
    assert {i.reference_answer for i in data.items} == {"Last in, first out."}
    # The key the map displaced is ignored like any other, and said so.
    assert "ignored fields: human_score (3 lines)" in data.notices[0]

    with pytest.raises(DatasetError) as absent:
        load_jsonl(path, parse_mapping("human_score=pionts"))
    assert str(absent.value).count("\n") == 1, "one error, not one per line"
    assert "--map human_score=pionts: no line of" in str(absent.value)
    assert "did you mean 'points'?" in str(absent.value)
    with pytest.raises(DatasetError, match=r"human_scor is not a dataset field \(did you mean"):
        load_jsonl(path, parse_mapping("human_scor=points"))
    with pytest.raises(DatasetError, match="mapped twice"):
        parse_mapping("human_score=points,human_score=marks")

    bad = _jsonl(tmp_path / "bad.jsonl", [{**rows[0], "points": "lots"}], None)
    with pytest.raises(DatasetError, match=r"bad\.jsonl:1: field human_score \(key 'points'\)"):
        load_jsonl(bad, {"human_score": "points"})


def test_misspelt_fields_are_refused_with_the_field_they_resemble(tmp_path: Path) -> None:
    rows = [
        {"id": "a", "question": "q?", "answer": "x", "human_scor": 2},
        {"id": "b", "question": "q?", "answer": "x", "human_score": 2, "refrence_answer": "r"},
        {"id": "c", "question": "q?", "answer": "x", "score": 2},
        {"id": "d", "question": "q?", "answer": "x", "marks": 2},
    ]
    path = _jsonl(tmp_path / "typos.jsonl", rows, None)
    with pytest.raises(DatasetError) as info:
        load_jsonl(path)
    lines = str(info.value).splitlines()
    assert len(lines) == 4
    assert lines[0].startswith(
        f"{path}:1: field human_score: missing, and the line has 'human_scor'"
    )
    assert "--map human_score=human_scor" in lines[0]
    assert lines[1].startswith(f"{path}:2: key 'refrence_answer': not a dataset field")
    assert "did you mean reference_answer?" in lines[1]
    assert "--map human_score=score" in lines[2]
    assert "other keys are marks: --map human_score=KEY" in lines[3]
    # Renaming through the map reads the key; mapping a field to itself lets a key of one's own
    # that merely resembles it be ignored.
    only_b = _jsonl(tmp_path / "b.jsonl", [rows[1]], None)
    renamed = load_jsonl(only_b, {"reference_answer": "refrence_answer"})
    assert renamed.items[0].reference_answer == "r"
    kept = load_jsonl(only_b, {"reference_answer": "reference_answer"})
    assert kept.items[0].reference_answer == "" and "refrence_answer (1 line)" in kept.notices[0]
    # Keys that only look a little like a field are a source's own, not typos.
    own = {"label": "x", "points": 1, "grader": "t", "question_id": "7", "answer_id": "9"}
    line = {"id": "e", "question": "q?", "answer": "x", "human_score": 2, **own}
    assert len(load_jsonl(_jsonl(tmp_path / "own.jsonl", [line], None)).items) == 1


# 3. Progress bars in a log and on a terminal


def test_line_progress_writes_a_few_whole_lines() -> None:
    now = [0.0]
    sink = io.StringIO()
    slow = LineProgress(1000, "scoring big", sink, every=30.0, clock=lambda: now[0])
    for _ in range(1000):  # one item a second: a line at each tenth, the last at the end
        now[0] += 1.0
        slow.update()
    slow.close()
    lines = sink.getvalue().splitlines()
    assert "\r" not in sink.getvalue()
    assert len(lines) == 10, lines
    assert lines[0] == "scoring big: 100/1000 (10%)"
    assert lines[-1] == "scoring big: 1000/1000 done in 1000.0 s"
    sink = io.StringIO()
    fast = LineProgress(1000, "scoring", sink, every=30.0, clock=lambda: now[0])
    for _ in range(1000):  # all within a second: one line, at the end
        fast.update()
    fast.close()
    assert sink.getvalue() == "scoring: 1000/1000 done in 0.0 s\n"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_bar_is_drawn_on_a_terminal_and_plain_lines_go_to_a_log(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    bar = progress_bar(50, "scoring")
    for _ in range(50):
        bar.update(1)
    bar.close()
    assert "\r" in terminal.getvalue() and "50/50" in terminal.getvalue()
    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    bar = progress_bar(50, "scoring")
    for _ in range(50):
        bar.update(1)
    bar.close()
    assert log.getvalue().startswith("scoring: 50/50 done in ")
    assert log.getvalue().count("\n") == 1 and "\r" not in log.getvalue()
    monkeypatch.setattr(sys, "stderr", log := io.StringIO())
    progress_bar(50, None).close()
    assert log.getvalue() == ""


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "interviewer", *args],
        capture_output=True,  # stdout and stderr are pipes, not a terminal
        text=True,
        timeout=240,
        check=False,
    )


def test_eval_run_into_a_log_writes_no_bar_frames(tmp_path: Path) -> None:
    lines = BACKEND.read_text().splitlines()
    rows = [{**json.loads(x), "label": "graded", "feedback": "ok"} for x in lines[1:9]]
    path = _jsonl(tmp_path / "own.jsonl", rows, None)
    out = tmp_path / "run"
    done = _cli(
        "eval", "run", "--dataset", str(path), "--out", str(out), "--robustness-sample", "1"
    )
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr and "\r" not in done.stdout
    err = done.stderr.splitlines()
    scoring = [x for x in err if x.startswith("scoring own:")]
    assert len(scoring) == 1 and scoring[0].startswith("scoring own: 8/8 done in"), err
    assert len([x for x in err if x.startswith("robustness probes:")]) == 1
    assert sum("ignored fields: label, feedback (8 lines)" in x for x in err) == 1
    assert json.loads((out / "metrics.json").read_text())["n"] == 8


def test_corpus_ingest_into_a_log_writes_no_bar_frames() -> None:
    done = _cli("corpus", "ingest")
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr and "Embedding" not in done.stderr
    assert "added" in done.stdout
