"""Synthetic essays whose quality the tests control (no research data needed).

An essay of quality q (0..6) has more sentences, richer vocabulary, connectives and fewer
misspellings the higher q is, with random variation so that no single feature is the score.
"""

from __future__ import annotations

import random

WEAK = [
    "i like it",
    "it is good",
    "the thing is nice",
    "we go there alot",
    "it was fun and stuf",
    "my freind said ok",
    "becuase it is",
    "i dont no why",
]
STRONG = [
    "The library offers quiet rooms where students concentrate on demanding projects",
    "Consequently, access to books broadens the perspective of every curious reader",
    "Moreover, librarians guide researchers toward reliable and thoroughly documented sources",
    "Furthermore, community workshops encourage collaboration between generations of citizens",
    "Nevertheless, critics argue that digital archives will eventually replace printed collections",
    "However, physical spaces foster conversations that online platforms rarely reproduce",
    "Therefore, municipal investment in libraries strengthens education and civic participation",
    "In conclusion, the evidence suggests that libraries remain indispensable institutions",
]
MIDDLE = [
    "The library is a good place to study",
    "Books help people learn new things",
    "Many people visit the library every week",
    "It is important to read often",
    "Students can use computers there",
    "The town should keep the library open",
]

ZH_WEAK = ["我喜欢", "这个好", "很好玩", "我觉得还行", "他们去了"]
ZH_STRONG = [
    "首先，阅读能够开阔我们的视野，丰富我们的精神世界",
    "其次，经典著作蕴含着深刻的思想与智慧",
    "因此，我们应当养成持之以恒的阅读习惯",
    "然而，碎片化的信息往往使人浮躁不安",
    "总之，唯有深入思考，方能真正领悟书中的道理",
]
ZH_MIDDLE = ["读书是一件好事", "我们应该多读书", "书里有很多知识", "老师说读书很重要"]


def essay(quality: int, rng: random.Random, max_quality: int = 6) -> str:
    q = quality / max_quality
    n = 2 + round(q * 8) + rng.randint(0, 1)
    sentences = []
    for _ in range(n):
        r = rng.random()
        pool = STRONG if r < q * 0.9 else (MIDDLE if r < 0.5 + q * 0.5 else WEAK)
        sentences.append(rng.choice(pool))
    return ". ".join(sentences) + "."


def chinese_essay(quality: int, rng: random.Random, max_quality: int = 2) -> str:
    q = quality / max_quality
    n = 2 + round(q * 6) + rng.randint(0, 1)
    parts = []
    for _ in range(n):
        r = rng.random()
        pool = ZH_STRONG if r < q * 0.9 else (ZH_MIDDLE if r < 0.5 + q * 0.5 else ZH_WEAK)
        parts.append(rng.choice(pool))
    return "。".join(parts) + "。"


def graded_essays(n: int, seed: int = 0, max_quality: int = 6) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        q = i % (max_quality + 1)
        out.append((essay(q, rng, max_quality), q))
    rng.shuffle(out)
    return out
