"""The two scorers behind one interface (``fit`` into a folder, ``load`` it, ``predict`` raw scores).

- ``fast.FastScorer``: stored frozen-encoder embeddings + linguistic features + TF-IDF into light
  regressors; trains in seconds; the CPU default.
- ``finetuned.FineTunedScorer``: the encoder fine-tuned end to end with score and trait heads.

Both return raw scores with one column per head (holistic first, then the rubric's traits).
"""

from __future__ import annotations

from pathlib import Path

from .base import Range, Rubric


def load_scorer(method: str, path: Path):
    if method == "fast":
        from .fast import FastScorer

        return FastScorer.load(path)
    if method == "finetune":
        from .finetuned import FineTunedScorer

        return FineTunedScorer.load(path)
    raise ValueError(f"unknown scoring method {method!r}")


def rubric_to_hyperparameters(rubric: Rubric) -> dict[str, object]:
    return {
        "rubric": {
            "min_score": rubric.min_score,
            "max_score": rubric.max_score,
            "step": rubric.step,
            "traits": [[t.name, t.min_score, t.max_score] for t in rubric.traits],
        }
    }


def rubric_from_hyperparameters(hp: dict) -> Rubric:
    r = hp["rubric"]
    return Rubric(
        min_score=int(r["min_score"]),
        max_score=int(r["max_score"]),
        traits=tuple(Range(str(n), int(lo), int(hi)) for n, lo, hi in r.get("traits", [])),
        step=int(r.get("step", 1)),
    )
