"""The fine-tuned scorer's network: learns a signal, early-stops on the best epoch, saves atomically."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import spearmanr

from eduai.inference import finetune
from eduai.inference.spec import bundled_encoder_path
from tests.grading.essays import graded_essays

pytestmark = pytest.mark.slow


def _data(n, seed):
    pairs = graded_essays(n, seed=seed, max_quality=4)
    texts = [t for t, _ in pairs]
    y = np.array([[q, min(2, q // 2)] for _, q in pairs], dtype=np.float64)
    return texts, y


def _train_tiny(out_dir, texts, y, *, base_path=None, **config):
    """One epoch at 32 tokens, the first four essays as validation, no metric: runs that test
    what is saved, not what is learnt."""
    return finetune.train_scorer(
        base_path=base_path or bundled_encoder_path(),
        texts=texts,
        targets=y,
        ranges=[(0, 4), (0, 2)][: y.shape[1]],
        val_texts=texts[:4],
        val_targets=y[:4],
        val_metric=lambda pred: 0.0,
        out_dir=out_dir,
        config=finetune.FineTuneConfig(max_length=32, epochs=1, batch_size=8, **config),
    )


def test_finetuned_network_learns_quality_and_writes_its_artefact(tmp_path):
    # given 40 short essays whose quality is controlled, with one trait head
    texts, y = _data(40, seed=1)
    val_texts, val_y = _data(15, seed=2)
    y[::3, 1] = np.nan  # some essays have no trait score: they must add no trait loss
    config = finetune.FineTuneConfig(max_length=48, epochs=3, batch_size=8, lr=1e-4, head_lr=5e-3, patience=2)
    calls = []

    def metric(pred):
        calls.append(pred.shape)
        return float(spearmanr(pred[:, 0], val_y[:, 0]).statistic)

    # when it is fine-tuned
    report = finetune.train_scorer(
        base_path=bundled_encoder_path(),
        texts=texts,
        targets=y,
        ranges=[(0, 4), (0, 2)],
        head_names=["score", "t"],
        val_texts=val_texts,
        val_targets=val_y,
        val_metric=metric,
        out_dir=tmp_path / "m",
        config=config,
    )
    # then the validation metric was computed every epoch and the best epoch kept
    history = report["history"]
    assert [h["epoch"] for h in history] == list(range(1, len(history) + 1))
    assert report["best_val_metric"] == max(h["val_metric"] for h in history)
    assert calls[0] == (15, 2)
    # and the saved model ranks unseen essays by quality
    scorer = finetune.FineTunedScorer(tmp_path / "m", precision="fp")
    test_texts, test_y = _data(21, seed=3)
    pred = scorer.predict(test_texts)
    assert pred.shape == (21, 2)
    assert spearmanr(pred[:, 0], test_y[:, 0]).statistic > 0.6
    meta = json.loads((tmp_path / "m" / finetune.ARTEFACT_FILE).read_text())
    assert meta["head_names"] == ["score", "t"] and meta["max_length"] == 48
    assert len(meta["length_stats"]) == 2  # the head reads the whole essay's log token count
    assert isinstance(report["int8_ok"], bool)
    # and it says how many training essays were longer than 48 tokens (seen as head+tail)
    assert 0.0 < report["head_tail_share"] < 1.0 and report["train_tokens_median"] > 0


def test_domain_adaptive_pretraining_writes_an_encoder_fine_tuning_starts_from(tmp_path):
    # given a few dozen unlabelled essays of a course and the bundled sentence encoder (no MLM head)
    texts = [t for t, _ in graded_essays(32, seed=5, max_quality=4)]
    # when the encoder is adapted with masked-language-model training
    report = finetune.mlm_adapt(
        base_path=bundled_encoder_path(), texts=texts, out_dir=tmp_path / "dapt", epochs=2, max_length=32, batch_size=8
    )
    # then the fresh MLM head was warmed up alone first, and the masked-token loss fell
    assert report["steps"] == 8 and report["fresh_head"] is True and report["head_only_steps"] == 2
    assert report["mlm_loss_last"] < report["mlm_loss_first"]
    # and the adapted folder is a complete encoder that differs from the base and can be fine-tuned
    from transformers import AutoModel

    adapted, info = AutoModel.from_pretrained(str(tmp_path / "dapt"), output_loading_info=True)
    base = AutoModel.from_pretrained(bundled_encoder_path())
    assert all(k.startswith("pooler.") for k in info["missing_keys"])  # unused: the scorer mean-pools
    moved = [
        name
        for (name, a), (_, b) in zip(adapted.named_parameters(), base.named_parameters(), strict=True)
        if not np.allclose(a.detach().numpy(), b.detach().numpy())
    ]
    assert any("encoder.layer" in name for name in moved)
    y = np.array([[q] for _, q in graded_essays(16, seed=6, max_quality=4)], dtype=np.float64)
    scored = [t for t, _ in graded_essays(16, seed=6, max_quality=4)]
    out = _train_tiny(tmp_path / "scorer", scored, y, base_path=str(tmp_path / "dapt"))
    assert out["best_epoch"] == 1 and (tmp_path / "scorer" / finetune.HEAD_FILE).is_file()


def test_fine_tuning_is_reproducible_with_its_seed_and_differs_with_another(tmp_path):
    # given the same 16 essays, trained three times: twice with seed 13, once with seed 14
    texts, y = _data(16, seed=8)
    preds = []
    for k, seed in enumerate([13, 13, 14]):
        _train_tiny(tmp_path / f"m{k}", texts, y, seed=seed)
        preds.append(finetune.FineTunedScorer(tmp_path / f"m{k}", precision="fp").predict(texts[:6]))
    # then the same seed gives the same model, and the seed really drives the run
    np.testing.assert_array_equal(preds[0], preds[1])
    assert not np.allclose(preds[0], preds[2])


def test_a_scorer_without_the_length_feature_still_loads_and_scores(tmp_path):
    # given a scorer trained without the length input, saved as artefacts were before it existed
    texts, y = _data(16, seed=9)
    _train_tiny(tmp_path / "m", texts, y, length_feature=False)
    meta_file = tmp_path / "m" / finetune.ARTEFACT_FILE
    meta = json.loads(meta_file.read_text())
    assert meta.pop("length_stats") is None
    meta_file.write_text(json.dumps(meta))
    # when it is loaded, then it scores with its own head width
    pred = finetune.FineTunedScorer(tmp_path / "m", precision="fp").predict(texts[:5])
    assert pred.shape == (5, 2) and np.isfinite(pred).all()


def test_training_keeps_to_its_token_budget_and_a_scorer_trained_with_features_needs_them(tmp_path):
    # given 16 essays, a per-essay feature matrix, and a budget of 64 padded tokens at 32 tokens each
    texts, y = _data(16, seed=10)
    feats = np.column_stack([np.log1p([len(t) for t in texts]), [t.count(",") for t in texts]]).astype(float)
    report = finetune.train_scorer(
        base_path=bundled_encoder_path(),
        texts=texts,
        targets=y,
        ranges=[(0, 4), (0, 2)],
        val_texts=texts[:4],
        val_targets=y[:4],
        val_metric=lambda pred: 0.0,
        out_dir=tmp_path / "m",
        features=feats,
        val_features=feats[:4],
        config=finetune.FineTuneConfig(max_length=32, epochs=1, batch_size=8, batch_tokens=64),
    )
    # then no training batch held more than 64 padded tokens (so at most 2 of these essays)
    assert report["max_batch_tokens"] <= 64 and report["steps"] >= 8
    # and the saved scorer refuses to score without the features, and scores with them
    scorer = finetune.FineTunedScorer(tmp_path / "m", precision="fp")
    assert scorer.needs_features and scorer.batch_tokens == 64
    with pytest.raises(ValueError, match="features"):
        scorer.predict(texts[:3])
    pred = scorer.predict(texts[:3], features=feats[:3])
    assert pred.shape == (3, 2) and np.isfinite(pred).all()
