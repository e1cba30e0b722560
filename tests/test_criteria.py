"""Rubric criteria as pack data: the ``offline`` block, its errors, inheritance, and the shipped
backend data reproducing the table the offline scorer had in code before it."""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError
from typer.testing import CliRunner

from interviewer.cli import app
from interviewer.config import PROJECT_ROOT
from interviewer.corpus import load_corpus
from interviewer.domain import Category, Level
from interviewer.embeddings import MiniLMEmbeddings
from interviewer.evals.datasets import load_jsonl
from interviewer.packs import Pack, PackError, load_pack
from interviewer.scoring import EmbeddingScorer, ScoringRequest
from interviewer.scoring.criteria import FEATURE_SIGNALS, OfflineCriterion
from interviewer.scoring.offline import Features, ScorerParams
from interviewer.scoring.text import cue_count

PROMPTS = PROJECT_ROOT / "prompts"
PARENT = PROMPTS / "backend-developer"
runner = CliRunner()


# -- the model's own checks ------------------------------------------------------------------

GOOD: dict[str, Any] = {"signals": {"coverage": 0.6, "cues": 0.4}, "cues": {"words": ["slo"]}}
BROKEN = [
    ({"signals": {"coverage": 1, "tradeoffs": 1}}, "unknown signal(s) tradeoffs; signals are"),
    ({"signals": {"coverage": 0, "length": 0}}, "the weights sum to 0"),
    ({"signals": {}}, "at least 1 item"),
    ({"signals": {"coverage": -1}}, "greater than or equal to 0"),
    ({"signals": {"coverage": 0.6, "cues": 0.4}}, "signals weigh cues but no cues are given"),
    ({**GOOD, "cues": {"words": []}}, "cues.words"),
    ({**GOOD, "cues": {"words": ["  "]}}, "cues.words.0"),
    ({**GOOD, "cues": {"words": ["slo"], "saturate_at": 0}}, "cues.saturate_at"),
    ({"signals": {"coverage": 1}, "cues": {"words": ["slo"]}}, "signals does not weigh them"),
    ({"signals": {"coverage": 1}, "weak_reason": "no SLOs"}, "weighs neither trade_offs nor cues"),
    ({"signals": {"coverage": 1}, "weak_cap": 2}, "weak_cap applies when a cue signal is low"),
    ({**GOOD, "weak_cap": 5}, "less than or equal to 4"),
    ({**GOOD, "red_flag_penalty": 2}, "red_flag_penalty"),
    ({**GOOD, "colour": "blue"}, "colour"),
]


@pytest.mark.parametrize(("data", "needle"), BROKEN, ids=[b[1][:30] for b in BROKEN])
def test_an_offline_block_the_scorer_cannot_use_is_refused(
    data: dict[str, Any], needle: str
) -> None:
    with pytest.raises(ValidationError) as info:
        OfflineCriterion.model_validate(data)
    assert needle in str(info.value)


def test_weights_are_relative_and_cues_whole_words_in_any_case() -> None:
    spec = OfflineCriterion.model_validate(
        {
            "signals": {"coverage": 3, "cues": 1},
            "cues": {"words": [" SLO ", "p99", "error budget"], "saturate_at": 2},
        }
    )
    assert spec.cues is not None and spec.cues.words == ("slo", "p99", "error budget")
    features = dict.fromkeys(FEATURE_SIGNALS, 0.0) | {"coverage": 0.5}
    # one of two cues: (3 * 0.5 + 1 * 0.5) / 4; "slos" is not the word "slo"
    assert spec.raw(features, "We set SLOs and watch P99.", red_flag=False) == 0.5
    assert spec.raw(features, "Alert when the error budget burns at p99.", False) == 0.625


# -- the shipped data is the table offline.py had in code ---------------------------------------
# The table as it stood in EmbeddingScorer._raw before criteria became pack data, kept here as the
# reference the shipped backend data must reproduce.

