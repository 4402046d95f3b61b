"""The fine-tuned scorer: grading's side of ``eduai.inference.finetune`` (which owns torch).

Contract: ``FineTunedScorer.fit(train, val, workdir, ...)`` fine-tunes the assignment language's
encoder (``EDUAI_ENCODER_PATH``, or ``EDUAI_ZH_ENCODER_PATH`` for Chinese) with one head per
rubric head, early-stopping on validation QWK of the holistic score, and writes the artefact into
``workdir``; optional domain-adaptive MLM pretraining on the course's unlabelled submissions runs
first when ``dapt_epochs`` > 0. ``load(workdir).predict(texts)`` gives raw scores (n, heads).
With ``side_features`` the head also reads the fast scorer's linguistic features of the whole
essay (a hybrid scorer): they are computed here, on both sides, from the same function, and
``FEATURES_FILE`` in the artefact names the language and columns they were trained with.
Chinese without a Chinese encoder is refused with a clear error: the bundled MiniLM has an
English vocabulary, and the fast scorer's character and word features serve Chinese instead.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from eduai.inference import finetune
from eduai.inference.spec import encoder_path, has_encoder_for

from .base import FitReport, TrainingSet, qwk
from .features import feature_names, linguistic_features

FEATURES_FILE = "side_features.json"


class FineTunedScorer:
    method = "finetune"

    def __init__(self, model, feature_language: str | None = None, feature_names: list[str] | None = None) -> None:
        self.model = model
        self.feature_language = feature_language
        self.feature_names = feature_names

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
                batch_tokens=config.batch_tokens or None,
                seed=config.seed,
                progress=progress,
            )
            base = str(adapted)
        lo, hi = train.rubric.min_score, train.rubric.max_score
        val_scores = val.targets[:, 0]

        def val_metric(pred: np.ndarray) -> float:
            return qwk(val_scores, pred[:, 0], lo, hi)

        side: dict[str, np.ndarray] = {}
        if config.side_features:
            side = {
                "features": linguistic_features(train.texts, train.language),
                "val_features": linguistic_features(val.texts, train.language),
            }
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
            **side,
        )
        if side:
            names = list(feature_names(train.language))
            (workdir / FEATURES_FILE).write_text(json.dumps({"language": train.language, "names": names}))
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
        model = finetune.FineTunedScorer(workdir)
        language, names = None, None
        if model.needs_features:
            saved = json.loads((Path(workdir) / FEATURES_FILE).read_text())
            language, names = str(saved["language"]), [str(n) for n in saved["names"]]
            # Later versions may add features: the model reads the ones it was trained on, by name.
            if not set(names) <= set(feature_names(language)):
                raise ValueError(
                    "this fine-tuned model was trained on linguistic features this version does not compute: retrain it"
                )
        return cls(model, language, names)

    uses_embeddings = False

    def predict(self, texts: list[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        features = None
        if self.feature_language is not None:
            features = linguistic_features(texts, self.feature_language, self.feature_names)
        return self.model.predict(texts, features=features).astype(np.float64)
