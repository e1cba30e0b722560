"""Retrieval: filters, exclusions, relevance and diversity on the real corpus."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from factories import shipped_settings

from interviewer.domain import Category, Level
from interviewer.embeddings import MiniLMEmbeddings
from interviewer.retrieval import CLOSE_MATCH_AT, Filters
from interviewer.services import Services


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Services:
    settings = shipped_settings(tmp_path_factory.mktemp("data"), model_cache)
    return Services.start(settings, MiniLMEmbeddings(model_cache))


def test_every_question_finds_itself_first(services: Services) -> None:
    for q in services.corpus.questions:
        top = services.retriever.search(q.question, k=1, diverse=False)
        assert top[0].id == q.id


@pytest.mark.parametrize("level", list(Level))
@pytest.mark.parametrize("category", list(Category))
def test_filters_are_respected(services: Services, level: Level, category: Category) -> None:
    found = services.retriever.search(
        "tell me about your experience", k=8, filters=Filters(level=level, category=category)
    )
    assert found
    assert all(level in q.levels and q.category == category for q in found)


def test_topic_and_role_filters(services: Services) -> None:
    found = services.retriever.search(
        "anything", k=20, filters=Filters(role="backend-developer", topic="caching")
    )
    assert found and {q.topic for q in found} == {"caching"}
    assert services.retriever.search("x", k=5, filters=Filters(role="no-such-role")) == []


def test_excluded_ids_never_come_back(services: Services) -> None:
    first = services.retriever.search("database transactions", k=4)
    again = services.retriever.search(
        "database transactions", k=4, exclude_ids=[q.id for q in first]
    )
    assert again and not {q.id for q in first} & {q.id for q in again}


def test_mmr_results_are_more_diverse(services: Services, embeddings: MiniLMEmbeddings) -> None:
    def spread(ids: list[str]) -> float:
        qs = services.corpus.by_id()
        vecs = np.asarray(embeddings.embed_documents([qs[i].search_text() for i in ids]))
        return float(np.mean([a @ b for a, b in itertools.combinations(vecs, 2)]))

    query = "how do you make a backend service reliable under load"
    plain = [q.id for q in services.retriever.search(query, k=6, diverse=False)]
    mmr = [q.id for q in services.retriever.search(query, k=6, diverse=True)]
    assert len(mmr) == 6
    assert spread(mmr) <= spread(plain)


def test_k_and_empty_query(services: Services) -> None:
    assert len(services.retriever.search("", k=3)) == 3
    assert services.retriever.search("caching", k=0) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("database isolation levels", "db-isolation-lost-update"),  # was third
        ("cache stampede", "cache-stampede-hot-key"),  # was second
        ("SQL injection", "sec-sql-injection"),  # already first: stays
    ],
)
def test_the_bank_search_puts_the_question_its_keywords_tag_first(
    services: Services, query: str, expected: str
) -> None:
    found, nearest = services.retriever.search_closeness(query, k=5)
    assert found[0].id == expected
    assert len(found) == 5 and len({q.id for q in found}) == 5
    assert nearest >= CLOSE_MATCH_AT
    behavioral = Filters(category=Category.BEHAVIORAL)
    found, _ = services.retriever.search_closeness(query, k=5, filters=behavioral)
    assert found and all(q.category is Category.BEHAVIORAL for q in found)
