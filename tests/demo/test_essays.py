"""The demo essay composer: quality must show in the text the way raters reward it."""

from __future__ import annotations

import random
import re
from statistics import mean

import pytest
from scipy.stats import spearmanr

from eduai.demo.essay_banks import BANKS, EN_MISSPELLINGS, ZH_MISSPELLINGS
from eduai.demo.essays import compose


def _sample(key: str, n: int = 80, seed: int = 7) -> list[tuple[float, str]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        q = i / (n - 1)
        out.append((q, compose(rng.choice(BANKS[key]), quality=q, rng=rng)))
    return out


def _misspellings(text: str, pairs) -> int:
    wrong = {w for _, w in pairs} - {c for c, _ in pairs} - {"to"}  # "to", "their" are also real words
    if all(w.isascii() for w in wrong):
        return sum(len(re.findall(rf"\b{re.escape(w)}\b", text, flags=re.IGNORECASE)) for w in wrong)
    return sum(text.count(w) for w in wrong)


@pytest.mark.parametrize("key", ["place", "homework"])
def test_english_quality_shows_in_length_paragraphs_and_spelling(key):
    essays = _sample(key)
    qs = [q for q, _ in essays]
    words = [len(t.split()) for _, t in essays]
    paragraphs = [t.count("\n\n") + 1 for _, t in essays]
    errors = [_misspellings(t, EN_MISSPELLINGS) / max(1, len(t.split())) for _, t in essays]
    assert spearmanr(qs, words).statistic > 0.8
    assert spearmanr(qs, paragraphs).statistic > 0.8
    # Weak writing has several times the misspelling rate of strong writing.
    third = len(errors) // 3
    assert mean(errors[:third]) > 3 * mean(errors[-third:])
    assert mean(errors[-third:]) < 0.01
    # The weakest writing is one short block; the strongest is several paragraphs and long.
    assert paragraphs[0] == 1 and words[0] < 80
    assert paragraphs[-1] >= 4 and words[-1] > 200


def test_chinese_quality_shows_in_length_and_wrong_characters():
    essays = _sample("perseverance_zh")
    qs = [q for q, _ in essays]
    chars = [len(re.findall(r"[\u4e00-\u9fff]", t)) for _, t in essays]
    errors = [_misspellings(t, ZH_MISSPELLINGS) / max(1, len(t)) for _, t in essays]
    assert spearmanr(qs, chars).statistic > 0.8
    third = len(errors) // 3
    assert mean(errors[:third]) > 3 * mean(errors[-third:])
    assert "\u3000\u3000" in essays[-1][1]  # paragraph indent in good writing


def test_same_seed_same_essay_and_every_slot_is_filled():
    a = compose(BANKS["place"][0], quality=0.6, rng=random.Random(3))
    b = compose(BANKS["place"][0], quality=0.6, rng=random.Random(3))
    assert a == b
    for key, banks in BANKS.items():
        rng = random.Random(key)
        for bank in banks:
            for q in (0.0, 0.5, 1.0):
                text = compose(bank, quality=q, rng=rng)
                assert "{" not in text and "}" not in text, key


def test_no_sentence_repeats_in_strong_writing():
    rng = random.Random(11)
    for _ in range(20):
        text = compose(BANKS["place"][0], quality=1.0, rng=rng)
        sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]
        assert len(sentences) == len(set(sentences))