TRADE_OFF = "few trade-offs or alternatives were weighed"
SITUATION = (
    "when i", "at my", "our team", "we were", "the project", "last year", "the goal", "my role",
    "i was", "situation", "context", "deadline", "customer",
)  # fmt: skip
ACTION = (
    "i decided", "i wrote", "i built", "i proposed", "i talked", "i asked", "i set up", "i led",
    "i reviewed", "i changed", "i suggested", "i organised", "i organized", "i took", "i made",
    "i started", "i worked", "i spoke", "i pushed",
)  # fmt: skip
RESULT = (
    "as a result", "result", "reduced", "increased", "improved", "shipped", "launched", "saved",
    "outcome", "in the end", "ended up", "percent", "%", "delivered", "fixed",
)  # fmt: skip
REFLECTION = (
    "learned", "learnt", "next time", "would do differently", "in hindsight", "lesson",
    "realised", "realized", "now i", "since then", "i would",
)  # fmt: skip
REQUIREMENT = (
    "requirement", "users", "clarify", "assume", "assumption", "scale", "latency", "qps",
    "requests per second", "read-heavy", "write-heavy", "functional", "non-functional",
    "estimate", "sla", "availability",
)  # fmt: skip
STORAGE = (
    "database", "table", "schema", "index", "cache", "storage", "sql", "nosql", "key-value",
    "partition", "shard", "column", "blob", "s3", "redis",
)  # fmt: skip
SCALE = (
    "replica", "replication", "shard", "load balancer", "queue", "failover", "retry", "timeout",
    "circuit", "cache", "horizontal", "region", "backpressure", "rate limit", "idempotent",
    "monitor",
)  # fmt: skip
GROWTH = (*REFLECTION, "learn", "goal", "grow")
#: (category, criterion) -> (signal weights, cue words, saturate_at, red-flag penalty)
OLD_TABLE: dict[tuple[str, str], tuple[dict[str, float], tuple[str, ...], int, float]] = {
    ("technical", "correctness"): ({"essential": 0.75, "reference": 0.25}, (), 0, 0.35),
    ("technical", "depth"): ({"advanced": 0.7, "length": 0.3}, (), 0, 0),
    ("technical", "completeness"): ({"coverage": 1}, (), 0, 0),
    ("technical", "communication"): ({"structure": 0.4, "coverage": 0.6}, (), 0, 0),
    ("technical", "trade-offs"): ({"coverage": 0.55, "trade_offs": 0.45}, (), 0, 0),
    ("system_design", "requirements"): ({"coverage": 0.6, "cues": 0.4}, REQUIREMENT, 3, 0),
    ("system_design", "high-level-design"): ({"coverage": 0.8, "structure": 0.2}, (), 0, 0),
    ("system_design", "data-and-storage"): ({"coverage": 0.6, "cues": 0.4}, STORAGE, 3, 0),
    ("system_design", "scale-and-reliability"): (
        {"advanced": 0.5, "coverage": 0.2, "cues": 0.3},
        SCALE,
        3,
        0,
    ),
    ("system_design", "trade-offs"): ({"coverage": 0.55, "trade_offs": 0.45}, (), 0, 0),
    ("behavioral", "situation-and-task"): (
        {"coverage": 0.6, "cues": 0.25, "numbers": 0.15},
        SITUATION,
        2,
        0,
    ),
    ("behavioral", "actions-and-ownership"): ({"coverage": 0.6, "cues": 0.4}, ACTION, 3, 0),
    ("behavioral", "result-and-impact"): (
        {"coverage": 0.6, "cues": 0.25, "numbers": 0.15},
        RESULT,
        2,
        0,
    ),
    ("behavioral", "reflection"): ({"coverage": 0.6, "cues": 0.4}, REFLECTION, 2, 0),
    ("soft_skills", "self-awareness"): ({"coverage": 0.6, "cues": 0.4}, REFLECTION, 2, 0),
    ("soft_skills", "concrete-examples"): (
        {"coverage": 0.6, "cues": 0.25, "numbers": 0.15},
        SITUATION,
        2,
        0,
    ),
    ("soft_skills", "communication"): ({"structure": 0.5, "coverage": 0.5}, (), 0, 0),
    ("soft_skills", "growth"): ({"coverage": 0.6, "cues": 0.4}, GROWTH, 2, 0),
}


def _old_raw(key: tuple[str, str], f: dict[str, float], red_flag: bool, text: str) -> float:
    """The old table's formula for one criterion, term by term as it was written."""
    weights, words, saturate, penalty = OLD_TABLE[key]
    cues = min(1.0, cue_count(text, words) / saturate) if words else 0.0
    numbers = 1.0 if any(ch.isdigit() for ch in text) else 0.0
    value = {**f, "cues": cues, "numbers": numbers}
    terms = [weight * value[name] for name, weight in weights.items()]
    total = terms[0]
    for term in terms[1:]:
        total += term
    return total - (penalty if red_flag else 0.0)


