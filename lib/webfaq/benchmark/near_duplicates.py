"""Near-duplicate questions of one website by their text (refinement rule 2).

Why not the embedding cosine alone (the method's rule, alpha = 0.7 with Jina v3): on a
single-topic FAQ site every question is about the same thing, and a small embedding model puts
distinct questions as close as near-duplicates. On the real FAQ sites of the project's test data,
multilingual-e5-small gives distinct questions of one site cosines up to 0.976 ("Can I install
other add-ons in Tor Browser?" / "Should I manually update add-ons included in Tor Browser?"),
while the same question upper-cased scores as low as 0.85: no threshold separates the two.
Near-duplicates are the same words in a slightly different form, so they are tested on the words.

Two questions are near-duplicates when, compared as :func:`question_units`, they

1. are the same text (case, punctuation, spacing and a trailer after the question mark aside),
2. have the same words in another order,
3. differ by one word added or removed (including a repeated word), or
4. differ in one word that is a typo of the other: Damerau-Levenshtein distance 1, no digits,
   both at least :data:`TYPO_LETTERS` letters long.

Rules 3 and 4 need the shorter question to have :data:`MIN_UNITS` units (one word of a one-word
title is all of it) and apply to questions of at most :data:`MAX_UNITS` units (longer ones are
compared by rules 1 and 2 only: their one-word variants cost quadratic time to index). A word
*replaced* by another word is not a near-duplicate: "Can I use ping in Tails?" and "Can I use
Monero in Tails?" are two questions of the Tails FAQ (the method's "What is CBD?" / "What is
CBDa?" case, which it documents as a side effect). Neither is a digit changed ("IPv4"/"IPv6",
"2024"/"2025").

:func:`near_duplicate` is the definition, pair by pair; :func:`earliest_partners` finds every
row's near-duplicates among n questions without comparing all n^2 pairs (exact keys for rules 1
and 2, one-unit deletions for 3 and 4, one-character deletions for the typo test).
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Iterable, Sequence

import numpy as np

from webfaq.benchmark.bm25 import NOSPACE_RANGES
from webfaq.dedup.minhash import normalise

TYPO_LETTERS = 4   # "form"/"from" is the shortest typo pair taken; "CBD"/"CBDa" are two names
MIN_UNITS = 2
MAX_UNITS = 64
QUESTION_MARKS = "?\uff1f\u061f"  # ASCII, full-width (CJK), Arabic
NOSPACE_CHAR = re.compile(f"[{NOSPACE_RANGES}]")
_TRAILER = re.compile(f"^(.*[{QUESTION_MARKS}])([^{QUESTION_MARKS}]+)$", re.S)

Units = tuple[str, ...]


def question_units(text: str | None) -> Units:
    """What the rules compare. A trailer after the last question mark ("What is Tails? | Tails")
    is dropped; the text is NFKC-normalised and case-folded; each whitespace-separated word,
    with its punctuation and symbols removed, is one unit ("Puis-je" one unit, not two, so a
    deleted "Puis-je" is one word edit); characters of scripts written without spaces (Han,
    kana, Thai, ...) are units of their own."""
    text = text or ""
    m = _TRAILER.match(text)
    if m and normalise(m.group(1)):
        text = m.group(1)
    units: list[str] = []
    for word in text.split():
        word = normalise(word).replace(" ", "").casefold()
        if not word:
            continue
        if NOSPACE_CHAR.search(word):
            units.extend(p for p in re.split(f"([{NOSPACE_RANGES}])", word) if p)
        else:
            units.append(word)
    return tuple(units)


def is_typo(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance exactly 1 (one letter substituted, added, dropped, or two
    adjacent letters swapped), no digits, both at least TYPO_LETTERS letters."""
    if a == b or abs(len(a) - len(b)) > 1 or min(len(a), len(b)) < TYPO_LETTERS:
        return False
    if any(c.isdigit() for c in a + b):
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def near_duplicate(a: Units, b: Units) -> bool:
    """The definition (rules 1-4 of the module docstring) for one pair of :func:`question_units`."""
    if "".join(a) == "".join(b) or sorted(a) == sorted(b):
        return True
    if min(len(a), len(b)) < MIN_UNITS or max(len(a), len(b)) > MAX_UNITS:
        return False
    if abs(len(a) - len(b)) == 1:
        short, long_ = (a, b) if len(a) < len(b) else (b, a)
        return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
        return len(diff) == 1 and is_typo(a[diff[0]], b[diff[0]])
    return False


