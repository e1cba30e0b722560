"""Keyword stuffing dressed as sentences: terms poured into one short template, over and over.

"The cache is TTL. The lock is SETNX. The stampede is jitter." uses the reference's own words
in grammatical sentences, so neither the keyword-run test nor the word-salad test sees it, and
it scored 3.7 of 5 on average over the bank's questions. What gives it away is the repetition:
four or more short sentences with the same shape of small words, running on one line. Real
answers vary their sentences; a list written one item a line is a list, not a template.
"""

from __future__ import annotations

import re
from collections import Counter

from interviewer.scoring.text import GLUE_WORDS, sentences

MIN_REPEATS = 4
"""Sentences of one template it takes to call them stuffing."""
MAX_SHAPE = 6
"""The longest shape (small words and runs of other words) a template sentence has."""

_TOKEN = re.compile(r"[A-Za-z0-9][\w'+#/-]*")


def shape(sentence: str) -> tuple[str, ...]:
    """A sentence's small words in order, every run of other words as one "X" ("The cache is
    TTL." and "The lock is SETNX." are both ("the", "X", "is", "X")). A capital letter on its
    own is a name ("bulb A"), not the article."""
    out: list[str] = []
    for word in _TOKEN.findall(sentence):
        lower = "a" if word.lower() == "an" else word.lower()
        if lower in GLUE_WORDS and not (len(word) == 1 and word.isupper()):
            out.append(lower)
        elif not out or out[-1] != "X":
            out.append("X")
    return tuple(out)


def template_sentences(text: str) -> set[str]:
    """The sentences of ``text`` that repeat one short template: ``MIN_REPEATS`` or more with
    the same shape of at most ``MAX_SHAPE`` parts, two of them small words, among sentences
    that share a line with another (one sentence a line is a list or a heading)."""
    running: list[tuple[str, tuple[str, ...]]] = []
    for line in text.splitlines():
        said = [s for s in sentences(line) if s.split()]
        if len(said) >= 2:
            running += [(s, shape(s)) for s in said]
    candidates = Counter(
        k for _, k in running if len(k) <= MAX_SHAPE and sum(t != "X" for t in k) >= 2
    )
    repeated = {k for k, n in candidates.items() if n >= MIN_REPEATS}
    return {s for s, k in running if k in repeated}
