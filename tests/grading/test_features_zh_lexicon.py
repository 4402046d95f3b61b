"""Chinese vocabulary-level and word-class features, and models that read features by name."""

from __future__ import annotations

import pickle
import random

import numpy as np
import pytest

from grading.scoring import features
from grading.scoring.base import Rubric, TrainingSet
from grading.scoring.fast import ARTEFACT, FastScorer
from grading.scoring.features import FIRST_COLUMNS, feature_names, linguistic_features
from tests.grading.essays import chinese_essay

PLAIN = "我们每天都去学校上课。我们在学校学习很多东西。老师对我们很好。我们很喜欢学校。"
LITERARY = "读书须循序渐进，切忌急于求成。古人云，学而不思则罔，思而不学则殆。唯有持之以恒，方能融会贯通。"


def _column(matrix: np.ndarray, name: str) -> np.ndarray:
    return matrix[:, feature_names("zh").index(name)]


def test_lexicon_columns_tell_plain_from_literary_chinese():
    # given a plain essay of everyday words and a literary one with idioms
    rows = linguistic_features([PLAIN, LITERARY, ""], "zh")
    # then the everyday words are the more common in jieba's counts, and the idioms are seen
    assert _column(rows, "jieba_log_count_mean")[0] > _column(rows, "jieba_log_count_mean")[1]
    assert _column(rows, "jieba_rare_ratio")[1] > _column(rows, "jieba_rare_ratio")[0]
    assert _column(rows, "pos_i_ratio")[1] > 0 == _column(rows, "pos_i_ratio")[0]
    assert _column(rows, "pos_r_ratio")[0] > _column(rows, "pos_r_ratio")[1]  # 我们: pronouns
    # and an empty text is a row of zeros, as for every other column
    assert rows.shape == (3, len(feature_names("zh"))) and not rows[2].any()


def test_features_are_selected_by_name_and_an_unknown_name_is_refused():
    texts = [PLAIN, LITERARY]
    full = linguistic_features(texts, "zh")
    wanted = ["pos_i_ratio", "log_chars", "jieba_unknown_ratio"]
    picked = linguistic_features(texts, "zh", wanted)
    assert np.array_equal(picked, full[:, [feature_names("zh").index(n) for n in wanted]])
    with pytest.raises(ValueError, match="retrain"):
        linguistic_features(texts, "zh", ["log_chars", "a_feature_from_the_future"])


def _chinese_set(n: int, seed: int) -> TrainingSet:
    rng = random.Random(seed)
    pairs = [(chinese_essay(i % 3, rng), i % 3) for i in range(n)]
    return TrainingSet(
        ids=tuple(range(1, n + 1)),
        texts=tuple(t for t, _ in pairs),
        targets=np.array([[q] for _, q in pairs], dtype=float),
        rubric=Rubric(0, 2),
        language="zh",
    )


def test_a_chinese_fast_model_from_before_the_lexicon_columns_scores_as_it_did(tmp_path, monkeypatch):
    # given a Chinese fast model trained when the features were the first 24 columns only, and
    # saved as such artefacts were: without the names of its feature columns
    assert FIRST_COLUMNS["zh"] == 24 < len(feature_names("zh"))
    old_names = features.ZH_FEATURES[: FIRST_COLUMNS["zh"]]
    texts = list(_chinese_set(12, seed=7).texts)
    with monkeypatch.context() as patch:
        patch.setattr(features, "ZH_FEATURES", old_names)
        patch.setattr(features, "_chinese_lexicon_row", lambda words: [])
        FastScorer.fit(_chinese_set(36, seed=5), tmp_path)
        before = FastScorer.load(tmp_path).predict(texts)
    state = pickle.loads((tmp_path / ARTEFACT).read_bytes())
    assert list(state.pop("feature_names")) == list(old_names)
    (tmp_path / ARTEFACT).write_bytes(pickle.dumps(state))
    # when this version loads it and scores the same essays
    after = FastScorer.load(tmp_path).predict(texts)
    # then it reads its own 24 columns and gives the same scores
    assert np.allclose(after, before)


def test_a_new_chinese_fast_model_names_its_feature_columns(tmp_path):
    FastScorer.fit(_chinese_set(36, seed=5), tmp_path)
    state = pickle.loads((tmp_path / ARTEFACT).read_bytes())
    assert state["feature_names"] == list(feature_names("zh"))
