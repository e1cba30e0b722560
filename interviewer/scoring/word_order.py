"""Word salad: an answer whose words are all there but in no order a sentence can have.

Sentence vectors and word counts barely notice word order, so a shuffled strong answer scored
nearly as well as the answer itself. What gives a shuffle away is English's closed classes
landing where no sentence puts them: an article followed by a preposition, an auxiliary or
another article ("the of", "a is"); a preposition followed by "is" or "can" ("of is"); a
sentence's capitalised first word in the middle of another ("pool The"); full stops mostly
followed by lower-case words in a text that capitalises "The" and "It" elsewhere. Real
answers, terse notes and a second-language writer's English make these slips rarely; a
shuffled answer makes one every few words.

Programming keywords after an article ("a for loop", "the in operator", "a while loop") and
letters used as names ("bulb a is out" beside "bulb b") are not counted as slips.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_PREPOSITIONS = frozenset(
    {
        *("of", "to", "in", "on", "for", "with", "by", "at", "from", "into", "onto", "over"),
        *("under", "after", "before", "between", "through", "during", "without", "within"),
        *("about", "via", "per"),
    }
)
_CONJUNCTIONS = frozenset(
    {
        *("and", "or", "but", "if", "because", "when", "than", "so", "while", "since"),
        *("unless", "although", "though", "whether", "where"),
    }
)
_AUXILIARIES = frozenset(
    {
        *("is", "are", "was", "were", "be", "been", "being", "can", "could", "would", "should"),
        *("will", "do", "does", "did", "has", "have", "had", "may", "might", "must", "shall"),
    }
)
_FINITE = frozenset(
    {"is", "are", "was", "were", "can", "could", "would", "should", "will", "does", "did"}
    | {"has", "had", "may", "might", "must", "shall"}
)
"""Auxiliaries that need a subject before them: no preposition is followed by one."""
_PRONOUNS = frozenset({"i", "we", "you", "they", "he", "she", "it", "me", "us", "them"})
_ARTICLES = frozenset({"a", "an", "the", "my", "our", "your", "their"})
_NEVER_AFTER_ARTICLE = (
    _ARTICLES | _PREPOSITIONS | _CONJUNCTIONS | _AUXILIARIES | _PRONOUNS | {"not"}
)
_KEYWORDS = frozenset(
    {
        *("for", "if", "while", "do", "in", "is", "and", "or", "not", "with", "as", "from"),
        *("case", "try", "when", "then", "new", "this"),
    }
)
"""Words that name a language construct after an article ("a for loop", "the in operator"):
a slip only when the word after them is a function word too."""
_SENTENCE_OPENERS = frozenset(
    {
        *("The", "An", "It", "This", "These", "Those", "We", "They", "You", "He", "She"),
        *("In", "On", "For", "With", "By", "At", "From", "If", "When", "Because", "So", "But"),
        *("And", "Or", "Is", "Are", "Was", "Were", "Of", "To", "That", "What", "How", "Why"),
        *("My", "Our", "Your", "Their", "Its", "Each", "Every", "Also", "However"),
    }
)
_BOUNDARY = re.compile(r"[.!?:;,)\]\"'`*>|]$|^[-*#>\d]|^\W+$")
_ABBREVIATION = re.compile(r"^(?:e\.g\.|i\.e\.|etc\.|vs\.|.*\.\.\.|\w\.)$|\d\.$", re.IGNORECASE)
_LABEL = re.compile(r"^[b-hj-z]$", re.IGNORECASE)
_EDGES = re.compile(r"^[\"'(\[`*]+|[^\w']+$")

MIN_SLIPS = 3
SLIP_SHARE = 0.2
"""An answer reads as word salad with ``MIN_SLIPS`` slips or more, making up at least
``SLIP_SHARE`` of the places a slip could happen (articles and mid-sentence capitals)."""


@dataclass(frozen=True)
class WordOrder:
    """How often an answer's closed-class words sit where no sentence puts them."""

    slips: int
    chances: int
    examples: tuple[str, ...]

    @property
    def scrambled(self) -> bool:
        """True when the answer reads as words in a random order."""
        return self.slips >= MIN_SLIPS and self.slips >= SLIP_SHARE * self.chances


