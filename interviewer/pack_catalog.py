"""Find every pack: the built-in ``prompts/`` plus the folders in ``INTERVIEWER_PACKS_PATH``.

Each sub-folder holding a ``pack.yaml`` is a pack; ids are unique across all folders. A broken
pack is reported (file and field) and left out, so one team's typo never takes the app down.
The catalog also loads the questions kept inside packs and fingerprints every pack file, so a
running app notices an edited pack and picks it up for the next interview.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from interviewer.corpus import Problem, id_lines, load_file
from interviewer.domain import Question
from interviewer.packs import Pack, PackError, builtin_packs_dir, load_pack


@dataclass
class Catalog:
    """The packs found, what was wrong with the others, and the packs' own questions."""

    packs: dict[str, Pack]
    problems: list[str] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)
    own_ids: dict[str, frozenset[str]] = field(default_factory=dict)
    fingerprint: str = ""


def pack_dirs(extra: Sequence[Path] = ()) -> list[Path]:
    """The built-in packs folder, then each configured folder (in order)."""
    return [builtin_packs_dir(), *extra]


def _manifests(dirs: Sequence[Path]) -> list[Path]:
    found = []
    for folder in dirs:
        if folder.is_dir():
            found += sorted(p for p in folder.glob("*/pack.yaml") if p.is_file())
    return found


def folder_problems(dirs: Sequence[Path]) -> list[str]:
    """Packs folders that cannot hold packs: missing, not a folder, or a pack itself."""
    problems = []
    setting = "a packs folder (INTERVIEWER_PACKS_PATH, or packs_path in the settings file)"
    for folder in dirs:
        if not folder.exists():
            problems.append(f"{folder}: {setting} that does not exist; no packs come from it")
        elif not folder.is_dir():
            problems.append(f"{folder}: {setting} that is a file, not a folder; ignored")
        elif (folder / "pack.yaml").is_file():
            problems.append(
                f"{folder}: {setting} that is itself a pack (it holds pack.yaml), so no packs "
                "are found in it: point INTERVIEWER_PACKS_PATH at the folder that holds your "
                f"packs, not at a pack (here: {folder.parent})"
            )
    return problems


def fingerprint(dirs: Sequence[Path]) -> str:
    """Changes whenever any file of any pack is added, removed or edited, or a packs folder
    appears, goes, or gains or loses a ``pack.yaml`` of its own."""
    digest = hashlib.sha256()
    for folder in dirs:
        digest.update(f"{folder}\0{folder.is_dir()}\0{(folder / 'pack.yaml').is_file()}\n".encode())
    for manifest in _manifests(dirs):
        for path in sorted(manifest.parent.rglob("*")):
            if path.is_file():
                stat = path.stat()
                digest.update(f"{path}\0{stat.st_mtime_ns}\0{stat.st_size}\n".encode())
    return digest.hexdigest()


def pack_folders(dirs: Sequence[Path]) -> tuple[dict[str, Path], list[str]]:
    """Each pack id's folder (the first folder in ``dirs`` wins) and the ids used twice."""
    folders: dict[str, Path] = {}
    problems: list[str] = []
    for manifest in _manifests(dirs):
        pack_id = manifest.parent.name
        if pack_id in folders:
            problems.append(
                f"{manifest}: pack id '{pack_id}' is already used by {folders[pack_id]}; "
                "pack ids must be unique, so this one is ignored"
            )
            continue
        folders[pack_id] = manifest.parent
    return folders, problems


def discover(dirs: Sequence[Path], corpus_ids: Collection[str] = ()) -> Catalog:
    """Load every pack in ``dirs``; problems are collected, never raised. A pack question
    with the id of a corpus question (``corpus_ids``) is reported and left out."""
    folders, problems = pack_folders(dirs)
    problems = folder_problems(dirs) + problems
    packs: dict[str, Pack] = {}
    for pack_id, root in folders.items():
        try:
            packs[pack_id] = load_pack(root, folders.get)
        except PackError as exc:
            problems.append(str(exc))
    questions, own_ids, found = pack_questions(packs.values(), corpus_ids)
    problems += [str(p) for p in found]
    return Catalog(packs, problems, questions, own_ids, fingerprint(dirs))


