"""Prompt packs: persona, interview formats, rubrics, offline lines and prompt templates.

A pack is a folder ``prompts/<id>/`` with ``pack.yaml`` and one file per prompt template. It is
validated in full when loaded: unknown fields, missing rubric anchors, templates that use a
variable the engine does not provide, or that omit one it must show, are all errors that name
the file and the field, so a broken pack fails at start-up and never mid-interview.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

import yaml
from langchain_core.prompts import PromptTemplate
from pydantic import Field, StringConstraints, ValidationError, field_validator, model_validator

from interviewer.domain import Category, Question, Slug, Strict
from interviewer.errors import InterviewerError
from interviewer.files import (
    MAX_FILE_BYTES,
    MAX_MANIFEST_BYTES,
    FileTooLargeError,
    megabytes,
    read_capped,
    safe_yaml,
)
from interviewer.scoring.criteria import OfflineCriterion

Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
TemplateName = Literal[
    "greeting", "closing", "interviewer_system", "ask", "follow_up", "candidate_reply", "judge"
]

#: Variables each template may use; the engine always provides all of them.
TEMPLATE_VARIABLES: dict[str, set[str]] = {
    "greeting": {
        "persona_name",
        "persona_title",
        "level",
        "format_name",
        "question_count",
        "question_phrase",
        "minutes",
    },
    "closing": {"persona_name", "level"},
    "interviewer_system": {
        "persona_name",
        "persona_title",
        "tone",
        "level",
        "format_name",
        "job_description",
    },
    "ask": {"question", "key_points", "level", "position", "question_count"},
    "follow_up": {"question", "answer", "missed_points", "suggested_follow_up", "level"},
    "candidate_reply": {"candidate_question", "persona_name"},
    "judge": {
        "question",
        "level",
        "key_points",
        "reference_answer",
        "rubric",
        "answer",
        "red_flags",
    },
}
#: Variables a template must use, or it cannot do its job.
TEMPLATE_REQUIRED: dict[str, set[str]] = {
    "ask": {"question"},
    "follow_up": {"answer"},
    "candidate_reply": {"candidate_question"},
    "judge": {"answer", "rubric", "key_points"},
}


def counted(count: int, noun: str) -> str:
    """``1 question``, ``5 questions``: a count with its noun in the right number."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def article(word: str) -> str:
    """``an`` before a vowel (``an Onsite loop``), else ``a`` (``a Phone screen``)."""
    return "an" if word[:1].lower() in set("aeiou") else "a"


Version = Annotated[str, StringConstraints(pattern=r"^\d+\.\d+\.\d+$")]


class PackError(InterviewerError):
    """A pack could not be loaded; the message names the file and the field."""


class Persona(Strict):
    """Who the candidate is talking to."""

    name: Line
    title: Line
    tone: Line = Field(description="A few words on how the interviewer sounds.")


class Slot(Strict):
    """Part of a format's plan: how many questions of a category (and optionally topics)."""

    category: Category
    count: int = Field(ge=1, le=10)
    topics: list[Slug] = Field(default_factory=list, description="Empty means any topic.")


class Format(Strict):
    """An interview format: a plan of slots and how much probing each question gets."""

    name: Line
    description: Line = Field(description="One line shown when choosing the format.")
    minutes: int = Field(ge=5, le=180)
    slots: list[Slot] = Field(min_length=1)
    follow_up_budget: int = Field(ge=0, le=4, description="Follow-ups per question at most.")
    candidate_questions: int = Field(
        default=2, ge=0, le=5, description="How many questions the candidate may ask at the end."
    )

    @property
    def question_count(self) -> int:
        """Total questions in the plan."""
        return sum(slot.count for slot in self.slots)


class Criterion(Strict):
    """One scored dimension with anchored descriptions for scores 1 to 5."""

    id: Slug
    name: Line
    weight: float = Field(gt=0, le=10)
    description: Line
    anchors: dict[int, Line]
    offline: OfflineCriterion = Field(
        description="How the offline scorer scores it: signals, weights and cue words."
    )

    @field_validator("anchors")
    @classmethod
    def _five_anchors(cls, anchors: dict[int, str]) -> dict[int, str]:
        if set(anchors) != {1, 2, 3, 4, 5}:
            raise ValueError(f"needs anchors for exactly 1, 2, 3, 4 and 5; got {sorted(anchors)}")
        return anchors


