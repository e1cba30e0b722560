"""Builders for corpus items and files used across tests."""

from __future__ import annotations

from pathlib import Path

import yaml

from interviewer.config import PROJECT_ROOT, Settings


def question(
    qid: str = "t-sample",
    *,
    topic: str = "sample",
    category: str = "technical",
    text: str | None = None,
    **overrides: object,
) -> dict[str, object]:
    """A valid corpus item as plain data, with fields overridable."""
    item: dict[str, object] = {
        "id": qid,
        "role": "backend-developer",
        "levels": ["junior", "mid"],
        "category": category,
        "topic": topic,
        "question": text or "How does a hash map find the value for a key, and what does it cost?",
        "key_points": [
            {
                "id": "hashing",
                "text": "The key is hashed to pick a bucket in an array.",
                "weight": 3,
                "level": "junior",
            },
            {
                "id": "collisions",
                "text": "Collisions are resolved by chaining or probing.",
                "weight": 2,
                "level": "junior",
            },
            {
                "id": "resize",
                "text": "The table resizes when the load factor passes a limit.",
                "weight": 2,
                "level": "mid",
            },
        ],
        "reference_answer": " ".join(["A hash map hashes the key to choose a bucket."] * 12),
        "follow_ups": [
            {
                "text": "What happens when two keys land in the same bucket?",
                "probes": ["collisions"],
            },
            {"text": "Why does lookup stay constant time as the map grows?", "probes": ["resize"]},
        ],
        "red_flags": ["Believes lookups are always O(1) whatever the hash function."],
        "tags": ["hash-map"],
        "source": "original",
    }
    item.update(overrides)
    return item


def write_topic(
    root: Path, topic: str, items: list[dict[str, object]], role: str = "backend-developer"
) -> Path:
    """Write a topic file of ``items`` under ``root/role``."""
    path = root / role / f"{topic}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"questions": items}, sort_keys=False))
    return path


def shipped_settings(data_dir: Path, cache_dir: Path) -> Settings:
    """Settings on the shipped corpus with a private data directory, whatever the environment."""
    return Settings(
        data_dir=data_dir,
        cache_dir=cache_dir,
        corpus_dir=PROJECT_ROOT / "corpus",
        chroma_url=None,
        embeddings="minilm",
        collection="questions",
    )