def askable(pack: Pack, questions: Iterable[Question], own_ids: frozenset[str]) -> list[Question]:
    """The questions ``pack`` can ask: those its corpus filter admits, and its own."""
    return [q for q in questions if pack.admits(q, own_ids)]


def unaskable(
    pack: Pack, ids: Iterable[str], questions: Iterable[Question], own_ids: frozenset[str]
) -> str | None:
    """Why ``pack`` cannot ask some of ``ids`` (a link's fixed questions), or None when it can
    ask them all."""
    known = {q.id: q for q in questions}
    allowed = {q.id for q in askable(pack, known.values(), own_ids)}
    missing = [i for i in ids if i not in known]
    foreign = [i for i in ids if i in known and i not in allowed]
    parts = []
    if missing:
        parts.append(f"Not in the question bank: {', '.join(missing)}.")
    if foreign:
        roles = ", ".join(pack.spec.questions.roles or [pack.spec.role])
        parts.append(
            f"Pack '{pack.id}' does not ask {', '.join(foreign)}: it asks {roles} questions"
            + (
                " (only some topics or tags)"
                if pack.spec.questions.topics or pack.spec.questions.tags
                else ""
            )
            + " and its own."
        )
    return " ".join(parts) or None


def pack_questions(
    packs: Iterable[Pack], corpus_ids: Collection[str] = ()
) -> tuple[list[Question], dict[str, frozenset[str]], list[Problem]]:
    """Questions kept in packs (``questions/*.yaml``), each pack's own ids, and problems.

    Ids are unique: a pack question with the id of a corpus question (``corpus_ids``), or with
    an id another pack file (or the same file) used first, is reported and left out.
    """
    by_file: dict[Path, list[Question]] = {}
    problems: list[Problem] = []
    files: dict[str, list[Path]] = {}
    for pack in packs:
        files[pack.id] = pack.question_files
        for path in pack.question_files:
            if path not in by_file:
                loaded, found = load_file(path, path.parent.parent, role=pack.spec.role)
                by_file[path] = loaded
                problems += found
    corpus = set(corpus_ids)
    lines: dict[Path, dict[str, list[int]]] = {}

    def where(path: Path, qid: str, nth: int) -> tuple[str, int | None]:
        if path not in lines:  # read again only for a file with a duplicate
            lines[path] = id_lines(path)
        found = lines[path].get(qid, [])
        return _rel(path), found[nth] if nth < len(found) else None

    unique: dict[str, Question] = {}
    first: dict[str, tuple[Path, int]] = {}
    kept: dict[Path, set[str]] = {}
    for path, questions in by_file.items():
        kept[path] = set()
        seen: dict[str, int] = {}
        pack_id = path.parent.parent.name
        for q in questions:
            nth = seen[q.id] = seen.get(q.id, -1) + 1
            if q.id in corpus:
                message = "a corpus question has this id; pack question ids must be unique"
            elif q.id in first:
                other, at = where(first[q.id][0], q.id, first[q.id][1])
                message = f"duplicate id, first used in {other}" + (f":{at}" if at else "")
            else:
                unique[q.id] = q
                kept[path].add(q.id)
                first[q.id] = (path, nth)
                continue
            rel, line = where(path, q.id, nth)
            problems.append(
                Problem(rel, f"pack '{pack_id}': {message}, so it is ignored", q.id, "id", line)
            )
    own = {
        pack_id: frozenset(qid for path in paths for qid in kept.get(path, ()))
        for pack_id, paths in files.items()
    }
    return list(unique.values()), own, problems


def _rel(path: Path) -> str:
    """A pack file as ``<pack>/questions/<file>``, as problems name it."""
    return str(path.relative_to(path.parent.parent.parent))