class Rubric(Strict):
    """The criteria one category of question is scored on."""

    criteria: list[Criterion] = Field(min_length=2)
    told_in_own_words: bool = Field(
        default=False,
        description="Answers are told in the candidate's own words, as stories are: about other "
        "systems and people than the reference, so the offline scorer's sentence closeness "
        "misses points they make (of the points a grader saw made, it finds 42% in behavioral "
        "answers, 85% in technical ones). Then an answer close to no key point is not capped "
        "at 2 (relevance, injection and word-salad caps still hold), and the report lists the "
        "points the offline scorer did not find as not found, to check, rather than as missed.",
    )

    @model_validator(mode="after")
    def _unique_ids(self) -> Rubric:
        ids = [c.id for c in self.criteria]
        if len(ids) != len(set(ids)):
            raise ValueError("criteria ids must be unique")
        return self

    def render(self) -> str:
        """The rubric as plain text for prompts."""
        lines = []
        for c in self.criteria:
            lines.append(f"- {c.id} ({c.name}, weight {c.weight:g}): {c.description}")
            lines.extend(f"    {score}: {text}" for score, text in sorted(c.anchors.items()))
        return "\n".join(lines)


class CandidateReply(Strict):
    """A canned answer to a question the candidate asks at the end (offline mode)."""

    keywords: list[
        Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=2)]
    ] = Field(min_length=1)
    reply: Line


class OfflineLines(Strict):
    """What the offline interviewer says between questions, in the persona's voice."""

    acknowledgements: list[Line] = Field(min_length=1)
    transitions: list[Line] = Field(min_length=1)
    follow_up_intros: list[Line] = Field(min_length=1)
    hint_intro: Line
    no_more_hints: Line
    skip_reply: Line
    dont_know_reply: Line = (
        'That\'s fine, it happens in real interviews too. Type "hint" for a nudge, give it your '
        'best guess out loud, or type "skip" to move on.'
    )
    dont_know_replies: dict[Category, Line] = Field(
        default_factory=dict,
        description="In place of ``dont_know_reply`` for a question of this category: a story "
        'question answered "I don\'t have one" is helped by saying where an example can come '
        'from, not by "give it your best guess".',
    )
    candidate_questions_prompt: Line
    candidate_questions_more: Line
    replies: list[CandidateReply] = Field(min_length=1)
    default_reply: Line
    deepening: dict[Category, list[Line]] = Field(
        default_factory=dict,
        description="Probes that push a strong answer further (how it behaves in production, "
        "where it stops working), per question category: asked when an answer scores "
        "STRONG_ANSWER_AT (3.5) or more and leaves no curated follow-up to ask (or is a strong "
        "answer in the candidate's own words), once per question, while "
        "the format's follow-up budget lasts, each at most once per interview.",
    )
    back_to_question: Line = Field(
        default="Let's step back from that detail.",
        description="Said in place of the follow-up intro before a deepening probe that comes "
        "after the answer to a curated follow-up on the "
        'same question, so "where does that approach stop working?" is heard as being about '
        "the whole answer, not the narrow point the follow-up just asked about.",
    )


class QuestionSource(Strict):
    """Which corpus questions a pack asks (its own ``questions/*.yaml`` always count)."""

    roles: list[Slug] = Field(
        default_factory=list, description="Corpus roles; empty means the pack's role."
    )
    topics: list[Slug] = Field(default_factory=list, description="Empty means every topic.")
    tags: list[Slug] = Field(
        default_factory=list, description="Only items with one of these tags; empty: any."
    )


class PackFile(Strict):
    """``pack.yaml``."""

    id: Slug
    extends: Slug | None = Field(default=None, description="The pack this one builds on.")
    name: Line
    version: Version
    description: Line
    role: Slug = Field(description="Corpus role folder the questions come from.")
    questions: QuestionSource = Field(default_factory=QuestionSource)
    calibration_from: Slug | None = Field(
        default=None,
        description="Score offline with this pack's calibration.json until this pack has one.",
    )
    persona: Persona
    formats: dict[Slug, Format] = Field(min_length=1)
    rubrics: dict[Category, Rubric]
    offline: OfflineLines
    templates: dict[TemplateName, str] = Field(description="Template name -> file in the pack.")

    @model_validator(mode="after")
    def _complete(self) -> PackFile:
        missing = [c.value for c in Category if c not in self.rubrics]
        if missing:
            raise ValueError(f"rubrics: missing a rubric for {', '.join(missing)}")
        absent = sorted(set(TEMPLATE_VARIABLES) - set(self.templates))
        if absent:
            raise ValueError(f"templates: missing {', '.join(absent)}")
        return self