def _deletions(units: Units) -> Iterable[tuple[int, Units]]:
    return ((i, units[:i] + units[i + 1:]) for i in range(len(units)))


def _typo_pairs(words: Sequence[str]) -> Iterable[tuple[int, int]]:
    """Index pairs of ``words`` (distinct strings) that are typos of each other: words sharing
    a one-character deletion (or one being a deletion of the other) are the only candidates."""
    buckets: dict[str, list[int]] = defaultdict(list)
    for k, w in enumerate(words):
        if any(c.isdigit() for c in w) or len(w) < TYPO_LETTERS:
            continue
        for variant in {w, *(w[:i] + w[i + 1:] for i in range(len(w)))}:
            buckets[variant].append(k)
    seen = set()
    for members in buckets.values():
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                pair = (members[x], members[y])
                if pair not in seen and is_typo(words[pair[0]], words[pair[1]]):
                    seen.add(pair)
                    yield pair


def _class_edges(classes: list[Units]) -> Iterable[tuple[int, int]]:
    """Pairs of distinct unit tuples (indices into ``classes``) that are near-duplicates; an
    equivalence group (rules 1 and 2) is given as a star around its first member, which keeps
    every member's earliest partner (see :func:`earliest_partners`)."""
    for key in ("".join, lambda u: tuple(sorted(u))):
        groups: dict = defaultdict(list)
        for c, units in enumerate(classes):
            groups[key(units)].append(c)
        for members in groups.values():
            yield from ((members[0], m) for m in members[1:])
    index = {units: c for c, units in enumerate(classes)}
    same_length: dict[tuple[int, Units], list[int]] = defaultdict(list)
    for c, units in enumerate(classes):
        if len(units) > MAX_UNITS:
            continue
        for i, rest in _deletions(units):
            if len(rest) >= MIN_UNITS and rest in index:
                yield c, index[rest]                      # rule 3
            same_length[(i, rest)].append(c)
    for (i, _), members in same_length.items():          # rule 4: the same but for unit i
        if len(members) > 1 and len(classes[members[0]]) > MIN_UNITS - 1:
            for x, y in _typo_pairs([classes[c][i] for c in members]):
                yield members[x], members[y]


def earliest_partners(units: Sequence[Units]) -> tuple[np.ndarray, np.ndarray]:
    """For rows in their keep order: each row's earliest near-duplicate among all rows, and
    among the rows before it (-1 where there is none). Equal unit tuples are one class, so a
    class of k rows costs one node, not k^2 pairs."""
    classes: dict[Units, list[int]] = {}
    for row, u in enumerate(units):
        classes.setdefault(u, []).append(row)
    keys = list(classes)
    first = np.array([classes[k][0] for k in keys], dtype=np.int64)
    n = len(units)
    any_, before = np.full(n, -1, np.int64), np.full(n, -1, np.int64)

    def offer(rows: list[int], partner: int) -> None:
        for row in rows:
            if row != partner:
                if any_[row] < 0 or partner < any_[row]:
                    any_[row] = partner
                if partner < row and (before[row] < 0 or partner < before[row]):
                    before[row] = partner

    for rows in classes.values():
        if len(rows) > 1:
            offer(rows, rows[0])
            offer(rows[:1], rows[1])
    for a, b in _class_edges(keys):
        offer(classes[keys[a]], int(first[b]))
        offer(classes[keys[b]], int(first[a]))
    return any_, before
