"""The review round as the page and the command line use it: queue, commit, agree, export."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError

from interviewer.accounts.access import Viewer
from interviewer.evals.datasets import Dataset
from interviewer.review.agreement import AgreementReport, agreement_report
from interviewer.review.export import export_lines, export_point_lines
from interviewer.review.grades import Grade, GradeStore, ReviewError, grader_name
from interviewer.review.queue import Filters, ReviewItem, dataset_items, interview_items
from interviewer.services import Services

INTERVIEWS = "interviews"
DEFAULT_PACK = "backend-developer"


@dataclass
class Review:
    """A grading round over one queue (finished interviews, or one imported dataset)."""

    services: Services
    source: str = INTERVIEWS
    filters: Filters = field(default_factory=Filters)
    dataset_pack: str = DEFAULT_PACK
    #: Whose round: the queue holds only the interviews this person may read.
    viewer: Viewer = field(default_factory=Viewer.local, kw_only=True)

    @property
    def grades(self) -> GradeStore:
        """The grade store of the services' database."""
        return GradeStore(self.services.store)

    def sources(self) -> list[str]:
        """What can be graded: the interviews, and each imported dataset."""
        return [INTERVIEWS, *self.grades.datasets(self.viewer)]

    def queue(self) -> list[ReviewItem]:
        """The items of this round, in a stable order."""
        svc = self.services
        corpus = svc.corpus.by_id()
        if self.source == INTERVIEWS:
            offline = {pid: svc.offline_scorer(pack) for pid, pack in svc.packs.items()}
            return interview_items(
                svc.store, svc.packs, corpus, offline, self.filters, viewer=self.viewer
            )
        if self.source not in self.grades.datasets(self.viewer):
            raise ReviewError(
                f"No imported dataset named '{self.source}'. Import one with "
                "`interviewer review import FILE`, or pick one of: "
                f"{', '.join(self.sources())}."
            )
        pack = svc.pack(self.dataset_pack)
        return dataset_items(
            self.grades, self.source, pack, corpus, svc.offline_scorer(pack), viewer=self.viewer
        )

    def commit(
        self,
        item: ReviewItem,
        grader: str,
        criteria: Mapping[str, int],
        overall: float,
        note: str = "",
        points: Mapping[str, int] | None = None,
    ) -> Grade:
        """Record one grade: every criterion of the item's rubric scored, the grader named, and
        any of the question's key points marked (2 covered, 1 partly, 0 missed)."""
        name = grader_name(grader)
        missing = [c.name for c in item.rubric.criteria if c.id not in criteria]
        if missing:
            raise ReviewError(f"Score every criterion before saving: {', '.join(missing)}.")
        known = {kp.id for kp in item.question.key_points}
        unknown = sorted(set(points or {}) - known)
        if unknown:
            raise ReviewError(
                f"This question has no key point {', '.join(unknown)}: reload the page."
            )
        try:
            grade = Grade(
                item_key=item.key,
                grader=name,
                criteria={c.id: int(criteria[c.id]) for c in item.rubric.criteria},
                overall=float(overall),
                note=note,
                points=dict(points or {}),
                rubric_hash=item.rubric_hash,
            )
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise ReviewError(f"This grade cannot be saved: {problems}.") from None
        self.grades.save(grade)
        return grade

    def graded_by(self, grader: str, items: Sequence[ReviewItem]) -> dict[str, Grade]:
        """This grader's grades of ``items``, by item key."""
        keys = {item.key for item in items}
        return {g.item_key: g for g in self.grades.grades(keys, grader=grader_name(grader))}

    def next_index(self, grader: str, items: Sequence[ReviewItem]) -> int:
        """Where this grader resumes: the first item they have not graded (len: all done)."""
        done = self.graded_by(grader, items)
        return next((i for i, item in enumerate(items) if item.key not in done), len(items))

    def agreement(self, items: Sequence[ReviewItem]) -> AgreementReport:
        """Agreement on the graded items of the queue."""
        return agreement_report(items, self.grades.grades({i.key for i in items}))

    def export(self, items: Sequence[ReviewItem], with_names: bool = False) -> list[str]:
        """The graded items as dataset lines (header first)."""
        grades = self.grades.grades({i.key for i in items})
        return export_lines(items, grades, with_names, self.export_name)

    def export_points(self, items: Sequence[ReviewItem]) -> list[str]:
        """The graders' key-point marks as labels ``interviewer eval points`` reads."""
        grades = self.grades.grades({i.key for i in items})
        return export_point_lines(items, grades, self.export_name)

    @property
    def export_name(self) -> str:
        """The exported dataset's name (and the download's file name)."""
        return "review-interviews" if self.source == INTERVIEWS else f"review-{self.source}"

    def import_dataset(self, dataset: Dataset, team: str | None = None) -> tuple[int, int]:
        """Add a dataset for grading; returns (added, already there)."""
        if not dataset.items:
            raise ReviewError(f"{dataset.source}: no items to import.")
        return self.grades.import_dataset(dataset, team)