class Pack:
    """A loaded, fully validated pack with its templates compiled."""

    def __init__(
        self,
        root: Path,
        spec: PackFile,
        templates: dict[str, PromptTemplate],
        content_hash: str,
        parent: Pack | None = None,
        template_sources: dict[str, Path] | None = None,
        calibration_path: Path | None = None,
        guards_path: Path | None = None,
    ) -> None:
        self.root = root
        self.spec = spec
        self.templates = templates
        self.content_hash = content_hash
        self.parent = parent
        self.template_sources = template_sources or {}
        self.calibration_path = calibration_path
        """The offline scorer's calibration: the pack's own ``calibration.json``, else the one
        of the pack named in ``calibration_from``, else its parent's; None: default settings."""
        self.guards_path = guards_path
        """The reply guards' thresholds: the pack's own ``guards.json``, else its parent's;
        None: the defaults."""

    def template_source(self, name: str) -> Path:
        """The pack folder a template file comes from (its own, or an ancestor's)."""
        return self.template_sources.get(name, self.root)

    @property
    def id(self) -> str:
        """The pack's id."""
        return self.spec.id

    @property
    def question_files(self) -> list[Path]:
        """``questions/*.yaml`` of this pack and of every pack it extends."""
        inherited = self.parent.question_files if self.parent else []
        return inherited + sorted((self.root / "questions").glob("*.yaml"))

    @property
    def tests_file(self) -> Path:
        """The pack's eval cases for ``interviewer pack test``."""
        return self.root / "tests.yaml"

    def admits(self, question: Question, own_ids: frozenset[str] = frozenset()) -> bool:
        """True when the pack may ask ``question`` (``own_ids``: its own questions)."""
        if question.id in own_ids:
            return True
        source = self.spec.questions
        return (
            question.role in (source.roles or [self.spec.role])
            and (not source.topics or question.topic in source.topics)
            and (not source.tags or bool(set(source.tags) & set(question.tags)))
        )

    def render(self, name: TemplateName, **values: object) -> str:
        """Render a template; every allowed variable may be passed, unused ones are ignored."""
        template = self.templates[name]
        return template.format(**{k: values.get(k, "") for k in template.input_variables})

    def rubric(self, category: Category) -> Rubric:
        """The rubric for a category."""
        return self.spec.rubrics[category]

    def told_in_own_words(self) -> frozenset[Category]:
        """The categories whose rubric says answers are told in the candidate's own words."""
        return frozenset(c for c, rubric in self.spec.rubrics.items() if rubric.told_in_own_words)


def _format_errors(path: Path, exc: ValidationError, data: object = None) -> str:
    lines = [f"{path}: invalid pack"]
    for err in exc.errors():
        field = _field(err["loc"], data) or "(file)"
        lines.append(f"  - field {field}: {str(err['msg']).removeprefix('Value error, ')}")
    return "\n".join(lines)


def _field(loc: tuple[int | str, ...], data: object) -> str:
    """An error's location in ``data``, with a rubric criterion named by its id: the field
    ``rubrics.technical.criteria.trade-offs.offline``, not ``...criteria.4.offline``."""
    parts = [str(part) for part in loc]
    if len(loc) > 3 and loc[0] == "rubrics" and loc[2] == "criteria" and isinstance(loc[3], int):
        try:
            criterion = data["rubrics"][loc[1]]["criteria"][loc[3]]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            criterion = None
        if isinstance(criterion, dict) and isinstance(criterion.get("id"), str):
            parts[3] = criterion["id"]
    return ".".join(parts)