@pytest.mark.parametrize("pack_id", ["backend-developer", "backend-onsite"])
def test_shipped_backend_data_is_the_old_table(pack_id: str) -> None:
    pack = load_pack(PROMPTS / pack_id)
    shipped = {
        (category.value, c.id): c.offline
        for category, rubric in pack.spec.rubrics.items()
        for c in rubric.criteria
    }
    assert set(shipped) == set(OLD_TABLE)
    for key, (weights, words, saturate, penalty) in OLD_TABLE.items():
        spec = shipped[key]
        assert list(spec.signals.items()) == list(weights.items()), key  # order: same sums
        assert sum(spec.signals.values()) == 1.0, key  # so dividing by it changes nothing
        assert spec.red_flag_penalty == penalty, key
        cues = (sorted(spec.cues.words), spec.cues.saturate_at) if spec.cues else None
        assert cues == ((sorted(words), saturate) if words else None), key
        assert (spec.weak_reason == TRADE_OFF) == (key[1] == "trade-offs"), key


def test_shipped_backend_data_scores_exactly_as_the_old_table() -> None:
    """Every criterion, on every answer of the backend eval set, under random features: the
    same raw value to the last bit, and the same reason for a weak trade-off discussion."""
    pack = load_pack(PARENT)
    dataset = load_jsonl(PROJECT_ROOT / "evals" / "datasets" / "backend-v1.jsonl")
    answers = [item.answer for item in dataset.items]
    rng = random.Random(13)
    for text in answers:
        f = {name: rng.choice([0.0, 1.0, rng.random()]) for name in FEATURE_SIGNALS}
        red_flag = rng.random() < 0.3
        for category, rubric in pack.spec.rubrics.items():
            for c in rubric.criteria:
                key = (category.value, c.id)
                assert c.offline.raw(f, text, red_flag) == _old_raw(key, f, red_flag, text), key
                old_weak = c.id == "trade-offs" and f["trade_offs"] < 0.34
                new_weak = bool(c.offline.weak_reason) and c.offline.weak(f, text)
                assert new_weak == old_weak, key


def test_frontend_design_cues_are_about_the_browser_not_the_data_centre() -> None:
    front, back = load_pack(PROMPTS / "frontend-developer"), load_pack(PARENT)
    ours = {(k, c.id): c.offline for k, r in front.spec.rubrics.items() for c in r.criteria}
    theirs = {(k, c.id): c.offline for k, r in back.spec.rubrics.items() for c in r.criteria}
    changed = {
        "requirements": ("qps", "devices"),
        "data-and-storage": ("shard", "indexeddb"),
        "scale-and-reliability": ("failover", "debounce"),
    }
    for (category, cid), spec in ours.items():
        if cid not in changed or category != Category.SYSTEM_DESIGN:
            assert spec == theirs[(category, cid)], cid  # the same data, so the same scores
            continue
        backend_word, frontend_word = changed[cid]
        assert spec.cues is not None and spec.signals == theirs[(category, cid)].signals
        assert backend_word not in spec.cues.words and frontend_word in spec.cues.words


def test_feature_signals_are_features_the_scorer_measures() -> None:
    assert set(FEATURE_SIGNALS) <= set(Features.__dataclass_fields__)


# -- a team's own criterion, inherited through extends ------------------------------------------

OBSERVABILITY = {
    "id": "observability",
    "name": "Observability",
    "weight": 2,
    "description": "Whether the design says how the team would see it failing.",
    "anchors": {n: f"Anchor {n}." for n in range(1, 6)},
    "offline": {
        "signals": {"coverage": 0.5, "cues": 0.5},
        "cues": {
            "words": ["metric", "metrics", "alert", "dashboard", "trace", "p99", "slo", "logs"],
            "saturate_at": 3,
        },
        "weak_reason": "no metrics, traces or alerts were named",
    },
}


