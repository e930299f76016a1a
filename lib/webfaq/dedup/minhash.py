"""Vectorised MinHash: text normalisation, shingling, shingle hashing, signatures and LSH bands.

Why this module exists: ``datasketch.MinHash.update_batch`` hashes one shingle at a time in
Python and permutes one document at a time, which is ~60-180 µs per FAQ record. Here a whole
Arrow batch of records is processed with a handful of numpy passes (no Python loop per shingle),
and the result is **bit-identical** to ``datasketch.MinHash(num_perm, seed, hashfunc, scheme)``
updated with the same shingles — so signatures can be checked against, and mixed with, the
reference library.

Pipeline (all of it runs on executors, no JVM needed):

1. ``normalise``: NFKC, lower case, punctuation/symbols/controls -> space, whitespace collapsed.
2. ``unit_text``: the text as *units* separated by single spaces: words for scripts written with
   spaces, single characters (spaces removed) for scripts without (zho, jpn, tha, ...).
3. Shingles are ``n`` consecutive units (a text with fewer than ``n`` units is one shingle of all
   of them); as bytes a shingle is its units joined by one space, e.g. ``b"how do i reset my"``.
4. Shingle hash, either ``poly64`` (vectorised: a polynomial hash of each unit's code points, mixed
   with the MurmurHash3 finalizer, then a polynomial hash of the unit hashes, mixed again; the
   scalar twin :func:`shingle_hash32` is the ``hashfunc`` to give datasketch) or ``sha1``
   (datasketch's default ``sha1_hash32``; hashed in a Python loop, permutations still vectorised).
5. Permutations exactly as datasketch (``affine32`` — its 2.x default —, ``affine64`` or
   ``legacy``), minimum per record with ``np.minimum.reduceat``.
6. Bands: ``rows`` consecutive signature values hashed to one signed 64-bit integer per band.
"""

from __future__ import annotations

import functools
import hashlib
import struct
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

MASK32 = (1 << 32) - 1
MASK64 = (1 << 64) - 1
_MERSENNE = np.uint64((1 << 61) - 1)

# Odd 64-bit multipliers for the polynomial hashes (units over code points, shingles over units)
# and their inverses modulo 2^64, which let one cumulative sum hash every span of a batch.
_P_CHAR = 0x100000001B3 * 2 + 1
_P_UNIT = 0x9E3779B97F4A7C15
_LEN_CHAR = 0xC2B2AE3D27D4EB4F
_LEN_UNIT = 0x165667B19E3779F9
_BAND_MUL = np.uint64(0xD6E8FEB86659FD93)

_FMIX64 = (np.uint64(33), np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53))
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35))


# --------------------------------------------------------------------------- mixing functions

