"""The fine-tuned scorer through the production path: teacher grades -> fine-tuned model -> scores.

Slow (real fine-tuning of the bundled MiniLM at 48 tokens on a few dozen synthetic essays); CI runs it.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from eduai.courses import api as courses
from eduai.courses.models import Submission
from eduai.inference import finetune
from grading import api as grading
from grading import training
from grading.models import GradingModel, ModelStatus, Prediction
from grading.scoring.finetuned import FEATURES_FILE, FineTunedScorer
from tests import factories as f

from .essays import essay

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

# 48 tokens keep the run to seconds; the synthetic essays' quality survives head+tail at that length.
SMALL = {"max_length": 48, "epochs": 4, "batch_size": 8, "lr": 1e-4, "head_lr": 5e-3, "patience": 2}


@pytest.fixture
def graded_assignment(world, make_graded):
    assignment = f.AssignmentFactory(course=world.course, min_score=0, max_score=6)
    f.RubricTraitFactory(assignment=assignment, name="organisation", min_score=0, max_score=4)
    make_graded(assignment, 48, grader=world.teacher, traits=True)
    return assignment


def test_fine_tuned_model_learns_from_teacher_grades_and_scores_with_traits_and_intervals(
    world, graded_assignment, settings, django_capture_on_commit_callbacks
):
    # given an assignment with one rubric trait and 48 teacher-graded essays
    assignment = graded_assignment
    # when a fine-tuned model is trained through the production service
    result = grading.model_train(
        assignment_id=assignment.pk,
        method="finetune",
        finetune_overrides={**SMALL, "side_features": False},  # the text-only network (hybrid: below)
        schedule_scoring=False,
    )
    # then it is registered with its validation QWK, per-epoch history, conformal radius and trait metrics
    model = GradingModel.objects.get(pk=result.model_id)
    assert model.status == ModelStatus.READY and model.is_active and model.method == "finetune"
    assert model.n_val >= 9 and model.n_train + model.n_val == 48
    history = model.hyperparameters["history"]
    assert 1 <= len(history) <= 4 and model.hyperparameters["best_epoch"] in [h["epoch"] for h in history]
    assert model.val_qwk is not None and model.interval_halfwidth is not None
    assert set(model.trait_metrics) == {"organisation"}
    assert (Path(settings.EDUAI_MODEL_ROOT) / model.artefact / finetune.HEAD_FILE).is_file()
    # and the served model ranks unseen essays by quality (a real signal, not the mean)
    rng = random.Random(7)
    quality = [q for q in range(7) for _ in range(2)]
    texts = [essay(q, rng) for q in quality]
    raw = FineTunedScorer.load(Path(settings.EDUAI_MODEL_ROOT) / model.artefact).predict(texts)
    assert raw.shape == (14, 2)
    assert spearmanr(raw[:, 0], quality).statistic > 0.6
    assert spearmanr(raw[:, 1], quality).statistic > 0.5  # the trait head learned too
    # when a weak and a strong essay arrive, they are scored by it with a score inside its interval
    with django_capture_on_commit_callbacks(execute=True):
        weak = courses.submission_create(assignment_id=assignment.pk, author_id=world.student.pk, text=texts[0])
    with django_capture_on_commit_callbacks(execute=True):
        strong = courses.submission_create(assignment_id=assignment.pk, author_id=world.student.pk, text=texts[-1])
    pw, ps = Prediction.objects.get(submission=weak), Prediction.objects.get(submission=strong)
    assert ps.raw_score > pw.raw_score + 1.0
    for p in (pw, ps):
        assert p.model_id == model.pk and p.interval_low <= p.score <= p.interval_high
        assert set(p.trait_scores) == {"organisation"}


def test_interrupted_fine_tuning_leaves_no_artefact_nor_adapted_encoder(graded_assignment, monkeypatch, settings):
    # given domain-adaptive pretraining on, and a Ctrl-C arriving at the end of the first epoch
    calls = []
    real_adapt = finetune.mlm_adapt

    def spy_adapt(**kwargs):
        calls.append(kwargs["out_dir"])
        return real_adapt(**kwargs)

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(finetune, "mlm_adapt", spy_adapt)
    monkeypatch.setattr(finetune, "_predict_normed", interrupt)
    # when fine-tuning runs
    with pytest.raises(KeyboardInterrupt):
        grading.model_train(
            assignment_id=graded_assignment.pk,
            method="finetune",
            finetune_overrides={**SMALL, "epochs": 1, "dapt_epochs": 1},
            schedule_scoring=False,
        )
    # then the adapted encoder was built, and nothing half-written is left: no artefact, no temp folder
    assert len(calls) == 1 and Path(calls[0]).name.endswith("-dapt")
    record = GradingModel.objects.get(assignment=graded_assignment)
    assert record.status == ModelStatus.FAILED and record.failure_reason == "interrupted" and not record.is_active
    root = Path(settings.EDUAI_MODEL_ROOT)
    assert not list((root / ".tmp").iterdir())
    assert not (root / f"assignment-{graded_assignment.pk}").exists()
    assert not Path(calls[0]).exists()


def test_fine_tuning_refuses_unknown_settings_before_training(graded_assignment):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="Unknown fine-tuning settings: warp"):
        grading.model_train(assignment_id=graded_assignment.pk, method="finetune", finetune_overrides={"warp": 9})
    assert not GradingModel.objects.filter(status=ModelStatus.READY).exists()


def test_hybrid_fine_tuned_model_reads_linguistic_features_when_it_scores(world, graded_assignment, settings):
    # given the graded assignment, fine-tuned with the fast scorer's linguistic features beside the text
    result = grading.model_train(
        assignment_id=graded_assignment.pk,
        method="finetune",
        finetune_overrides={**SMALL, "epochs": 2, "side_features": True},
        schedule_scoring=False,
    )
    model = GradingModel.objects.get(pk=result.model_id)
    assert model.status == ModelStatus.READY and model.hyperparameters["side_features"] is True
    folder = Path(settings.EDUAI_MODEL_ROOT) / model.artefact
    # when it is loaded and scores essays, it computes the features itself and ranks by quality
    rng = random.Random(11)
    quality = [q for q in range(7) for _ in range(2)]
    raw = FineTunedScorer.load(folder).predict([essay(q, rng) for q in quality])
    assert raw.shape == (14, 2) and spearmanr(raw[:, 0], quality).statistic > 0.6
    # and a model saved with fewer feature columns (an older version's) reads those, by name
    saved = json.loads((folder / FEATURES_FILE).read_text())
    (folder / FEATURES_FILE).write_text(json.dumps({**saved, "names": saved["names"][:-1]}))
    older = FineTunedScorer.load(folder)
    assert older.feature_names == saved["names"][:-1]
    # while one trained on a column this version does not compute is refused, not misread
    (folder / FEATURES_FILE).write_text(json.dumps({**saved, "names": [*saved["names"], "from_the_future"]}))
    with pytest.raises(ValueError, match="retrain"):
        FineTunedScorer.load(folder)


def test_early_stopping_and_the_interval_use_different_validation_essays(
    world, graded_assignment, settings, monkeypatch
):
    # given a split of the validation essays into two halves (its own rule is tested below; here
    # a fixed one, as this small assignment's 10 are below the threshold)
    monkeypatch.setattr(training, "_early_stopping_half", lambda ids: np.arange(len(ids)) % 2 == 0)
    # when a fine-tuned model is trained
    result = grading.model_train(
        assignment_id=graded_assignment.pk,
        method="finetune",
        finetune_overrides={**SMALL, "epochs": 2, "side_features": False},
        schedule_scoring=False,
    )
    model = GradingModel.objects.get(pk=result.model_id)
    hp = model.hyperparameters
    # then half of the validation essays stopped the training and the other half, never used to
    # choose an epoch, gave the QWK and the interval (and count as the model's validation essays)
    assert hp["early_stopping_essays"] == 5 and model.n_val == 5 and model.n_train == 43
    assert "kept apart from early stopping" in hp["conformal"]
    folder = Path(settings.EDUAI_MODEL_ROOT) / model.artefact
    seen = set(json.loads((folder / training.TRAIN_IDS_FILE).read_text()))
    assert len(seen) == 43 and not seen & set(hp["val_ids"])
    # and the stored validation predictions are the served model's on exactly those essays
    texts = dict(Submission.objects.filter(pk__in=hp["val_ids"]).values_list("id", "text"))
    served = FineTunedScorer.load(folder).predict([texts[i] for i in hp["val_ids"]])
    stored = np.load(folder / "val_predictions.npy")
    assert stored.shape == served.shape == (5, 2) and np.allclose(stored, served, atol=1e-5)


def test_the_early_stopping_half_is_stable_per_essay_and_only_for_enough_essays(monkeypatch):
    # an essay keeps its side when other essays come and go (an older model's held-out half
    # stays held out in a newer model's comparison)
    ids = list(range(1000, 1060))
    before = dict(zip(ids, training._early_stopping_half(ids), strict=True))
    more = [*ids[5:], *range(5000, 5030)]
    after = dict(zip(more, training._early_stopping_half(more), strict=True))
    assert all(after[i] == before[i] for i in ids[5:])
    assert 15 <= sum(before.values()) <= 45  # about half
    # below the threshold every validation essay stops the training (and calibrates)
    few = ids[: training.EARLY_STOPPING_SPLIT_FROM - 1]
    assert training._early_stopping_half(few).all()
    # and a split that would leave a side with fewer than 2 essays is not made
    monkeypatch.setattr(training, "stable_fraction", lambda i, salt="": 0.1 if i != 1000 else 0.9)
    assert training._early_stopping_half(ids).all()
