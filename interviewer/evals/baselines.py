"""Plain baselines every eval report carries: does a scorer earn its complexity?

Two scorers anyone could write in ten lines, run on the same answers:

- **MiniLM cosine**: the answer and the reference answer each embedded whole with the same
  local model the offline scorer uses, and their cosine similarity;
- **tf-idf cosine**: the cosine of their tf-idf vectors, with the vocabulary and document
  frequencies learnt from the dataset's own answers and references.

A similarity is not a grade, so each is mapped linearly onto the dataset's scale by least
squares on the dataset itself. Pearson does not depend on that map; QWK, MAE and exact
agreement do, and fitting the map on the very grades it is judged against favours the
baselines a little, never the scorer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from langchain_core.embeddings import Embeddings
from sklearn.feature_extraction.text import TfidfVectorizer

from interviewer.domain import Question
from interviewer.evals.datasets import Dataset
from interviewer.evals.items import as_question
from interviewer.evals.metrics import agreement
from interviewer.evals.question_level import question_level

BASELINES = {"minilm_cosine": "plain MiniLM cosine", "tfidf_cosine": "tf-idf cosine"}
"""Baseline ids and the names reports show."""


def _unit(vectors: np.ndarray) -> np.ndarray:
    return np.asarray(vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9))


def minilm_cosine(
    answers: Sequence[str], references: Sequence[str], embeddings: Embeddings
) -> np.ndarray:
    """Cosine of each answer with its reference, both embedded whole."""
    unique = list(dict.fromkeys([*answers, *references]))
    vectors = _unit(np.asarray(embeddings.embed_documents(unique), dtype=np.float32))
    row = {text: i for i, text in enumerate(unique)}
    a = vectors[[row[t] for t in answers]]
    r = vectors[[row[t] for t in references]]
    return np.asarray(np.sum(a * r, axis=1), dtype=float)


def tfidf_cosine(answers: Sequence[str], references: Sequence[str]) -> np.ndarray:
    """Cosine of tf-idf vectors learnt on the dataset's own answers and references."""
    vectorizer = TfidfVectorizer(sublinear_tf=True, stop_words="english")
    try:
        vectorizer.fit([*answers, *dict.fromkeys(references)])
    except ValueError:  # nothing but stop words
        return np.zeros(len(answers))
    a = vectorizer.transform(answers)
    r = vectorizer.transform(references)
    return np.asarray(a.multiply(r).sum(axis=1)).ravel().astype(float)


def linear_map(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares map of ``x`` onto ``y``."""
    if np.ptp(x) == 0:
        return np.full(len(x), float(np.mean(y)))
    slope, intercept = np.polyfit(x, y, 1)
    return np.asarray(slope * x + intercept, dtype=float)


def similarities(
    dataset: Dataset, corpus: Mapping[str, Question], embeddings: Embeddings
) -> dict[str, np.ndarray]:
    """Each baseline's raw similarity for every item of ``dataset``."""
    questions = [as_question(item, corpus) for item in dataset.items]
    answers = [item.answer for item in dataset.items]
    references = [q.reference_answer for q in questions]
    return {
        "minilm_cosine": minilm_cosine(answers, references, embeddings),
        "tfidf_cosine": tfidf_cosine(answers, references),
    }


def baseline_predictions(
    dataset: Dataset, corpus: Mapping[str, Question], embeddings: Embeddings
) -> dict[str, list[float]]:
    """Each baseline's similarity mapped onto the dataset's scale, for every item."""
    scale = dataset.info.scale
    human = np.asarray([item.human_score for item in dataset.items], dtype=float)
    return {
        name: [float(v) for v in np.clip(linear_map(x, human), scale.min, scale.max)]
        for name, x in similarities(dataset, corpus, embeddings).items()
    }


def baseline_agreement(
    dataset: Dataset,
    corpus: Mapping[str, Question],
    embeddings: Embeddings,
    bootstrap: int = 1000,
) -> dict[str, dict[str, object]]:
    """Agreement with the human grades of each baseline, on the dataset's scale, and how
    evenly it scores from question to question."""
    scale = dataset.info.scale
    human = [item.human_score for item in dataset.items]
    groups = [item.group_key for item in dataset.items]
    return {
        name: {
            "name": BASELINES[name],
            **agreement(human, predicted, scale, bootstrap),
            "per_question": question_level(human, predicted, groups, min(bootstrap, 500)),
        }
        for name, predicted in baseline_predictions(dataset, corpus, embeddings).items()
    }