def _acronym(word: str) -> bool:
    return len(word) > 1 and word.isupper()


def word_order(text: str) -> WordOrder:
    """Count the word-order slips in ``text``, with up to three examples. Line breaks are
    read through (a pasted answer may be wrapped anywhere), but a capital that starts a line
    is a heading or a list item, not a slip."""
    words: list[str] = []
    line_starts: set[int] = set()
    for line in text.splitlines():
        line_starts.add(len(words))
        words += line.split()
    bares = [_EDGES.sub("", t) for t in words]
    lowers = [b.lower() for b in bares]
    capitalises = any(b in _SENTENCE_OPENERS for b in bares)
    names_letters = any(_LABEL.match(b) for b in bares)
    slips: list[str] = []
    lower_starts: list[str] = []
    upper_starts: list[str] = []
    chances = 0
    for i, token in enumerate(words):
        bare, lower = bares[i], lowers[i]
        nxt = words[i + 1] if i + 1 < len(words) else None
        if _article(bare, lower, names_letters):
            chances += 1
            if _slip_after_article(token, lower, bares[i + 1 : i + 3]):
                slips.append(f"{token} {nxt or ''}".strip())
        elif nxt and _slip_before(token, lower, lowers[i + 1]):
            slips.append(f"{token} {nxt}")
        opens_midway = i not in line_starts and bare in _SENTENCE_OPENERS and token.startswith(bare)
        if opens_midway and not _BOUNDARY.search(words[i - 1]):
            chances += 1
            slips.append(f"{words[i - 1]} {token}")
        if nxt and i + 1 not in line_starts and _ends_sentence(token):
            (lower_starts if nxt[0].islower() else upper_starts).append(f"{token} {nxt}")
    if capitalises and len(lower_starts) > len(upper_starts):
        slips += lower_starts  # most sentences start in lower case, in text that capitalises
    return WordOrder(slips=len(slips), chances=chances, examples=tuple(slips[:3]))


def _slip_before(token: str, lower: str, next_lower: str) -> bool:
    """A preposition before "is" or "can" ("of is"), or a sentence ending on "and" or "if"."""
    if lower in _PREPOSITIONS:
        return next_lower in _FINITE
    return lower in _CONJUNCTIONS and token[-1] in ".!?"


def _ends_sentence(token: str) -> bool:
    """A word with a full stop that ends a sentence (not "e.g.", "etc." or "2.")."""
    return (
        len(token) > 1
        and token[-1] == "."
        and "a" <= token[-2] <= "z"
        and not _ABBREVIATION.search(token)
    )


def _article(bare: str, lower: str, names_letters: bool) -> bool:
    """An article or possessive in running text (not "A" as a name, not an acronym)."""
    if lower not in _ARTICLES or bare == "A" or _acronym(bare):
        return False
    return not (lower == "a" and names_letters)


def _slip_after_article(token: str, lower: str, following: list[str]) -> bool:
    """An article that ends a clause or the answer, or is followed by a function word."""
    if not following:
        return True
    if token[-1] in ".,;:!?":  # "the." ends nothing; "array of a." names a letter
        return lower != "a"
    nxt = following[0]
    if _acronym(nxt) or nxt.lower() not in _NEVER_AFTER_ARTICLE:
        return False
    after = following[1].lower() if len(following) > 1 else ""
    names_construct = nxt.lower() in _KEYWORDS and after and after not in _NEVER_AFTER_ARTICLE
    return not names_construct


@lru_cache(maxsize=64)
def reads_as_word_salad(text: str) -> bool:
    """True when ``text`` reads as words in a random order rather than sentences (kept for
    the last few texts: the engine's notice and the scorer read the same answer)."""
    return word_order(text).scrambled
