"""Compose demo essays of a chosen quality from the hand-written sentence banks.

Contract: ``compose(bank, quality=q, rng=rng)`` returns one essay; ``q`` in [0, 1] (0 = weakest,
1 = strongest) and the same ``rng`` state gives the same essay. Quality moves, all at once
and each with noise:

- which sentence level is drawn (weak/mid/strong mix, see ``_level_weights``);
- structure: one undivided block for weak writing, up to intro + 3 body paragraphs (+ a
  counter-argument where the prompt has one) + conclusion for strong writing;
- sentences per paragraph (2 to 5);
- transitions between sentences, and ordinal paragraph openers;
- surface errors: misspellings (up to 45% of the words that have a common misspelling), missing
  capitals and full stops, a repeated sentence.

These are the cues human raters reward (length, organisation, vocabulary, conventions), so a
model trained on the teacher scores learns a real relation, not a label leak.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from functools import partial

from .essay_banks import EssayBank

LEVELS = ("weak", "mid", "strong")


def _level_weights(q: float) -> tuple[float, float, float]:
    # Cubic tails: the extremes are dominated by their own level, the middle by "mid".
    weak = (1 - q) ** 3
    strong = q**3
    mid = 0.65 * (1 - abs(2 * q - 1)) + 0.05
    return weak, mid, strong


def _pick_level(q: float, rng: random.Random) -> str:
    return rng.choices(LEVELS, weights=_level_weights(q))[0]


class _Picker:
    """Draws sentences without repeating one inside an essay."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def draw(self, pool: Sequence[str]) -> str | None:
        fresh = [s for s in pool if s not in self.used]
        if not fresh:
            return None
        choice = self.rng.choice(fresh)
        self.used.add(choice)
        return choice


# When the drawn level has no unused sentence left, take the nearest level that has one.
_FALLBACK = {"weak": ("weak", "mid", "strong"), "mid": ("mid", "weak", "strong"), "strong": ("strong", "mid", "weak")}


def _from_levels(levels: dict[str, tuple[str, ...]], q: float, picker: _Picker) -> str | None:
    level = _pick_level(q, picker.rng)
    for name in _FALLBACK[level]:
        sentence = picker.draw(levels.get(name, ()))
        if sentence is not None:
            return sentence
    return None


def _bank_position(levels: dict[str, tuple[str, ...]], sentence: str) -> int:
    for pool in levels.values():
        if sentence in pool:
            return pool.index(sentence)
    return 0


def _lower_first(sentence: str, language: str) -> str:
    if language != "en" or not sentence:
        return sentence
    first_word = sentence.split(" ", 1)[0]
    if first_word in {"I", "I'm", "I've"} or (len(first_word) > 1 and first_word[1:].lower() != first_word[1:]):
        return sentence  # "I" and proper nouns keep their capital.
    return sentence[0].lower() + sentence[1:]


def _starts_with_connective(sentence: str, language: str) -> bool:
    if language == "zh":
        return "，" in sentence[:5]  # "当然，" "于是，" already link the sentence
    first = sentence.split(" ", 1)[0]
    return first.endswith(",")


def _with_opener(opener: str, sentence: str, language: str) -> str:
    if _starts_with_connective(sentence, language):
        return sentence
    if language == "zh":
        return opener + sentence
    return f"{opener} {_lower_first(sentence, language)}"


def _misspell(text: str, pairs: Sequence[tuple[str, str]], rate: float, rng: random.Random) -> str:
    if rate <= 0 or not pairs:
        return text
    mapping = dict(pairs)
    # One pass over all patterns so that one substitution never feeds another ("there" -> "their"
    # must not then become "thier").
    keys = sorted(mapping, key=len, reverse=True)
    if all(re.match(r"^[A-Za-z' ]+$", k) for k in keys):
        pattern = re.compile(r"\b(" + "|".join(re.escape(k) for k in keys) + r")\b", re.IGNORECASE)
    else:
        pattern = re.compile("(" + "|".join(re.escape(k) for k in keys) + ")")

    def replace(match: re.Match[str]) -> str:
        word = match.group(0)
        if rng.random() >= rate:
            return word
        wrong = mapping.get(word.lower(), mapping.get(word, word))
        return wrong[0].upper() + wrong[1:] if word[0].isupper() else wrong

    return pattern.sub(replace, text)