def _team_pack(root: Path, extra: dict[str, Any] | None = None) -> Path:
    """A pack extending backend-developer whose system_design rubric adds observability."""
    shutil.copytree(PARENT, root / "backend-developer")
    rubric = yaml.safe_load((PARENT / "pack.yaml").read_text())["rubrics"]["system_design"]
    rubric["criteria"].append(OBSERVABILITY)
    data = {
        "id": "acme-backend",
        "extends": "backend-developer",
        "name": "Acme backend",
        "version": "1.0.0",
        "description": "Ours.",
        "rubrics": {"system_design": rubric},
        **(extra or {}),
    }
    folder = root / "acme-backend"
    folder.mkdir()
    (folder / "pack.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return folder


def test_a_team_criterion_is_scored_from_its_own_cues(tmp_path: Path, model_cache: Path) -> None:
    pack = load_pack(_team_pack(tmp_path))
    q = load_corpus(PROJECT_ROOT / "corpus").by_id()["sd-url-shortener"]
    rubric = pack.rubric(Category.SYSTEM_DESIGN)
    scorer = EmbeddingScorer(MiniLMEmbeddings(model_cache))  # uncalibrated: raw values show
    watched = (
        q.reference_answer
        + " We would put p99 redirect latency and the error rate on a dashboard, alert on both,"
        " and trace slow requests."
    )
    silent = (
        q.reference_answer
        + " We would talk this part through with the whole team before we built any of it."
    )
    a = scorer.features(q, watched, Level.MID)[0]
    b = scorer.features(q, silent, Level.MID)[0]
    assert a.coverage == b.coverage  # the same key points covered either way
    scores = {}
    for text in (watched, silent):
        result = scorer.score(ScoringRequest(q, text, Level.MID, rubric))
        scores[text] = {c.id: c for c in result.criteria}
    assert scores[watched]["observability"].score >= scores[silent]["observability"].score + 2
    assert scores[silent]["observability"].reason.endswith(
        "; no metrics, traces or alerts were named."
    )
    assert "were named" not in scores[watched]["observability"].reason

    # With the calibration a candidate meets, a strong design that never says how failures
    # would be seen still earns half of the criterion from coverage, unless the team caps it.
    calibrated = EmbeddingScorer(
        MiniLMEmbeddings(model_cache), ScorerParams.load(pack.calibration_path)
    )

    def observability(of: Pack, text: str) -> int:
        result = calibrated.score(
            ScoringRequest(q, text, Level.MID, of.rubric(Category.SYSTEM_DESIGN))
        )
        return next(c.score for c in result.criteria if c.id == "observability")

    assert observability(pack, silent) >= 3
    capped = {
        "rubric_adjustments": {"system_design": {"observability": {"offline": {"weak_cap": 2}}}}
    }
    team = load_pack(_team_pack(tmp_path / "capped", capped))
    assert observability(team, silent) == 2
    assert observability(team, watched) == observability(pack, watched) >= 4  # it has the cues
    assert "at most 2 without its cues" in next(
        c.offline.describe()
        for c in team.rubric(Category.SYSTEM_DESIGN).criteria
        if c.id == "observability"
    )


def test_a_child_overrides_one_criterions_cues_or_signals(tmp_path: Path) -> None:
    adjust = {
        "rubric_adjustments": {
            "system_design": {
                "data-and-storage": {"offline": {"cues": {"words": ["Postgres", "ledger"]}}},
                "scale-and-reliability": {"offline": {"signals": {"advanced": 1}, "cues": None}},
                "observability": {"offline": {"red_flag_penalty": 0.2}},
            }
        }
    }
    pack = load_pack(_team_pack(tmp_path, adjust))
    parent = load_pack(tmp_path / "backend-developer")
    mine = {c.id: c.offline for c in pack.rubric(Category.SYSTEM_DESIGN).criteria}
    theirs = {c.id: c.offline for c in parent.rubric(Category.SYSTEM_DESIGN).criteria}
    storage = mine["data-and-storage"]
    assert storage.cues is not None and storage.cues.words == ("postgres", "ledger")
    assert storage.cues.saturate_at == 3 and storage.signals == theirs["data-and-storage"].signals
    assert mine["scale-and-reliability"].signals == {"advanced": 1}
    assert mine["scale-and-reliability"].cues is None
    assert mine["observability"].red_flag_penalty == 0.2
    own = OfflineCriterion.model_validate(OBSERVABILITY["offline"])
    assert mine["observability"] == own.model_copy(update={"red_flag_penalty": 0.2})
    assert mine["requirements"] == theirs["requirements"]  # untouched criteria are inherited


def test_whether_answers_are_told_in_own_words_is_the_rubrics_and_inherited(
    tmp_path: Path,
) -> None:
    """The story rubrics say their answers are told in the candidate's own words; a child
    inherits that, may say otherwise in a rubric of its own, and a value that is not true or
    false names its field."""
    parent = load_pack(PARENT)
    assert parent.rubric(Category.BEHAVIORAL).told_in_own_words
    assert parent.rubric(Category.SOFT_SKILLS).told_in_own_words
    assert not parent.rubric(Category.TECHNICAL).told_in_own_words
    assert not parent.rubric(Category.SYSTEM_DESIGN).told_in_own_words
    child = load_pack(_team_pack(tmp_path / "inherits"))
    assert child.rubric(Category.BEHAVIORAL).told_in_own_words
    behavioral = yaml.safe_load((PARENT / "pack.yaml").read_text())["rubrics"]["behavioral"]
    own = {**behavioral, "told_in_own_words": False}
    strict = load_pack(_team_pack(tmp_path / "strict", {"rubrics": {"behavioral": own}}))
    assert not strict.rubric(Category.BEHAVIORAL).told_in_own_words
    wrong = {"rubrics": {"behavioral": {**behavioral, "told_in_own_words": "sometimes"}}}
    with pytest.raises(PackError) as info:
        load_pack(_team_pack(tmp_path / "wrong", wrong))
    assert "rubrics.behavioral.told_in_own_words" in str(info.value)


def _adjust(category: str, criterion: str, offline: dict[str, Any]) -> dict[str, Any]:
    return {"rubric_adjustments": {category: {criterion: {"offline": offline}}}}


CHILD_ERRORS = [
    (
        _adjust("technical", "trade-offs", {"signals": {"cues": 1}}),
        "rubrics.technical.criteria.trade-offs.offline: signals weigh cues but no cues are given",
    ),
    (
        _adjust("system_design", "requirements", {"signals": {"coverage": 1}}),
        "rubrics.system_design.criteria.requirements.offline: cues are given but signals does not",
    ),
    (
        _adjust("technical", "depth", {"signals": {"deep": 1}}),
        "rubric_adjustments.technical.depth.offline.signals: unknown signal(s) deep",
    ),
    (
        _adjust("technical", "depth", {"cues": {"words": []}}),
        "rubric_adjustments.technical.depth.offline.cues.words",
    ),
]


@pytest.mark.parametrize(
    ("extra", "needle"), CHILD_ERRORS, ids=["no-cues", "unweighed", "unknown", "empty"]
)
def test_a_child_that_leaves_a_criterion_unscorable_is_refused(
    tmp_path: Path, extra: dict[str, Any], needle: str
) -> None:
    folder = _team_pack(tmp_path, extra)
    with pytest.raises(PackError) as info:
        load_pack(folder)
    assert str(folder / "pack.yaml") in str(info.value)
    assert needle in str(info.value)


def test_pack_validate_names_the_criterion_that_cannot_be_scored(tmp_path: Path) -> None:
    folder = _team_pack(tmp_path)
    data = yaml.safe_load((folder / "pack.yaml").read_text())
    del data["rubrics"]["system_design"]["criteria"][-1]["offline"]  # observability
    (folder / "pack.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    result = runner.invoke(app, ["pack", "validate", str(folder)], terminal_width=300)
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert str(folder / "pack.yaml") in output
    assert "field rubrics.system_design.criteria.observability.offline: Field required" in output
    # A full pack (no extends) the same way, with an unknown signal name.
    copy = tmp_path / "copy" / "backend-developer"
    shutil.copytree(PARENT, copy)
    manifest = copy / "pack.yaml"
    text = manifest.read_text()
    manifest.write_text(text.replace("trade_offs: 0.45}", "tradeoffs: 0.45}", 1))
    result = runner.invoke(app, ["pack", "validate", str(copy)], terminal_width=300)
    output = " ".join(result.output.split())
    assert result.exit_code == 1 and str(manifest) in output
    field = "field rubrics.technical.criteria.trade-offs.offline.signals"
    assert f"{field}: unknown signal(s) tradeoffs" in output


def test_the_worked_example_in_the_docs_loads_and_reads_as_it_says(tmp_path: Path) -> None:
    docs = (PROJECT_ROOT / "docs" / "packs.md").read_text()
    section = docs.split("### Worked example: a criterion of your own")[1]
    example = yaml.safe_load(section.split("```yaml")[1].split("```")[0])
    kept = yaml.safe_load((PARENT / "pack.yaml").read_text())["rubrics"]["system_design"]
    criteria = example["rubrics"]["system_design"]["criteria"]
    criteria[:0] = kept["criteria"]  # what the example leaves out as "copied whole"
    shutil.copytree(PARENT, tmp_path / "backend-developer")
    folder = tmp_path / "acme-backend"
    folder.mkdir()
    (folder / "pack.yaml").write_text(yaml.safe_dump(example, sort_keys=False))
    pack = load_pack(folder)
    mine = {c.id: c.offline for c in pack.rubric(Category.SYSTEM_DESIGN).criteria}
    assert mine["observability"].describe() in docs
    assert mine["data-and-storage"].cues is not None
    assert mine["data-and-storage"].cues.words[0] == "postgresql"
    criteria[-1]["offline"]["signals"] = {"coverage": 0.5, "logs": 0.5}
    (folder / "pack.yaml").write_text(yaml.safe_dump(example, sort_keys=False))
    with pytest.raises(PackError) as info:
        load_pack(folder)
    shown = str(info.value).splitlines()[1]
    assert shown in docs  # the error quoted in the docs is the one a team gets


def test_pack_show_lists_each_criterions_offline_scoring(monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    from interviewer import pack_cli

    # one line per table row (a console made at import reads COLUMNS only then)
    monkeypatch.setattr(pack_cli, "out", Console(width=3000))
    shown = runner.invoke(app, ["pack", "show", "backend-onsite"])
    assert shown.exit_code == 0, shown.output
    assert "0.75 essential + 0.25 reference; -0.35 on a red flag" in shown.output
    assert "0.5 advanced + 0.2 coverage + 0.3 cues; 16 cue words, full at 3" in shown.output


def test_the_pack_schema_knows_the_signals() -> None:
    import json

    import jsonschema

    schema = json.loads(runner.invoke(app, ["pack", "schema"]).output)
    data = yaml.safe_load((PARENT / "pack.yaml").read_text())
    jsonschema.validate(data, schema)
    data["rubrics"]["technical"]["criteria"][0]["offline"]["signals"]["essentials"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)
    del data["rubrics"]["technical"]["criteria"][0]["offline"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)


def test_completeness_follows_the_ticks_beside_it_and_nothing_else_moves(
    model_cache: Path,
) -> None:
    """Half of a model answer said word for word: the calibrated overall reads it as strong, and
    Completeness used to say 5 beside "3 of 6 key points covered". Its anchors count points, so
    half of its score now comes from the ticks; the overall and every other criterion stay."""
    import re

    pack = load_pack(PARENT)
    q = load_corpus(PROJECT_ROOT / "corpus").by_id()["net-tcp-vs-udp"]
    shipped = pack.rubric(q.category)
    spec = next(c for c in shipped.criteria if c.id == "completeness").offline
    assert spec.from_ticks == 0.5 and "50% from the key points ticked" in spec.describe()

    def rubric(share: float) -> Any:
        criteria = [
            c.model_copy(update={"offline": c.offline.model_copy(update={"from_ticks": share})})
            if c.id == "completeness"
            else c
            for c in shipped.criteria
        ]
        return shipped.model_copy(update={"criteria": criteria})

    scorer = EmbeddingScorer(
        MiniLMEmbeddings(model_cache), ScorerParams.load(pack.calibration_path)
    )
    said = re.split(r"(?<=[.!?])\s+", q.reference_answer)
    half = " ".join(said[: len(said) // 2])
    results = {s: scorer.score(ScoringRequest(q, half, Level.MID, rubric(s))) for s in (0, 0.5, 1)}
    scores = {s: {c.id: c.score for c in r.criteria} for s, r in results.items()}
    ticked = [kp for kp in results[0.5].key_points if kp.covered]
    assert len(ticked) < len(q.key_points) and results[0.5].overall >= 4.5
    assert scores[0]["completeness"] == 5  # what the card said before, beside the ticks
    expected = [kp for kp in q.key_points if kp.level.rank <= Level.MID.rank]
    share = sum(kp.weight for kp in expected if kp.id in {t.id for t in ticked}) / sum(
        kp.weight for kp in expected
    )
    assert scores[1]["completeness"] == round(1 + 4 * share) < scores[0.5]["completeness"] < 5
    for s in (0.5, 1):
        assert results[s].overall == results[0].overall
        assert {k: v for k, v in scores[s].items() if k != "completeness"} == {
            k: v for k, v in scores[0].items() if k != "completeness"
        }
    # a question with a reference answer only has no ticks: its signals alone, as before
    bare = q.model_copy(update={"key_points": [], "follow_ups": [], "red_flags": []})
    plain = [scorer.score(ScoringRequest(bare, half, Level.MID, rubric(s))) for s in (0, 1)]
    assert plain[0].criteria == plain[1].criteria


def test_from_ticks_is_a_share() -> None:
    with pytest.raises(ValidationError) as info:
        OfflineCriterion.model_validate({"signals": {"coverage": 1}, "from_ticks": 1.5})
    assert "from_ticks" in str(info.value)
