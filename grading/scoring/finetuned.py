"""The fine-tuned scorer: grading's side of ``eduai.inference.finetune`` (which owns torch).

Contract: ``FineTunedScorer.fit(train, val, workdir, ...)`` fine-tunes the assignment language's
encoder (``EDUAI_ENCODER_PATH``, or ``EDUAI_ZH_ENCODER_PATH`` for Chinese) with one head per
rubric head, early-stopping on validation QWK of the holistic score, and writes the artefact into
``workdir``; optional domain-adaptive MLM pretraining on the course's unlabelled submissions runs
first when ``dapt_epochs`` > 0. ``load(workdir).predict(texts)`` gives raw scores (n, heads).
Chinese without a Chinese encoder is refused with a clear error: the bundled MiniLM has an
English vocabulary, and the fast scorer's character and word features serve Chinese instead.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from eduai.inference import finetune
from eduai.inference.spec import encoder_path, has_encoder_for

from .base import FitReport, TrainingSet, qwk


class FineTunedScorer:
    method = "finetune"

    def __init__(self, model) -> None:
        self.model = model

    @classmethod
    def fit(
        cls,
        train: TrainingSet,
        val: TrainingSet,
        workdir: Path,
        *,
        config: finetune.FineTuneConfig,
        unlabelled: Sequence[str] = (),
        progress: bool = False,
    ) -> FitReport:
        if not has_encoder_for(train.language):
            raise ValueError(
                "no encoder reads this language: set EDUAI_ZH_ENCODER_PATH to a local Chinese encoder "
                "folder to fine-tune on Chinese essays (the fast scorer serves Chinese without one)"
            )
        if len(val) < 2:
            raise ValueError("fine-tuning needs at least 2 validation essays for early stopping")
        started = time.perf_counter()
        base = encoder_path(train.language)
        extra: dict[str, object] = {}
        if config.dapt_epochs > 0 and unlabelled:
            adapted = workdir.parent / (workdir.name + "-dapt")
            extra["dapt"] = finetune.mlm_adapt(
                base_path=base,
                texts=list(unlabelled),
                out_dir=adapted,
                epochs=config.dapt_epochs,
                max_length=config.max_length,
                seed=config.seed,
                progress=progress,
            )
            base = str(adapted)
        lo, hi = train.rubric.min_score, train.rubric.max_score
        val_scores = val.targets[:, 0]

        def val_metric(pred: np.ndarray) -> float:
            return qwk(val_scores, pred[:, 0], lo, hi)

        report = finetune.train_scorer(
            base_path=base,
            texts=list(train.texts),
            targets=train.targets,
            ranges=[(r.min_score, r.max_score) for r in train.rubric.heads],
            head_names=[r.name for r in train.rubric.heads],
            val_texts=list(val.texts),
            val_targets=val.targets,
            val_metric=val_metric,
            out_dir=workdir,
            config=config,
            progress=progress,
        )
        if "dapt" in extra:
            import shutil

            shutil.rmtree(base, ignore_errors=True)
        extra.update(report)
        return FitReport(
            hyperparameters={**config.as_dict(), "best_epoch": report["best_epoch"]},
            base_model=encoder_path(train.language),
            embedding_key="",
            seconds=time.perf_counter() - started,
            extra=extra,
        )

    @classmethod
    def load(cls, workdir: Path) -> FineTunedScorer:
        # Not through finetune.load_scorer: grading caches the whole loaded model itself.
        return cls(finetune.FineTunedScorer(workdir))

    uses_embeddings = False

    def predict(self, texts: list[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        return self.model.predict(texts).astype(np.float64)