def _refuse_format_specs(path: Path, name: str, text: str) -> None:
    """Templates take plain ``{variable}`` only: a format spec such as ``{x:>20000000}`` or a
    conversion such as ``{x!r}`` would let a pack write huge or odd turns, so both are refused."""
    for _, field, spec, conversion in string.Formatter().parse(text):
        if field is not None and (spec or conversion):
            shown = "{" + field + (f"!{conversion}" if conversion else "")
            shown += (f":{spec[:20]}" if spec else "") + "}"
            raise PackError(
                f"{path}: template {name}: '{shown}' has a format spec or conversion; "
                "write plain {variable}"
            )


def _compile(root: Path, name: str, file_name: str) -> tuple[PromptTemplate, bytes]:
    path = (root / file_name).resolve()
    if not path.is_relative_to(root.resolve()):
        raise PackError(
            f"{root / 'pack.yaml'}: field templates.{name}: '{file_name}' is outside "
            "the pack folder"
        )
    if not path.is_file():
        raise PackError(
            f"{root / 'pack.yaml'}: field templates.{name}: file '{file_name}' not found"
        )
    try:
        raw = read_capped(path, MAX_FILE_BYTES)
    except FileTooLargeError as exc:
        raise PackError(
            f"{path}: template {name} is {exc.size:,} bytes; a template holds at most "
            f"{megabytes(exc.limit)}"
        ) from None
    try:
        text = raw.decode("utf-8")
        _refuse_format_specs(path, name, text)
        template = PromptTemplate.from_template(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PackError(f"{path}: template {name} cannot be parsed: {exc}") from exc
    used = set(template.input_variables)
    unknown = sorted(used - TEMPLATE_VARIABLES[name])
    if unknown:
        raise PackError(
            f"{path}: template {name} uses unknown variable(s) {', '.join(unknown)}; allowed: "
            f"{', '.join(sorted(TEMPLATE_VARIABLES[name]))}"
        )
    lacking = sorted(TEMPLATE_REQUIRED.get(name, set()) - used)
    if lacking:
        raise PackError(f"{path}: template {name} must use {', '.join(lacking)}")
    return template, raw


def _read_manifest(manifest: Path) -> tuple[bytes, dict[str, object]]:
    if not manifest.is_file():
        raise PackError(f"{manifest}: not found (a pack folder holds pack.yaml)")
    try:
        raw = read_capped(manifest, MAX_MANIFEST_BYTES)  # a huge file is refused unread
    except FileTooLargeError as exc:
        raise PackError(
            f"{manifest}: is {exc.size:,} bytes; pack.yaml holds at most {megabytes(exc.limit)}"
        ) from None
    try:
        data = safe_yaml(raw.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PackError(f"{manifest}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise PackError(f"{manifest}: must be a mapping of fields (id, name, version, ...)")
    return raw, data


def load_pack(
    root: Path,
    lookup: Callable[[str], Path | None] | None = None,
    chain: tuple[str, ...] = (),
) -> Pack:
    """Load and validate the pack in ``root``; raise PackError naming file and field.

    ``lookup`` finds the folder of a pack by id (for ``extends``); by default, a sibling
    folder of the same name.
    """
    from interviewer.pack_merge import MergeError, PackOverlay, merge

    manifest = root / "pack.yaml"
    raw, data = _read_manifest(manifest)
    find = lookup or (lambda pack_id: root.parent / pack_id)
    parent: Pack | None = None
    sources: dict[str, Path] = {}
    try:
        if data.get("extends") is not None:
            overlay = PackOverlay.model_validate(data)
            if overlay.extends in (*chain, overlay.id):
                cycle = " -> ".join((*chain, overlay.id, overlay.extends))
                raise PackError(f"{manifest}: field extends: packs extend each other ({cycle})")
            parent_root = find(overlay.extends)
            if parent_root is None or not (parent_root / "pack.yaml").is_file():
                raise PackError(f"{manifest}: field extends: no pack '{overlay.extends}' was found")
            try:
                parent = load_pack(parent_root, lookup, (*chain, overlay.id))
            except PackError as exc:
                raise PackError(
                    f"{manifest}: field extends: the parent pack '{overlay.extends}' is "
                    f"invalid:\n{exc}"
                ) from exc
            # an error's location is then in the merged data: ``data`` is what was validated
            spec = PackFile.model_validate(data := merge(parent.spec, overlay))
            sources = {name: parent.template_source(name) for name in parent.spec.templates}
            sources.update({name: root for name in overlay.templates})
        else:
            spec = PackFile.model_validate(data)
            sources = {name: root for name in spec.templates}
    except ValidationError as exc:
        raise PackError(_format_errors(manifest, exc, data)) from exc
    except MergeError as exc:
        raise PackError(f"{manifest}: {exc}") from exc
    if spec.id != root.name:
        raise PackError(f"{manifest}: field id: '{spec.id}' must match the folder '{root.name}'")
    _check_inside(root)
    digest = hashlib.sha256(raw)
    if parent is not None:
        digest.update(parent.content_hash.encode())
    templates: dict[str, PromptTemplate] = {}
    broken: list[str] = []
    for name, file_name in sorted(spec.templates.items()):
        try:
            templates[name], body = _compile(sources[name], name, file_name)
        except PackError as exc:
            broken.append(str(exc))  # report every broken template, not only the first
            continue
        digest.update(name.encode() + b"\0" + body)
    if broken:
        raise PackError("\n".join(broken))
    calibration = _calibration(root, spec, find, parent)
    guards = _guards(root, parent)
    _digest_data(digest, root, (calibration, guards))
    return Pack(
        root, spec, templates, digest.hexdigest()[:16], parent, sources, calibration, guards
    )


def _digest_data(digest: hashlib._Hash, root: Path, data: tuple[Path | None, ...]) -> None:
    """Add the pack's own question files and its data files (calibration, guards)."""
    for path in [*sorted((root / "questions").glob("*.yaml")), *data]:
        if path is not None and path.is_file():
            digest.update(path.name.encode() + b"\0" + _digestible(path, path not in data))


def _digestible(path: Path, capped: bool) -> bytes:
    """A file's bytes for the content hash; a question file over the limit (refused, with a
    problem, when the questions load) stands in by its size, unread."""
    if not capped:
        return path.read_bytes()
    try:
        return read_capped(path, MAX_FILE_BYTES)
    except FileTooLargeError as exc:
        return f"too large: {exc.size}".encode()


def _check_inside(root: Path) -> None:
    """Every file the pack reads (besides templates, checked as they compile) lies inside its
    folder: a link in ``questions/``, or a linked ``tests.yaml`` or ``calibration.json``, that
    leads elsewhere is rejected."""
    home = root.resolve()
    files = [
        *(root / "questions").glob("*.yaml"),
        root / "tests.yaml",
        root / "calibration.json",
        root / "guards.json",
    ]
    outside = [f for f in files if f.exists() and not f.resolve().is_relative_to(home)]
    if outside:
        raise PackError(
            "\n".join(f"{f}: leads outside the pack folder ({f.resolve()})" for f in outside)
        )


def _own_data(path: Path, load: Callable[[Path], object]) -> Path | None:
    """``path`` when the pack has that data file and ``load`` reads it; its error is a pack
    error (each loader names the file and how to fix it)."""
    if not path.is_file():
        return None
    try:
        load(path)
    except InterviewerError as exc:
        raise PackError(str(exc)) from None
    return path


def _guards(root: Path, parent: Pack | None) -> Path | None:
    from interviewer.guards import GuardParams  # no cycle

    own = _own_data(root / "guards.json", GuardParams.load)
    return own or (parent.guards_path if parent else None)


def _calibration(
    root: Path, spec: PackFile, find: Callable[[str], Path | None], parent: Pack | None
) -> Path | None:
    from interviewer.scoring.offline import ScorerParams  # no cycle

    own = _own_data(root / "calibration.json", ScorerParams.load)
    if own:
        return own
    if spec.calibration_from:
        folder = find(spec.calibration_from)
        shared = folder / "calibration.json" if folder else None
        if shared is None or not shared.is_file():
            raise PackError(
                f"{root / 'pack.yaml'}: field calibration_from: pack "
                f"'{spec.calibration_from}' has no calibration.json"
            )
        return shared
    return parent.calibration_path if parent else None


def builtin_packs_dir() -> Path:
    """The ``prompts/`` folder of this checkout."""
    from interviewer.config import PROJECT_ROOT

    return PROJECT_ROOT / "prompts"
