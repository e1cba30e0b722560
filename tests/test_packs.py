"""Prompt packs: the shipped pack loads; malformed packs fail at load naming file and field."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from interviewer.config import PROJECT_ROOT
from interviewer.domain import Category
from interviewer.packs import PackError, load_pack

SHIPPED = PROJECT_ROOT / "prompts" / "backend-developer"


def test_shipped_pack_is_complete() -> None:
    pack = load_pack(SHIPPED)
    assert set(pack.spec.formats) == {
        "phone-screen",
        "technical-deep-dive",
        "system-design",
        "behavioral",
        "mixed",
    }
    assert {c.id for c in pack.rubric(Category.TECHNICAL).criteria} == {
        "correctness",
        "depth",
        "completeness",
        "communication",
        "trade-offs",
    }
    for category in Category:
        for criterion in pack.rubric(category).criteria:
            assert sorted(criterion.anchors) == [1, 2, 3, 4, 5]
    text = pack.render(
        "greeting",
        persona_name="P",
        persona_title="T",
        level="mid",
        format_name="Phone screen",
        question_count=4,
        minutes=30,
    )
    assert "Phone screen" in text and "hint" in text


def test_content_hash_changes_with_a_template(tmp_path: Path) -> None:
    copy = tmp_path / "backend-developer"
    shutil.copytree(SHIPPED, copy)
    before = load_pack(copy).content_hash
    (copy / "closing.md").write_text("Thanks, {persona_name}. That's all.")
    assert load_pack(copy).content_hash != before


def _edit_yaml(change: Callable[[dict[str, object]], None]) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        path = root / "pack.yaml"
        data = yaml.safe_load(path.read_text())
        change(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False))

    return apply


def _anchor_missing(data: dict) -> None:  # type: ignore[type-arg]
    del data["rubrics"]["technical"]["criteria"][0]["anchors"][3]


def _unknown_field(data: dict) -> None:  # type: ignore[type-arg]
    data["persona"]["age"] = 40


def _no_rubric(data: dict) -> None:  # type: ignore[type-arg]
    del data["rubrics"]["behavioral"]


def _escape(data: dict) -> None:  # type: ignore[type-arg]
    data["templates"]["judge"] = "../../../etc/passwd"


def _bad_version(data: dict) -> None:  # type: ignore[type-arg]
    data["version"] = "latest"


@pytest.mark.parametrize(
    ("breaker", "needle"),
    [
        (_edit_yaml(_anchor_missing), "rubrics.technical.criteria.correctness.anchors"),
        (_edit_yaml(_unknown_field), "field persona.age"),
        (_edit_yaml(_no_rubric), "missing a rubric for behavioral"),
        (_edit_yaml(_escape), "outside the pack folder"),
        (_edit_yaml(_bad_version), "field version"),
        (
            lambda root: (root / "judge.md").write_text(
                "Score {answer} against {rubric} {nonsense}."
            ),
            "unknown variable(s) nonsense",
        ),
        (
            lambda root: (root / "judge.md").write_text("Score the answer against {rubric}."),
            "must use answer, key_points",
        ),
        (lambda root: (root / "ask.md").unlink(), "file 'ask.md' not found"),
        (lambda root: (root / "pack.yaml").write_text("id: [broken\n"), "not valid YAML"),
    ],
)
def test_malformed_pack_is_rejected_with_file_and_field(
    tmp_path: Path, breaker: Callable[[Path], None], needle: str
) -> None:
    copy = tmp_path / "backend-developer"
    shutil.copytree(SHIPPED, copy)
    breaker(copy)
    with pytest.raises(PackError) as info:
        load_pack(copy)
    assert needle in str(info.value)
    assert str(copy) in str(info.value)


def test_pack_schema_accepts_every_shipped_manifest_and_rejects_a_typo() -> None:
    import json

    import jsonschema
    from typer.testing import CliRunner

    from interviewer.cli import app

    schema = json.loads(CliRunner().invoke(app, ["pack", "schema"]).output)
    manifests = sorted((PROJECT_ROOT / "prompts").glob("*/pack.yaml"))
    assert len(manifests) >= 3
    for manifest in manifests:
        jsonschema.validate(yaml.safe_load(manifest.read_text()), schema)
    child = yaml.safe_load((PROJECT_ROOT / "prompts/backend-onsite/pack.yaml").read_text())
    child["persona"]["nmae"] = "typo"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(child, schema)


def test_a_linked_pack_file_cannot_lead_outside_the_pack(tmp_path: Path) -> None:
    copy = tmp_path / "packs" / "backend-developer"
    shutil.copytree(SHIPPED, copy)
    secret = tmp_path / "secret.yaml"
    secret.write_text("questions: []\n")
    (copy / "questions").mkdir()
    (copy / "questions" / "borrowed.yaml").symlink_to(secret)
    with pytest.raises(PackError) as info:
        load_pack(copy)
    assert "borrowed.yaml: leads outside the pack folder" in str(info.value)
    (copy / "questions" / "borrowed.yaml").unlink()
    (copy / "tests.yaml").unlink(missing_ok=True)  # the shipped pack has tests of its own
    (copy / "tests.yaml").symlink_to(secret)
    with pytest.raises(PackError, match=r"tests\.yaml: leads outside"):
        load_pack(copy)


def test_pack_validate_refuses_an_oversized_manifest_without_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from interviewer.cli import app

    folder = tmp_path / "huge"
    folder.mkdir()
    manifest = folder / "pack.yaml"
    with manifest.open("wb") as file:
        file.write(b"id: huge\n")
        file.truncate(50_000_000)  # sparse: 50 MB on paper
    read: list[Path] = []
    for method in ("read_bytes", "read_text"):
        original = getattr(Path, method)

        def spy(self: Path, *args: object, _original: object = original, **kw: object) -> object:
            if self.name == "pack.yaml" and self.parent == folder:
                read.append(self)
            return _original(self, *args, **kw)  # type: ignore[operator]

        monkeypatch.setattr(Path, method, spy)
    result = CliRunner().invoke(app, ["pack", "validate", str(folder)], terminal_width=300)
    assert result.exit_code == 1, result.output
    assert "is 50,000,000 bytes; pack.yaml holds at most 1 MB" in result.output
    assert read == []


def test_the_onsite_greeting_reads_naturally_for_every_format_name() -> None:
    from interviewer.pack_catalog import discover

    pack = discover([SHIPPED.parent]).packs["backend-onsite"]
    assert "system-design" in pack.spec.formats  # inherited from backend-developer
    for fmt in pack.spec.formats.values():
        text = pack.render(
            "greeting",
            persona_name="P",
            persona_title="T",
            level="senior",
            format_name=fmt.name,
            question_count=1,
            question_phrase="1 question",
            minutes=fmt.minutes,
        )
        assert f"Today's format is {fmt.name}: 1 question at senior level" in text
        assert "This is the" not in text


def test_article_and_counted() -> None:
    from interviewer.packs import article, counted

    assert [article(w) for w in ("Onsite loop", "Phone screen", "Behavioral", "")] == [
        "an",
        "a",
        "a",
        "a",
    ]
    assert (counted(1, "question"), counted(5, "question")) == ("1 question", "5 questions")
