"""Find questions: semantic search with filters, exclusions and MMR diversity.

Filters are evaluated on the loaded corpus, and the matching ids are handed to Chroma, which
searches only among them. At 10,000 items that is about four times faster than a Chroma
``where`` clause over the same metadata, and it is exact: a filtered search can never miss a
match the way post-filtering an approximate top-k can.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from langchain_core.documents import Document
from numpy.typing import NDArray

from interviewer.domain import Category, Level, Question
from interviewer.index import QuestionIndex, chroma_unreachable
from interviewer.scoring.text import content_tokens

CLOSE_MATCH_AT = 0.3
"""A search whose nearest question is less similar than this matched nothing in particular:
real searches of the shipped banks reach 0.41 ("database isolation levels") to 0.67
("idempotency"); gibberish and other subjects 0.12 ("the weather in paris") to 0.24."""


TAG_WEIGHT = 0.15
"""On the question bank page, how much the share of a search's words found in a question's
topic and tags adds to its cosine. MiniLM puts "isolation" in a tenant's data and in a test
suite beside transaction isolation: "database isolation levels" found the isolation-levels
question third, "cache stampede" the stampede question second; the tags say which is meant."""


def _tag_share(words: set[str], q: Question) -> float:
    """The share of ``words`` (stems) that the question's topic and tags say."""
    tagged = " ".join([q.topic, *q.tags]).replace("-", " ")
    return len(words & content_tokens(tagged, letters=5)) / max(1, len(words))


@dataclass(frozen=True)
class Filters:
    """Which questions are eligible; None means any."""

    role: str | None = None
    level: Level | None = None
    category: Category | None = None
    topic: str | None = None
    admit: Callable[[Question], bool] | None = None
    """A pack's own rule (corpus roles, topics, tags and its own questions)."""

    @property
    def active(self) -> bool:
        """True when any filter is set."""
        values = (self.role, self.level, self.category, self.topic, self.admit)
        return any(v is not None for v in values)

    def matches(self, q: Question) -> bool:
        """True when ``q`` passes every filter that is set."""
        return (
            (self.admit is None or self.admit(q))
            and (self.role is None or q.role == self.role)
            and (self.level is None or self.level in q.levels)
            and (self.category is None or q.category == self.category)
            and (self.topic is None or q.topic == self.topic)
        )


class Retriever:
    """Searches the index and returns full ``Question`` objects from the loaded corpus."""

    def __init__(
        self, index: QuestionIndex, questions: Mapping[str, Question], diversity: float = 0.3
    ) -> None:
        self.index = index
        self.questions = questions
        self.lambda_mult = 1.0 - diversity

    def eligible(self, filters: Filters, exclude_ids: Iterable[str] = ()) -> list[str] | None:
        """Ids that pass the filters and are not excluded; None when everything is eligible."""
        excluded = set(exclude_ids)
        if not filters.active and not excluded:
            return None
        return [i for i, q in self.questions.items() if i not in excluded and filters.matches(q)]

    def search(
        self,
        query: str,
        k: int = 5,
        filters: Filters | None = None,
        exclude_ids: Iterable[str] = (),
        diverse: bool = True,
    ) -> list[Question]:
        """Up to ``k`` questions matching ``query``, most relevant first.

        With ``diverse`` the results are picked by maximal marginal relevance, so five
        near-identical questions about one detail do not crowd out the rest of a topic.
        """
        return [q for q, _ in self._search(query, k, filters, exclude_ids, diverse)]

    def search_closeness(
        self, query: str, k: int = 5, filters: Filters | None = None
    ) -> tuple[list[Question], float]:
        """The ``k`` questions that best match a search typed by a person, and how close the
        nearest is to ``query`` (cosine; 0.0 for none), from one embedding and one search.

        The nearest ``4 * k`` by meaning are ranked again with the words of the search that
        their topic and tags say (``TAG_WEIGHT``): a short search is a few keywords, and the
        tags are the bank's keywords."""
        found = self._search(query, 4 * k, filters, (), diverse=False)
        if not found:
            return [], 0.0
        words = content_tokens(query, letters=5)
        ranked = sorted(
            found,
            key=lambda hit: (hit[1] or 0.0) + TAG_WEIGHT * _tag_share(words, hit[0]),
            reverse=True,
        )
        return [q for q, _ in ranked[:k]], max(cosine or 0.0 for _, cosine in found)

    def _search(
        self,
        query: str,
        k: int,
        filters: Filters | None,
        exclude_ids: Iterable[str],
        diverse: bool,
    ) -> list[tuple[Question, float | None]]:
        """The questions found with their cosine to the query (None when picked by MMR)."""
        allowed = self.eligible(filters or Filters(), exclude_ids)
        if k <= 0 or allowed == []:
            return []
        pool = len(self.questions) if allowed is None else len(allowed)
        restrict: dict[str, Any] = {} if allowed is None else {"ids": allowed}
        vector = self.index.embeddings.embed_query(query.strip() or "interview question")
        try:
            hits = self._nearest(vector, k, pool, restrict, diverse)
        except Exception as exc:
            if self.index.server_url is None or self.index.answers():
                raise
            # a Chroma server that went away: say where it is and what to do
            raise chroma_unreachable(self.index.server_url, exc) from exc
        found = [(self.questions.get(str(doc.id)), cosine) for doc, cosine in hits]
        return [(q, cosine) for q, cosine in found if q is not None]

    def vectors(self, ids: Iterable[str]) -> dict[str, NDArray[np.float32]]:
        """The unit-length index vectors of these questions (for telling near-duplicates)."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        got = self.index.collection.get(ids=wanted, include=cast(Any, ["embeddings"]))
        vectors = got.get("embeddings")
        if vectors is None:
            return {}
        out = {}
        for i, v in zip(got["ids"], vectors, strict=True):
            arr = np.asarray(v, dtype=np.float32)
            out[str(i)] = arr / (np.linalg.norm(arr) + 1e-9)
        return out

    def _nearest(
        self, vector: list[float], k: int, pool: int, restrict: dict[str, Any], diverse: bool
    ) -> list[tuple[Document, float | None]]:
        """Documents by MMR (no cosine), or the nearest with their cosine to ``vector`` (the
        index measures cosine distance, so the cosine is one minus it)."""
        if diverse:
            docs = self.index.store.max_marginal_relevance_search_by_vector(
                vector,
                k=min(k, pool),
                fetch_k=min(max(4 * k, 20), pool),
                lambda_mult=self.lambda_mult,
                **restrict,
            )
            return [(doc, None) for doc in docs]
        scored = self.index.store.similarity_search_by_vector_with_relevance_scores(
            vector, k=min(k, pool), **restrict
        )
        return [(doc, 1.0 - distance) for doc, distance in scored]