def _roughen(sentence: str, q: float, bank: EssayBank, rng: random.Random) -> str:
    """Surface slips of a weak writer: lower-case starts, dropped full stops."""
    if bank.language != "en":
        if rng.random() < 0.3 * (1 - q) ** 2:
            sentence = sentence.rstrip("。") + "，"  # run-on: a comma where a full stop belongs
        return sentence
    if rng.random() < 0.45 * (1 - q) ** 2:
        sentence = _lower_first(sentence, "en")
    if rng.random() < 0.25 * (1 - q) ** 2:
        sentence = sentence.rstrip(".")
    return sentence


def compose(bank: EssayBank, *, quality: float, rng: random.Random) -> str:
    q = min(1.0, max(0.0, quality))
    picker = _Picker(rng)
    slots = rng.choice(bank.subjects)

    intro = [s for s in [_from_levels(bank.intro, q, picker)] if s]
    themes = list(bank.body)
    n_body = max(1, min(len(themes), round(0.6 + q * len(themes))))
    chosen_themes = themes[:n_body]
    per_paragraph = max(1, min(5, round(1.5 + q * 3 + rng.choice((-1, 0, 0, 1)))))

    body: list[list[str]] = []
    for index, theme in enumerate(chosen_themes):
        drawn = [s for s in (_from_levels(theme, q, picker) for _ in range(per_paragraph)) if s]
        if rng.random() < q:
            # Each bank theme is written in narrative order; a skilled writer keeps it.
            drawn.sort(key=partial(_bank_position, theme))
        sentences: list[str] = []
        for position, sentence in enumerate(drawn):
            if position == 0 and len(chosen_themes) > 1 and rng.random() < 0.2 + 0.6 * q:
                ordinal = bank.ordinals[min(index, len(bank.ordinals) - 1)]
                if index == len(chosen_themes) - 1:
                    ordinal = bank.ordinals[-1]
                sentence = _with_opener(ordinal, sentence, bank.language)
            elif position > 0 and rng.random() < 0.35 * q:
                sentence = _with_opener(rng.choice(bank.transitions), sentence, bank.language)
            elif position > 0 and rng.random() < 0.35 * (1 - q):
                sentence = _with_opener(rng.choice(bank.weak_connectives), sentence, bank.language)
            sentences.append(sentence)
        body.append(sentences)

    counter: list[str] = []
    if bank.counter and rng.random() < q:
        counter = [s for s in (_from_levels(bank.counter, q, picker) for _ in range(1 + (q > 0.6))) if s]

    conclusion: list[str] = []
    if rng.random() >= 0.35 * (1 - q):
        conclusion = [s for s in [_from_levels(bank.conclusion, q, picker)] if s]

    if rng.random() < 0.3 * (1 - q) and body and body[0]:
        body[0].append(body[0][0])  # weak writers repeat themselves

    # Structure: weak writing is one block; paragraphs appear as quality rises.
    if q < 0.3:
        paragraphs = [intro + [s for p in body for s in p] + counter + conclusion]
    elif q < 0.5:
        paragraphs = [intro + body[0], [s for p in body[1:] for s in p] + counter + conclusion]
    else:
        paragraphs = [intro, *body] + ([counter] if counter else []) + ([conclusion] if conclusion else [])
    paragraphs = [p for p in paragraphs if p]

    joiner = "" if bank.language == "zh" else " "
    rendered: list[str] = []
    for paragraph in paragraphs:
        text = joiner.join(_roughen(s.format(**slots), q, bank, rng) for s in paragraph)
        if bank.language == "zh" and q >= 0.4:
            text = "\u3000\u3000" + text  # the customary two-character indent
        rendered.append(text)
    essay = "\n\n".join(rendered)
    return _misspell(essay, bank.misspellings, 0.45 * (1 - q) ** 1.5, rng)
