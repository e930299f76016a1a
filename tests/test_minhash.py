"""Vectorised MinHash against datasketch, on real text; shingling rules; LSH parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from datasketch import MinHash, MinHashLSH

from conftest import shared_path
from webfaq.config import Config
from webfaq.dedup.components import union_find
from webfaq.dedup.minhash import (MinHasher, band_hashes, candidate_probability, jaccard, lsh_params, normalise,
                                  shingle_hashes, shingles, unit_text)
from webfaq.dedup.rules import DedupParams, record_texts, signatures
from support.faqsynth import load_sentences

CHAR_FILES = {"zh", "ja", "th"}


@pytest.fixture(scope="module")
def real_texts() -> tuple[list[str], list[bool]]:
    """Every 7th sentence of every langid file (28 languages, ~3,900 texts), plus edge cases;
    zh/ja/th are shingled by characters."""
    root = shared_path("langid", "sentences")
    texts, chars = [], []
    for path in sorted(root.glob("*.txt")):
        for s in load_sentences(path)[::7]:
            texts.append(s)
            chars.append(path.stem in CHAR_FILES)
    edge = ["", None, "!!! ???", "one", "two words", "İstanbul ǅ ﬁ Ⅻ", "  lots   of\tspace\n", "a" * 300]
    return texts + edge, chars + [False] * len(edge)


@pytest.mark.parametrize("scheme", ["affine32", "affine64", "legacy"])
@pytest.mark.parametrize("hash_name", ["poly64", "sha1"])
def test_signatures_are_bit_identical_to_datasketch(real_texts, scheme, hash_name):
    texts, chars = real_texts
    mh = MinHasher(num_perm=128, seed=7, scheme=scheme, hash_name=hash_name, chunk_shingles=1000)
    sig = mh.signatures(texts, chars, np.where(chars, 4, 5))
    step = 1 if scheme == "affine32" else 5  # every text for the default scheme, a sample for the rest
    for i in range(0, len(texts), step):
        ref = MinHash(num_perm=128, seed=7, scheme=scheme, hashfunc=mh.datasketch_hashfunc())
        ref.update_batch(shingles(unit_text(texts[i], chars[i]), 4 if chars[i] else 5))
        assert ref.hashvalues.dtype == sig.dtype
        assert np.array_equal(ref.hashvalues, sig[i]), (scheme, hash_name, texts[i])


def test_sha1_mode_is_datasketch_out_of_the_box(real_texts):
    """hash=sha1 + affine32 + seed 1 is plain ``MinHash(num_perm)``: no custom hashfunc at all."""
    texts, chars = real_texts
    sig = MinHasher(num_perm=64, hash_name="sha1").signatures(texts[:300], chars[:300], 5)
    for i in range(300):
        ref = MinHash(num_perm=64)
        ref.update_batch(shingles(unit_text(texts[i], chars[i]), 5))
        assert np.array_equal(ref.hashvalues, sig[i])


def test_a_signature_does_not_depend_on_its_batch(real_texts):
    texts, chars = real_texts
    mh = MinHasher(chunk_shingles=300)
    whole = mh.signatures(texts, chars, 5)
    rng = np.random.default_rng(3)
    order = rng.permutation(len(texts))
    shuffled = mh.signatures([texts[i] for i in order], [chars[i] for i in order], 5)
    assert np.array_equal(shuffled, whole[order])
    one = mh.signatures([texts[11]], [chars[11]], 5)
    assert np.array_equal(one[0], whole[11])


def test_normalisation_and_units():
    assert normalise("Hello, WORLD!! Ｆｕｌｌ—width\u00a0text") == "hello world full width text"
    assert normalise("  a\tb\n\nc  ") == "a b c"
    # combining marks stay inside their word (\\W would split Hindi words apart)
    assert normalise("हिन्दी भाषा।") == "हिन्दी भाषा"
    assert unit_text("你好，世界。 テスト", chars=True) == "你 好 世 界 テ ス ト"
    assert unit_text("ภาษาไทย ง่าย", chars=True).count(" ") == len("ภาษาไทยง่าย") - 1


def test_shingles_words_chars_and_short_texts():
    assert shingles("a b c d e f", 5) == [b"a b c d e", b"b c d e f"]
    assert shingles("a b", 5) == [b"a b"]  # shorter than n: one shingle of all units
    assert shingles("", 5) == []
    hashes, counts = shingle_hashes(["Ab, c!", "", "one two three four five six", "你好世界和平"],
                                    [False, False, False, True], [5, 5, 5, 3])
    assert counts.tolist() == [1, 0, 2, 4]
    assert len(hashes) == 7


def test_empty_text_has_datasketch_empty_signature():
    sig = MinHasher(num_perm=16).signatures(["", "?!"], [False, False], 5)
    assert np.array_equal(sig[0], MinHash(num_perm=16).hashvalues) and np.array_equal(sig[1], sig[0])


def test_scripts_without_spaces_get_character_shingles():
    """A Chinese sentence is one 'word': word shingles see no overlap after a one-character
    edit, character shingles see most of it."""
    a = "我们的客服团队每天早上九点到晚上六点为您提供在线咨询服务欢迎随时联系我们"
    b = a.replace("六", "七")
    words = [set(shingle_hashes([t], [False], 5)[0].tolist()) for t in (a, b)]
    chars = [set(shingle_hashes([t], [True], 5)[0].tolist()) for t in (a, b)]
    assert jaccard(list(words[0]), list(words[1])) == 0.0
    assert jaccard(list(chars[0]), list(chars[1])) == 27 / 37  # 32 5-grams each, 5 changed
    params = DedupParams()
    df = pd.DataFrame({"question": ["", ""], "answer": [a, a], "language": ["zho", "eng"]})
    sig, has = signatures(df, params)
    assert has.all() and not np.array_equal(sig[0], sig[1])  # zho: characters, eng: one word


def test_lsh_parameters_come_from_datasketch():
    for threshold, num_perm in [(0.8, 128), (0.7, 256), (0.9, 64)]:
        lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        assert lsh_params(threshold, num_perm) == (lsh.b, lsh.r)
    params = DedupParams.from_config(Config().dedup)  # default: (b, r) tuned for 0.7, then Jaccard-checked at 0.8
    assert (params.bands, params.rows) == lsh_params(0.7, 128)
    assert lsh_params(0.8, 128) == (9, 13)
    assert candidate_probability(0.95, 9, 13) > 0.99 and candidate_probability(0.5, 9, 13) < 0.002


def test_band_hashes_match_exactly_equal_bands():
    rng = np.random.default_rng(0)
    sig = rng.integers(0, 2**32, size=(4, 12), dtype=np.uint64).astype(np.uint32)
    sig[1] = sig[0]
    sig[2, :4] = sig[0, :4]  # shares band 0 only
    bh = band_hashes(sig, 3, 4)
    assert bh.dtype == np.int64 and bh.shape == (4, 3)
    assert (bh[0] == bh[1]).all()
    assert bh[2, 0] == bh[0, 0] and (bh[2, 1:] != bh[0, 1:]).all()
    assert len(set(bh[:, 0].tolist()) | set(bh[:, 1].tolist())) >= 5  # band index is part of the hash


def test_union_find_reference():
    assert union_find([(5, 3), (3, 9), (7, 8)]) == {5: 3, 3: 3, 9: 3, 7: 7, 8: 7}


def test_text_modes():
    q, a = ["Q1", None], ["A1", "A2"]
    assert record_texts(q, a, "question+answer") == ["Q1 A1", " A2"]
    assert record_texts(q, a, "question") == ["Q1", ""] and record_texts(q, a, "answer") == ["A1", "A2"]


def test_a_batch_is_shingled_in_slices_of_bounded_characters(monkeypatch):
    """The vectorised shingling holds ~50 bytes per character of the batch at once, and Arrow
    batches are cut by rows: 4,096 rows of 1 MB answers would be ~200 GB. Signatures and the
    Jaccard check's sets are computed over slices of at most MAX_BATCH_CHARS characters (a
    longer record alone), with the same result as one pass."""
    import pandas as pd

    from webfaq.dedup import rules

    texts = [" ".join(f"w{i % 97} w{j}" for j in range(n)) for i, n in enumerate([400, 5, 3000, 50, 0, 700] * 3)]
    pdf = pd.DataFrame({"question": ["q?"] * len(texts), "answer": texts, "language": ["eng"] * len(texts)})
    params = rules.DedupParams()
    whole_sig, whole_has = rules.signatures(pdf, params)
    whole_sets = rules.shingle_sets(pdf, params)
    seen: list[int] = []
    real = rules.shingle_hashes

    def spy(texts_, *args, **kwargs):
        seen.append(sum(len(t) for t in texts_))
        return real(texts_, *args, **kwargs)

    monkeypatch.setattr(rules, "shingle_hashes", spy)
    monkeypatch.setattr(rules, "MAX_BATCH_CHARS", 20_000)
    sig, has = rules.signatures(pdf, params)
    sets = rules.shingle_sets(pdf, params)
    longest = max(len(f"q? {t}") for t in texts)
    assert len(seen) > 2 and max(seen) <= max(20_000, longest)
    assert np.array_equal(sig, whole_sig) and np.array_equal(has, whole_has)
    assert len(sets) == len(whole_sets) and all(np.array_equal(a, b) for a, b in zip(sets, whole_sets))
