"""Pack inheritance: a pack that ``extends`` another states only what it changes.

Merge rules (documented in docs/packs.md):

- ``id``, ``name``, ``version`` and ``description`` are the child's own (required).
- ``role`` and ``questions`` (the corpus filter): the child's when given, else the parent's.
- ``persona``: each field given replaces the parent's (``name``, ``title``, ``tone``).
- ``formats``: a format id given replaces the parent's format of that id; new ids are added;
  ``remove_formats`` drops parent formats.
- ``rubrics``: a category given replaces the parent's whole rubric for that category;
  ``rubric_adjustments`` then changes single criteria: ``name``, ``weight``, ``description``,
  only the ``anchors`` given (the others stay), and in the ``offline`` scoring block only the
  fields given (``signals`` whole; ``cues.words`` and ``cues.saturate_at`` one by one;
  ``cues: null`` drops the parent's cues).
- ``offline``: each field given replaces the parent's.
- ``templates``: each template given replaces the parent's; file names are relative to the
  pack that names them. Questions in ``questions/*.yaml`` add to the parent's.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from interviewer.domain import Category, Slug, Strict
from interviewer.packs import (
    Format,
    Line,
    PackFile,
    QuestionSource,
    Rubric,
    TemplateName,
    Version,
)
from interviewer.scoring.criteria import CueWord, Reason, Signals


class PersonaPatch(Strict):
    """Persona fields to replace."""

    name: Line | None = None
    title: Line | None = None
    tone: Line | None = None


class CuesPatch(Strict):
    """Cue fields to replace."""

    words: tuple[CueWord, ...] | None = Field(default=None, min_length=1)
    saturate_at: int | None = Field(default=None, ge=1, le=20)


class OfflinePatch(Strict):
    """Changes to a criterion's offline scoring block: each field given replaces the parent's."""

    signals: Signals | None = Field(default=None, description="All the weights.")
    cues: CuesPatch | None = Field(default=None, description="null drops the parent's cues.")
    red_flag_penalty: float | None = Field(default=None, ge=0, le=1)
    weak_reason: Reason | None = None
    weak_cap: int | None = Field(default=None, ge=1, le=4, description="null drops the cap.")

    def apply(self, block: dict[str, Any]) -> dict[str, Any]:
        """The parent's block (as data) with this patch applied."""
        given = self.model_dump(exclude_unset=True, exclude={"cues"})
        merged = {**block, **given}
        if "cues" in self.model_fields_set:
            merged["cues"] = (
                None
                if self.cues is None
                else {**(block.get("cues") or {}), **self.cues.model_dump(exclude_unset=True)}
            )
        return merged


class CriterionAdjustment(Strict):
    """Changes to one criterion of the parent's rubric."""

    name: Line | None = None
    weight: float | None = Field(default=None, gt=0, le=10)
    description: Line | None = None
    anchors: dict[int, Line] = Field(default_factory=dict, description="Only these anchors.")
    offline: OfflinePatch | None = Field(default=None, description="Offline scoring changes.")

    @field_validator("anchors")
    @classmethod
    def _scores(cls, anchors: dict[int, str]) -> dict[int, str]:
        wrong = sorted(set(anchors) - {1, 2, 3, 4, 5})
        if wrong:
            raise ValueError(f"anchors are for scores 1 to 5; got {wrong}")
        return anchors


class PackOverlay(Strict):
    """``pack.yaml`` of a pack that extends another."""

    id: Slug
    extends: Slug
    name: Line
    version: Version
    description: Line
    role: Slug | None = None
    persona: PersonaPatch | None = None
    formats: dict[Slug, Format] = Field(default_factory=dict)
    remove_formats: list[Slug] = Field(default_factory=list)
    rubrics: dict[Category, Rubric] = Field(default_factory=dict)
    rubric_adjustments: dict[Category, dict[Slug, CriterionAdjustment]] = Field(
        default_factory=dict
    )
    offline: dict[str, Any] = Field(default_factory=dict)
    templates: dict[TemplateName, str] = Field(default_factory=dict)
    questions: QuestionSource | None = None
    calibration_from: Slug | None = None


class MergeError(ValueError):
    """A child pack asks for something its parent does not have; names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"field {field}: {message}")
        self.field = field


def merge(parent: PackFile, child: PackOverlay) -> dict[str, Any]:
    """The child's full pack data (before validation as a ``PackFile``)."""
    base = parent.model_dump(mode="python")
    data: dict[str, Any] = {
        "id": child.id,
        "extends": child.extends,
        "name": child.name,
        "version": child.version,
        "description": child.description,
        "role": child.role or parent.role,
        "questions": (child.questions or parent.questions).model_dump(),
        "calibration_from": child.calibration_from,
    }
    persona = dict(base["persona"])
    if child.persona is not None:
        persona.update(child.persona.model_dump(exclude_none=True))
    data["persona"] = persona

    formats = dict(base["formats"])
    for fid in child.remove_formats:
        if fid not in formats:
            raise MergeError(
                "remove_formats", f"'{fid}' is not a format of '{parent.id}' ({', '.join(formats)})"
            )
        del formats[fid]
    formats.update({fid: f.model_dump() for fid, f in child.formats.items()})
    data["formats"] = formats

    rubrics = {cat: r for cat, r in base["rubrics"].items()}
    rubrics.update({cat: r.model_dump() for cat, r in child.rubrics.items()})
    for category, changes in child.rubric_adjustments.items():
        criteria = {c["id"]: c for c in rubrics[category]["criteria"]}
        for cid, change in changes.items():
            if cid not in criteria:
                raise MergeError(
                    f"rubric_adjustments.{category.value}.{cid}",
                    f"no such criterion in the {category.value} rubric ({', '.join(criteria)})",
                )
            target = criteria[cid]
            target.update(change.model_dump(exclude_none=True, exclude={"anchors", "offline"}))
            target["anchors"] = {**target["anchors"], **change.anchors}
            if change.offline is not None:
                target["offline"] = change.offline.apply(target["offline"])
    data["rubrics"] = rubrics

    unknown = sorted(set(child.offline) - set(base["offline"]))
    if unknown:
        raise MergeError(f"offline.{unknown[0]}", "not a field of the offline lines")
    data["offline"] = {**base["offline"], **child.offline}
    data["templates"] = {**base["templates"], **child.templates}
    return data