def fmix64(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer on a uint64 array (wrapping arithmetic is the point)."""
    s, m1, m2 = _FMIX64
    x = x ^ (x >> s)
    x = x * m1
    x = x ^ (x >> s)
    x = x * m2
    return x ^ (x >> s)


def fmix64_int(x: int) -> int:
    """Scalar :func:`fmix64` on a Python int (the reference hash path)."""
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & MASK64
    x ^= x >> 33
    x = (x * 0xC4CEB9FE1A85EC53) & MASK64
    return x ^ (x >> 33)


def fmix32(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, as datasketch applies it before affine32 permutations."""
    s1, m1, s2, m2 = _FMIX32
    x = x ^ (x >> s1)
    x = x * m1
    x = x ^ (x >> s2)
    x = x * m2
    return x ^ (x >> s1)


# --------------------------------------------------------------------------- normalisation

@functools.lru_cache(maxsize=1)
def _separator_table() -> np.ndarray:
    """Boolean table over all code points: True for punctuation, symbols, separators and
    control/format characters. Built from ``unicodedata`` once per process (~0.1 s).

    A lookup table rather than a regex: it is applied to a whole batch's code points with one
    numpy gather (a 350-range regex class costs ~80 µs per FAQ record in ``re``), and ``\\W`` is
    not used because it also splits words at combining marks (Devanagari, Thai vowel signs)."""
    return _category_tables()[0]


@functools.lru_cache(maxsize=1)
def _category_tables() -> tuple[np.ndarray, dict[int, None]]:
    """One pass over the code points for both tables: the separators and the format characters."""
    table = np.zeros(0x110000, dtype=bool)
    formats: dict[int, None] = {}
    for cp in list(range(0x40000)) + list(range(0xE0000, 0xE1000)):
        cat = unicodedata.category(chr(cp))
        table[cp] = cat[0] in "PSZ" or cat in ("Cc", "Cf")
        if cat == "Cf":
            formats[cp] = None
    return table, formats


@functools.lru_cache(maxsize=1)
def _separator_map() -> dict[int, int]:
    return {int(cp): 32 for cp in np.flatnonzero(_separator_table())}


# Revision of the text folding below; stored band hashes depend on it (DedupParams.fingerprint).
# 2: format characters (Cf) are removed instead of separating words.
FOLD_VERSION = 2


def _format_chars() -> dict[int, None]:
    """Every format character (category Cf: soft hyphen, zero-width space/joiners, bidi marks,
    word joiner, byte order mark, tag characters ...) -> deleted, for ``str.translate``."""
    return _category_tables()[1]


def _fold(text: str | None) -> str:
    """NFKC then lower case: full-width forms, ligatures and case stop mattering; format
    characters (invisible: a soft hyphen, a zero-width joiner) are removed, so "Ver\u00adsand"
    is the word "versand", not two words."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", text).lower()
    return folded if folded.isascii() else folded.translate(_format_chars())


def normalise(text: str | None) -> str:
    """Folded text with punctuation/symbols/controls removed and whitespace collapsed, so that
    near duplicates differing only in case, punctuation, full-width forms or spacing match.
    (Scalar reference; batches go through :func:`_unit_spans`, which computes the same units.)"""
    return " ".join(w for w in _fold(text).translate(_separator_map()).split(" ") if w)


def unit_text(text: str | None, chars: bool) -> str:
    """Normalised text as units separated by one space: words, or single characters for
    scripts without spaces (spaces between phrases dropped)."""
    norm = normalise(text)
    if chars:
        return " ".join(norm.replace(" ", ""))
    return norm


def _unit_spans(texts: Sequence[str | None], chars: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The units of a whole batch at once: the batch's code points (uint64), each unit's
    [start, end) in them, and the number of units per text. A unit is a maximal run of
    non-separator code points inside one text, or one code point where ``chars`` is set."""
    folded = [_fold(t) for t in texts]
    lengths = np.fromiter((len(f) for f in folded), dtype=np.int64, count=len(folded))
    cps = np.frombuffer("".join(folded).encode("utf-32-le"), dtype=np.uint32)
    keep = ~_separator_table()[cps]
    doc_of = np.repeat(np.arange(len(folded)), lengths)
    single = chars[doc_of] if len(cps) else np.zeros(0, dtype=bool)
    doc_starts = np.cumsum(lengths) - lengths
    first = np.zeros(len(cps), dtype=bool)
    first[doc_starts[doc_starts < len(cps)]] = True
    prev_keep = np.concatenate(([False], keep[:-1]))
    next_keep = np.concatenate((keep[1:], [False]))
    last = np.concatenate((first[1:], [True]))
    starts = np.flatnonzero(keep & (single | first | ~prev_keep))
    ends = np.flatnonzero(keep & (single | last | ~next_keep)) + 1
    counts = np.bincount(doc_of[starts], minlength=len(folded)).astype(np.int64)
    return cps.astype(np.uint64), starts, ends, counts


def shingles(units: str, n: int) -> list[bytes]:
    """The shingles of a unit text as UTF-8 bytes (the reference for the vectorised path and
    the input given to datasketch). Fewer than ``n`` units give one shingle of all of them."""
    if not units:
        return []
    parts = units.split(" ")
    if len(parts) <= n:
        return [units.encode("utf-8")]
    return [" ".join(parts[i:i + n]).encode("utf-8") for i in range(len(parts) - n + 1)]


# --------------------------------------------------------------------------- shingle hashes

def shingle_hash64(shingle: bytes) -> int:
    """Scalar ``poly64`` hash of one shingle (units joined by single spaces)."""
    acc = 0
    units = shingle.decode("utf-8").split(" ")
    for unit in units:
        poly = 0
        for ch in unit:
            poly = (poly * _P_CHAR + ord(ch)) & MASK64
        u = fmix64_int((poly + len(unit) * _LEN_CHAR) & MASK64)
        acc = (acc * _P_UNIT + u) & MASK64
    return fmix64_int((acc + len(units) * _LEN_UNIT) & MASK64)


def shingle_hash32(shingle: bytes) -> int:
    """``poly64`` truncated to 32 bits: the ``hashfunc`` to give ``datasketch.MinHash``."""
    return shingle_hash64(shingle) & MASK32


_POWERS: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _power_table(base: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(base^i, base^-i) mod 2^64 for i < n as uint64 arrays; one growing table per base."""
    have = _POWERS.get(base)
    if have is None or len(have[0]) < n:
        size = 1 << max(12, int(n - 1).bit_length())
        fwd = np.full(size, base, dtype=np.uint64)
        bwd = np.full(size, pow(base, -1, 1 << 64), dtype=np.uint64)
        fwd[0] = bwd[0] = 1
        have = _POWERS[base] = (np.cumprod(fwd), np.cumprod(bwd))
    return have[0][:n], have[1][:n]


def _span_poly(values: np.ndarray, starts: np.ndarray, ends: np.ndarray, base: int) -> np.ndarray:
    """sum_{j in [s, e)} values[j] * base^(e-1-j) mod 2^64 for every span, in O(len(values)):
    one cumulative sum of values[j] * base^-j, then (S[e] - S[s]) * base^(e-1)."""
    fwd, bwd = _power_table(base, len(values) + 1)
    prefix = np.zeros(len(values) + 1, dtype=np.uint64)
    np.cumsum(values * bwd[:len(values)], out=prefix[1:])
    return (prefix[ends] - prefix[starts]) * fwd[ends - 1]


def _window_spans(unit_counts: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shingle windows [start, end) over the concatenated units of texts with ``unit_counts``
    units and shingle size ``n`` each, and the number of shingles per text."""
    counts = np.where(unit_counts > 0, np.maximum(unit_counts - n + 1, 1), 0)
    unit_offsets = np.cumsum(unit_counts) - unit_counts
    first = np.cumsum(counts) - counts
    starts = np.repeat(unit_offsets - first, counts) + np.arange(int(counts.sum()))
    ends = np.minimum(starts + np.repeat(n, counts), np.repeat(unit_offsets + unit_counts, counts))
    return starts, ends, counts


def shingle_hashes(texts: Sequence[str | None], chars: Sequence[bool], n: int | Sequence[int],
                   hash_name: str = "poly64") -> tuple[np.ndarray, np.ndarray]:
    """Hashes of every shingle of every text, concatenated (uint64; the 32-bit schemes use the
    low 32 bits), and the number of shingles per text (0 when nothing is left after
    normalisation). ``chars[i]`` selects character units and ``n`` (one size, or one per text)
    the shingle size for text i."""
    chars = np.asarray(chars, dtype=bool)
    n = np.broadcast_to(np.asarray(n, dtype=np.int64), chars.shape)
    if hash_name == "sha1":
        per_doc = [shingles(unit_text(t, c), int(k)) for t, c, k in zip(texts, chars, n)]
        counts = np.array([len(s) for s in per_doc], dtype=np.int64)
        digest = b"".join(hashlib.sha1(sh).digest()[:8] for doc in per_doc for sh in doc)
        return np.frombuffer(digest, dtype="<u8").astype(np.uint64), counts
    cps, starts, ends, unit_counts = _unit_spans(texts, chars)
    lengths = (ends - starts).astype(np.uint64)
    unit_hash = fmix64(_span_poly(cps, starts, ends, _P_CHAR) + lengths * np.uint64(_LEN_CHAR))
    w_starts, w_ends, counts = _window_spans(unit_counts, n)
    poly = _span_poly(unit_hash, w_starts, w_ends, _P_UNIT)
    return fmix64(poly + (w_ends - w_starts).astype(np.uint64) * np.uint64(_LEN_UNIT)), counts


def sha1_hash(shingle: bytes, width: int = 32) -> int:
    """datasketch's ``sha1_hash32`` / ``sha1_hash64`` (little-endian prefix of the digest)."""
    digest = hashlib.sha1(shingle).digest()
    return struct.unpack("<I", digest[:4])[0] if width == 32 else struct.unpack("<Q", digest[:8])[0]


# --------------------------------------------------------------------------- signatures

@dataclass(frozen=True)
class MinHasher:
    """The permutation family of ``datasketch.MinHash(num_perm, seed, scheme=scheme)``.

    ``signatures`` gives, for each text, exactly ``MinHash.hashvalues`` after
    ``update_batch(shingles(text))`` with ``hashfunc`` = :func:`shingle_hash32` (poly64, 32-bit
    schemes), ``shingle_hash64`` (poly64, affine64) or datasketch's default SHA1 (sha1)."""

    num_perm: int = 128
    seed: int = 1
    scheme: str = "affine32"
    hash_name: str = "poly64"
    chunk_shingles: int = 8192

    @functools.cached_property
    def permutations(self) -> tuple[np.ndarray, np.ndarray]:
        gen = np.random.RandomState(self.seed)
        if self.scheme == "legacy":
            ab = np.array([(gen.randint(1, _MERSENNE, dtype=np.uint64), gen.randint(0, _MERSENNE, dtype=np.uint64))
                           for _ in range(self.num_perm)], dtype=np.uint64).T
            return ab[0].copy(), ab[1].copy()
        width, dtype = (32, np.uint32) if self.scheme == "affine32" else (64, np.uint64)
        a = gen.randint(0, 1 << (width - 1), self.num_perm, dtype=dtype) * dtype(2) + dtype(1)
        b = gen.randint(0, 1 << width, self.num_perm, dtype=dtype)
        return a, b

    @property
    def dtype(self):
        return np.uint32 if self.scheme == "affine32" else np.uint64

    @property
    def empty_value(self) -> int:
        """datasketch's initial hash value (what an empty set keeps)."""
        return MASK64 if self.scheme == "affine64" else MASK32

    def input_hashes(self, hashes64: np.ndarray) -> np.ndarray:
        """Shingle hashes as datasketch's ``hashfunc`` returns them for this scheme, pre-mixed
        the way ``update_batch`` does before permuting."""
        if self.scheme == "affine64":
            return fmix64(hashes64.astype(np.uint64))
        h32 = (hashes64 & np.uint64(MASK32)).astype(np.uint32)
        return fmix32(h32) if self.scheme == "affine32" else h32.astype(np.uint64)

    def _permute(self, hv: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Permuted values, shape (num_perm, len(hv)): permutation-major so that the per-record
        minimum (``reduceat`` along the last axis) runs over contiguous memory."""
        a, b = self.permutations
        if self.scheme == "legacy":
            out[:] = ((hv[None, :] * a[:, None] + b[:, None]) % _MERSENNE) & np.uint64(MASK32)
            return out
        np.multiply(a[:, None], hv[None, :], out=out)
        np.add(out, b[:, None], out=out)
        return out

    def signatures_from_hashes(self, hashes64: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Signatures (n_texts, num_perm) from concatenated shingle hashes and per-text counts."""
        sig = np.full((len(counts), self.num_perm), self.empty_value, dtype=self.dtype)
        hv = self.input_hashes(hashes64)
        docs = np.flatnonzero(counts > 0)
        doc_ends = np.cumsum(counts)[docs]
        doc_starts = doc_ends - counts[docs]
        buf = np.empty(self.num_perm * self.chunk_shingles, dtype=self.dtype)
        i = 0
        while i < len(docs):
            lo = doc_starts[i]
            # as many whole documents as fit the chunk (at least one, however long)
            j = max(i + 1, int(np.searchsorted(doc_ends, lo + self.chunk_shingles, side="right")))
            width = doc_ends[j - 1] - lo
            # a contiguous (num_perm, width) view: strided output slows the ufuncs down
            flat = buf if width <= self.chunk_shingles else np.empty(self.num_perm * width, self.dtype)
            out = flat[:self.num_perm * width].reshape(self.num_perm, width)
            permuted = self._permute(hv[lo:lo + width], out)
            sig[docs[i:j]] = np.minimum.reduceat(permuted, doc_starts[i:j] - lo, axis=1).T
            i = j
        return sig

    def signatures(self, texts: Sequence[str | None], chars: Sequence[bool], n: int | Sequence[int]) -> np.ndarray:
        """MinHash signatures of raw texts: n-gram shingles of words, or of characters where
        ``chars`` is set; row i equals datasketch's MinHash of ``shingles(unit_text(texts[i]))``."""
        hashes, counts = shingle_hashes(texts, chars, n, self.hash_name)
        return self.signatures_from_hashes(hashes, counts)

    def datasketch_hashfunc(self):
        """The ``hashfunc`` that makes ``datasketch.MinHash`` produce these signatures."""
        if self.hash_name == "sha1":
            return functools.partial(sha1_hash, width=64 if self.scheme == "affine64" else 32)
        return shingle_hash64 if self.scheme == "affine64" else shingle_hash32


# --------------------------------------------------------------------------- LSH

def band_hashes(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One signed 64-bit hash per band and record, shape (n, bands): ``rows`` consecutive
    signature values folded with multiply + finalizer. Two records share a band hash iff (up to
    64-bit collisions) they agree on all ``rows`` values of that band — LSH's AND step."""
    if bands * rows > sig.shape[1]:
        raise ValueError(f"bands*rows={bands * rows} exceeds the signature length {sig.shape[1]}")
    s = sig[:, :bands * rows].astype(np.uint64).reshape(len(sig), bands, rows)
    h = np.broadcast_to(np.arange(1, bands + 1, dtype=np.uint64), (len(sig), bands)).copy()
    for j in range(rows):
        h = fmix64(h * _BAND_MUL + s[:, :, j])
    return h.view(np.int64)


def lsh_params(threshold: float, num_perm: int, fp_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) minimising datasketch's weighted false-positive/negative areas: the values
    ``datasketch.MinHashLSH(threshold, num_perm, weights)`` picks (so they match the library)."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=(fp_weight, 1 - fp_weight))
    return int(lsh.b), int(lsh.r)


def candidate_probability(similarity: float, bands: int, rows: int) -> float:
    """P(two records with Jaccard ``similarity`` share at least one band): 1 - (1 - s^r)^b."""
    return 1 - (1 - similarity ** rows) ** bands


def jaccard(a: Iterable[int] | np.ndarray, b: Iterable[int] | np.ndarray) -> float:
    """Exact Jaccard similarity of two sets of shingle hashes (1.0 for two empty sets)."""
    sa, sb = np.unique(np.asarray(a, dtype=np.uint64)), np.unique(np.asarray(b, dtype=np.uint64))
    union = len(np.union1d(sa, sb))
    return 1.0 if union == 0 else len(np.intersect1d(sa, sb, assume_unique=True)) / union
