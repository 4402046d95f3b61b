"""Attention-based deep knowledge tracing (the AKT / simpleKT family), trained with torch on CPU.

Training uses torch through ``eduai.inference.kt`` (the only package allowed to import torch),
imported lazily inside :meth:`DeepKT.fit`. Serving never needs torch: the fitted weights are
exported to numpy and the online update below is numpy only, so a default-queue worker
answering mastery questions does not pay torch's import time or memory.

Model (after AKT, Ghosh et al., KDD 2020, and simpleKT, Liu et al., ICLR 2023):

- Rasch-style embeddings. An item ``q`` with skills ``S`` is ``x = mean_s c_s + mu_q * mean_s d_s``
  (``mu_q`` a learned scalar difficulty per item, ``d_s`` how the skill varies with difficulty);
  an interaction adds the answer: ``y = x + mean_s e_{s,r} + mu_q * f_r``. Partial credit
  ``r`` in (0, 1) interpolates the right/wrong embeddings. Unknown items have ``mu = 0``
  (the average difficulty), unknown skills the mean skill embedding.
- A question encoder (causal self-attention over x, position i sees 0..i), a knowledge encoder
  (causal self-attention over y), and a retriever: the next item's encoded x asks the encoded
  x of earlier positions (strictly earlier) and reads their encoded y. Output: an MLP over
  [retrieved knowledge, x] -> P(correct).
- Time decay instead of positions: every head subtracts ``m_h * (i - j)`` from its attention
  scores (ALiBi, Press et al. 2022; a learned, monotonic exponential decay of attention with
  the number of responses in between, as AKT's monotonic attention intends). No absolute
  positions, so histories longer than the training windows are fine.

Online update. Everything is causal, so a student's state is the per-layer key/value cache of
their last ``window`` responses (like a transformer decoder's KV cache). A new response costs
one position through each encoder layer (O(window x d)); predicting an item or the mastery of
many skills is one query through the retriever. The cache is rebuilt from the stored history
(the last ``window`` responses) when a state is loaded, in one batched pass.

Mastery of a skill = P(correct) on an item of average difficulty (mu = 0) tagged with that
skill alone, given the student's history.

Stack (``DeepHyper.stack``): a logistic regression in the "Best-LR" family (Gervet et al. 2020)
over item and skill one-hots and the student's counters (``stack_features``), fitted on the
training students; the served logit blends it with the attention model's logit, with weights
fitted on the validation students. On the dev split (train folds 1-3, test fold 4) the
attention model alone scored 0.7790, the logistic model alone 0.7845, the blend 0.7884 (with
the recency features; 0.7827 / 0.7870 without them). Every stack feature is an O(1) counter
per skill or a single value, so a student's state is bounded by the number of skills (and, with
the trees' counters, of skill sets, at most ``SET_LIMIT``).

Boosted trees (``DeepHyper.gbm``, with the stack): gradient-boosted trees over dense features
of the same counters, the item's shrunk easiness and the skill's category (``gbm_features``),
fitted on the training students, are a third input of the blend. On the dev split the trees
alone scored 0.7940, the blend of the three 0.7956 (docs/assessment.md, round 4). Format 5 adds
the student's ability band with the item's and skills' success rates in it, and the whole skill
set as a categorical input, and refits the logistic model and the trees on the validation
students too once the blend is fitted (round 6: blend 0.7957 -> 0.7989 on the dev split). Served
by a numpy walk of the exported trees (``_Trees``): no scikit-learn at serving time.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .base import History, KnowledgeTracer, Response, check_credit

PAD = 0  # index 0 of items and skills: padding / unknown
GBM_MAX_BANDS = 32
# artefact format written by ``DeepKT.save`` (``deep.json``'s "format"): 1 = before the stacked
# logistic model (no "format" key), 2 = with it and its counts on the same item (a state that grew
# with every distinct item answered), 3 = the stack without them, 4 = with the boosted trees
# (``DeepHyper.gbm``) as a third input of the blend, 5 = the trees with more inputs (the ability
# bands and the skill set, ``DeepHyper.gbm_bands`` / ``gbm_sets``). ``load`` reads 1, 3, 4 and 5 and
# refuses 2 (its weights need counters a state no longer keeps) and newer ones.
FORMAT = 5
_REFUSED_FORMATS = {2: "its stacked logistic model needs per-item counters that states no longer keep"}


@dataclass
class DeepHyper:
    """Defaults chosen on ASSISTments 2009 (docs/assessment.md): the architecture with runs that
    trained on 25% of folds 1-3 and scored a 30% sample of fold 4 (so fold 4 is not a clean test
    set); dropout, learning rate, window and sizes by the validation AUC (10% of the training
    students) of runs training on folds 2-4. Validation AUC 0.770-0.774 for every variant tried
    (window 200, d_model 128, one question-encoder layer, lr 5e-4..2e-3): the cheapest kept."""

    d_model: int = 64
    n_heads: int = 4
    d_ff: int = 128
    n_question_layers: int = 0
    n_knowledge_layers: int = 1
    d_out: int = 128
    dropout: float = 0.2
    max_skills: int = 4  # skills per response kept (ASSISTments 2009 has at most 4)
    train_window: int = 100  # responses per training window (attention cost grows with its square)
    window: int = 400  # responses kept in the online cache
    lr: float = 1e-3
    lr_decay: float = 0.5  # after an epoch that does not beat the best: best weights, lr * this
    weight_decay: float = 0.0
    difficulty_prior_sd: float = 0.5  # Gaussian prior on the Rasch scalars (MAP)
    ease_prior: float = 5.0  # pseudo-responses at the mean shrinking each item's easiness
    # two more head inputs: the student's mean surprise (answer minus the item's expected
    # success), on the response's skills and overall, shrunk with ``ability_prior`` pseudo-
    # responses at 0: an Elo-like ability that attention (an average over the window) cannot
    # keep over the whole history. Validation AUC 0.7750 with, 0.7705 without (folds 2-4, seed
    # 0; docs/assessment.md). Off for artefacts saved before it existed (``load``).
    ability_features: bool = True
    ability_prior: float = 5.0
    # the stacked logistic model ("Best-LR", Gervet et al. 2020; docs/assessment.md): item and
    # skill one-hots, per-skill counts of right / wrong answers, counts overall, recency; fitted
    # on the training students (L2, C = ``stack_c``), then blended with the attention model's
    # logit on the held-out validation students. Off for artefacts saved
    # before it existed (format 1, ``load``).
    stack: bool = True
    stack_c: float = 1.0
    # the stacked logistic model's logit as one more input of the attention model's head (with
    # ``stack``): a learned, nonlinear blend trained on all the training students, not only the
    # linear blend on the validation ones. The training students' logits are out-of-fold
    # (``stack_folds`` folds of students), so that the head does not learn to trust a logit
    # that saw the answer it predicts. Off: on the dev split (train folds 1-3, test fold 4) the
    # head with it scored 0.7833 alone (attention without it 0.7790) but its blend with the
    # logistic model 0.7860, against 0.7870 for the plain attention model's blend with the same
    # logistic model, at 502 CPU-s of training against ~200 (five logistic fits instead of one).
    stack_in_head: bool = False
    stack_folds: int = 4
    # gradient-boosted trees (scikit-learn's HistGradientBoostingClassifier) over dense counters
    # of the student (``gbm_features``: the stack's dense features, the item's shrunk easiness,
    # the skill's category, ...) fitted on the training students, as a third input of the
    # blend (with ``stack``; without it, no trees). The item easiness the trees read for a
    # training student comes from the other ``gbm_folds`` folds of students: with only the
    # student's own answers left out (as the attention model reads it) the trees learnt the
    # leave-one-out value's tie to the answer and overfitted (fold 4, round 4: 0.7879 alone
    # against 0.7942). The number of trees (<= ``gbm_iterations``, in steps of 25) is the one
    # with the best validation AUC. Dev split (train folds 1-3, test fold 4; docs/assessment.md,
    # round 4): the trees alone 0.7940, the three blended 0.7956 through the online path against
    # 0.7881 for attention + logistic; ~30 CPU-s more training, +0.1 ms CPU p50 per update.
    # Off for artefacts of format <= 3.
    gbm: bool = True
    gbm_iterations: int = 500
    gbm_learning_rate: float = 0.05
    gbm_leaves: int = 63
    # the walk costs one step per level (``_Trees``); depth 8 scored as unbounded (16) did
    gbm_max_depth: int = 8
    gbm_min_leaf: int = 500
    gbm_folds: int = 5
    # format 5 (docs/assessment.md, round 6): more inputs of the trees, after the format-4 ones.
    # ``gbm_bands``: the students' ability (the shrunk mean surprise overall) is cut into this many
    # bands at the training rows' quantiles; the trees read the band, the item's success rate
    # among the training answers given in that band (shrunk towards the item's own rate) and
    # their log count, and the same for the response's skills (0: none of these inputs).
    # ``gbm_sets``: the response's whole set of skills as a categorical input (the 249 most
    # frequent sets of the training answers; the first skill's category only tells one of them).
    # Both tables count the training students of the other folds for a training row, as the
    # item easiness does. Off for artefacts of format <= 4.
    gbm_bands: int = 5
    gbm_sets: bool = True
    # ``gbm_counters``: eight more inputs from counters the state keeps (format 5): the recent
    # surprise (answer minus the item's expected success) on the skills (decayed by 0.7, mean
    # over the skills) and overall (0.8), the last answer's surprise; and the student's answers
    # on this exact set of skills: log1p(count), the shrunk success rate, the answers decayed by
    # 0.8, the run of right (+) or wrong (-) answers, log1p(responses since the last one).
    gbm_counters: bool = True
    # once the blend's weights are fitted on the validation students, fit the logistic model
    # and the trees (as many trees as were kept) again on the training and validation students
    # together; the blend's weights stay. Training only: the artefact is the same shape.
    stack_refit: bool = True
    batch_size: int = 64
    max_epochs: int = 30
    patience: int = 3
    # stop after the epoch that crosses either budget (the best epoch so far is kept):
    # 1500 CPU-s = 2 cores for 12.5 min, the 15-minute target with room for the last epoch
    max_train_cpu_seconds: float = 1500.0
    max_train_seconds: float = 45 * 60.0  # wall-clock safety net on a shared, busy machine
    valid_fraction: float = 0.1
    threads: int = 2

    def __post_init__(self) -> None:
        if self.gbm_bands != 0 and not 2 <= self.gbm_bands <= GBM_MAX_BANDS:
            raise ValueError(f"gbm_bands must be 0 (off) or 2 to {GBM_MAX_BANDS}, not {self.gbm_bands!r}")

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# ---------------------------------------------------------------------------------------------
# Vocabulary and encoding
# ---------------------------------------------------------------------------------------------


@dataclass
class Vocab:
    items: dict[str, int] = field(default_factory=dict)
    skills: dict[str, int] = field(default_factory=dict)
    # training responses and successes per item index (index 0: unknown item, zeros)
    item_n: np.ndarray = field(default_factory=lambda: np.zeros(1))
    item_k: np.ndarray = field(default_factory=lambda: np.zeros(1))
    base_rate: float = 0.5

    @classmethod
    def build(cls, histories: Sequence[History]) -> Vocab:
        items: dict[str, int] = {}
        skills: dict[str, int] = {}
        for h in histories:
            for r in h:
                items.setdefault(r.item, len(items) + 1)
                for k in r.skills:
                    skills.setdefault(k, len(skills) + 1)
        v = cls(items, skills)
        seen = np.zeros(len(items) + 1)
        successes = np.zeros(len(items) + 1)
        total, right = 0, 0.0
        for h in histories:
            for r in h:
                i = items[r.item]
                seen[i] += 1
                successes[i] += r.correct
                total += 1
                right += r.correct
        v.item_n, v.item_k = seen, successes
        v.base_rate = min(max(right / total, 0.01), 0.99) if total else 0.5
        return v

    def item(self, key: str) -> int:
        return self.items.get(key, PAD)

    def skill_row(self, skills: tuple[str, ...], width: int) -> np.ndarray:
        """Skill indices padded to ``width``; unknown skills are dropped, and a response left
        with no known skill gets the 'average skill' slot (index n_skills + 1)."""
        idx = [self.skills[k] for k in dict.fromkeys(skills) if k in self.skills][:width]
        if not idx:
            idx = [len(self.skills) + 1]
        return np.array(idx + [PAD] * (width - len(idx)), dtype=np.int64)

    def ease(self, n: np.ndarray, k: np.ndarray, prior: float) -> tuple[np.ndarray, np.ndarray]:
        """Empirical easiness (log-odds of success vs the mean, shrunk towards 0 with ``prior``
        pseudo-responses) and log1p(count), from counts n and successes k."""
        b = self.base_rate
        p = (k + prior * b) / (n + prior)
        return np.log(p / (1 - p)) - math.log(b / (1 - b)), np.log1p(n)


def count_features(
    wins: dict[str, float],
    n: dict[str, int],
    right: float,
    total: int,
    skills: Sequence[str],
    ability: tuple[dict[str, float], float, float] | None = None,
) -> list[float]:
    """What attention cannot count (softmax averages): log1p of the mean right / wrong answers
    on the response's skills so far, and of the student's right / wrong answers overall. With
    ``ability`` = (surprise per skill, surprise overall, prior): the shrunk mean surprise on the
    response's skills and overall (``DeepHyper.ability_features``)."""
    keys = list(dict.fromkeys(skills))
    w = sum(wins.get(k, 0.0) for k in keys) / len(keys) if keys else 0.0
    f = sum(n.get(k, 0) - wins.get(k, 0.0) for k in keys) / len(keys) if keys else 0.0
    out = [math.log1p(w), math.log1p(f), math.log1p(right), math.log1p(total - right)]
    if ability is not None:
        res, res_all, prior = ability
        on_skills = sum(res.get(k, 0.0) / (n.get(k, 0) + prior) for k in keys) / len(keys) if keys else 0.0
        out += [on_skills, res_all / (total + prior)]
    return out


N_COUNTS = 4

# ---------------------------------------------------------------------------------------------
# Stacked logistic model: features from the student's counters (O(1) to update)
# ---------------------------------------------------------------------------------------------

STACK_DECAYS = (0.5, 0.8, 0.95)  # per-skill exponentially decayed answers ("recent" windows)
OVERALL_DECAYS = (0.7, 0.9, 0.97, 0.99)  # the same over all answers
# total right / wrong, mean right / wrong on the skills, last answer on the skills and overall
# (+1 / -1), first time on these skills, decayed answers and count on the skills, decayed answers
# overall; decayed sums are scaled by (1 - decay) (a weighted mean); then recency in responses:
# log1p(responses since the last answer on any of these skills), the mean of that over the
# skills, whether the previous response had the same skills, shared one, was on the same item,
# and the current run of right (+) or wrong (-) answers on the skills (signed log1p). No counts
# on the same item: they made the state grow with every distinct item and added nothing on the
# development split (docs/assessment.md); every counter here is per skill or a single value,
# so a state is bounded by the number of skills (the trees' counters add at most SET_LIMIT skill
# sets).
N_DENSE = 7 + 2 * len(STACK_DECAYS) + len(OVERALL_DECAYS) + 6
PER_SKILL_BLOCKS = 6  # skill one-hot, log1p right, log1p wrong, log1p count, recent mean, last answer
RECENT_DECAY = 1  # the index in STACK_DECAYS (0.8) of the per-skill "recent mean" column


def _fold_counts(
    c: DeepState,
    item: str,
    skills: Sequence[str],
    credit: float,
    surprise: float | None,
    position: int,
    *,
    counters: bool = True,
) -> None:
    """Fold one response (at ``position``, 0-based) into the counters (everything but ``t``,
    which the caller advances); ``counters``: also the trees' ``gbm_counters`` ones."""
    signed = 2.0 * credit - 1.0
    keys = list(dict.fromkeys(skills))
    for k in keys:
        c.seen[k] = position
        run = c.streak.get(k, 0.0)
        c.streak[k] = run + signed if run * signed > 0 else signed
        c.n[k] = c.n.get(k, 0) + 1
        c.wins[k] = c.wins.get(k, 0.0) + credit
        c.last[k] = signed
        ema = c.ema.setdefault(k, [0.0] * (2 * len(STACK_DECAYS)))
        for j, d in enumerate(STACK_DECAYS):
            ema[2 * j] = ema[2 * j] * d + signed
            ema[2 * j + 1] = ema[2 * j + 1] * d + 1.0
        if surprise is not None:
            c.res[k] = c.res.get(k, 0.0) + surprise
    c.prev_skills, c.prev_item = keys, item
    c.right += credit
    c.last_any = signed
    if len(c.ema_all) != len(OVERALL_DECAYS):
        c.ema_all = [0.0] * len(OVERALL_DECAYS)
    c.ema_all = [e * d + signed for e, d in zip(c.ema_all, OVERALL_DECAYS, strict=True)]
    if surprise is not None:
        c.res_all += surprise
    if not counters:
        return
    if surprise is not None:
        for k in keys:
            c.sur[k] = c.sur.get(k, 0.0) * SUR_DECAY + (1.0 - SUR_DECAY) * surprise
        c.sur_all = c.sur_all * SUR_DECAY_ALL + (1.0 - SUR_DECAY_ALL) * surprise
        c.sur_last = surprise
    ks = set_key(keys)
    got = c.sets.get(ks)
    if got is None:
        if len(c.sets) >= SET_LIMIT:  # the state stays bounded: forget the set answered longest ago
            del c.sets[min(c.sets, key=lambda k: c.sets[k][5])]
        got = c.sets[ks] = [0.0] * 6
    got[0] += 1.0
    got[1] += credit
    got[2] = got[2] * SET_DECAY + signed
    got[3] = got[3] * SET_DECAY + 1.0
    got[4] = got[4] + signed if got[4] * signed > 0 else signed
    got[5] = float(position)


SUR_DECAY, SUR_DECAY_ALL, SET_DECAY = 0.7, 0.8, 0.8  # the trees' counters (DeepHyper.gbm_counters)
N_COUNTER_INPUTS = 8
# skill sets a state keeps counters for (the ones answered longest ago are forgotten first): the
# state stays bounded whatever the skill keys. ASSISTments 2009's students met at most 101 sets
# (136 in all), so none of them reaches it.
SET_LIMIT = 128


def set_key(keys: Sequence[str]) -> str:
    """The key of a response's set of skills (order and repeats do not matter), unambiguous
    whatever the skill keys contain."""
    return json.dumps(sorted(set(keys)))


def counter_features(c: DeepState, keys: Sequence[str], base_rate: float) -> list[float]:
    """The trees' ``N_COUNTER_INPUTS`` inputs from the ``gbm_counters`` counters before a
    response on the distinct skills ``keys``."""
    sur = [c.sur[k] for k in keys if k in c.sur]
    got = c.sets.get(set_key(keys))
    if got is None:
        on_set = [0.0, base_rate, 0.0, 0.0, -1.0]
    else:
        n, credit, ema, weight, run, last = got
        on_set = [math.log1p(n), (credit + 2 * base_rate) / (n + 2), ema / weight, run, math.log1p(c.t - last)]
    return [sum(sur) / len(sur) if sur else 0.0, c.sur_all, c.sur_last, *on_set]


def _stack_dense(c: DeepState, item: str | None, keys: Sequence[str]) -> list[float]:
    """The ``N_DENSE`` dense features of the stacked logistic model (also the boosted trees'
    first inputs) before a response on the distinct skills ``keys``."""
    m = max(len(keys), 1)
    dense = [
        math.log1p(c.right),
        math.log1p(c.t - c.right),
        sum(math.log1p(c.wins.get(k, 0.0)) for k in keys) / m,
        sum(math.log1p(c.n.get(k, 0) - c.wins.get(k, 0.0)) for k in keys) / m,
        sum(c.last.get(k, 0.0) for k in keys) / m,
        c.last_any,
        float(all(c.n.get(k, 0) == 0 for k in keys)),
    ]
    zero = [0.0] * (2 * len(STACK_DECAYS))
    for j in range(2 * len(STACK_DECAYS)):
        dense.append(sum(c.ema.get(k, zero)[j] for k in keys) / m * (1.0 - STACK_DECAYS[j // 2]))
    dense += [e * (1.0 - d) for e, d in zip(c.ema_all or [0.0] * len(OVERALL_DECAYS), OVERALL_DECAYS, strict=True)]
    seen = [c.seen[k] for k in keys if k in c.seen]
    run = sum(c.streak.get(k, 0.0) for k in keys) / m
    dense += [
        math.log1p(c.t - max(seen)) if seen else 0.0,
        math.log1p(sum(c.t - c.seen[k] for k in keys if k in c.seen) / m),
        float(bool(c.prev_skills) and set(keys) == set(c.prev_skills)),
        float(bool(set(keys) & set(c.prev_skills))),
        float(item is not None and item == c.prev_item),
        math.copysign(math.log1p(abs(run)), run),
    ]
    return dense


def stack_features(
    c: DeepState, vocab: Vocab, q: int, item: str | None, skills: Sequence[str], dense: list[float] | None = None
) -> tuple[list[int], list[float]]:
    """Sparse row (columns, values) of the stacked logistic model before this response. Columns:
    item one-hot | per skill (``PER_SKILL_BLOCKS`` blocks): one-hot / |skills|, log1p(right) /
    |skills|, log1p(wrong) / |skills|, log1p(count) / |skills|, mean of the answers decayed by
    0.8 (+1 / -1), last answer | ``N_DENSE`` dense features (``dense``: already computed by a
    caller that also feeds them to the trees)."""
    ni, ns = len(vocab.items) + 1, len(vocab.skills) + 2
    keys = list(dict.fromkeys(skills))
    known = [(k, vocab.skills[k]) for k in keys if k in vocab.skills]
    cols: list[int] = []
    vals: list[float] = []
    if q != PAD:
        cols.append(q)
        vals.append(1.0)
    r = 2 * RECENT_DECAY
    for k, j in known:
        w, n = c.wins.get(k, 0.0), c.n.get(k, 0)
        ema = c.ema.get(k)
        cols += [ni + b * ns + j for b in range(PER_SKILL_BLOCKS)]
        vals += [
            1.0 / len(known),
            math.log1p(w) / len(known),
            math.log1p(n - w) / len(known),
            math.log1p(n) / len(known),
            ema[r] / ema[r + 1] if ema else 0.0,
            c.last.get(k, 0.0),
        ]
    if dense is None:
        dense = _stack_dense(c, item, keys)
    base = ni + PER_SKILL_BLOCKS * ns
    for j, v in enumerate(dense):
        if v:
            cols.append(base + j)
            vals.append(v)
    return cols, vals


def stack_width(vocab: Vocab) -> int:
    return len(vocab.items) + 1 + PER_SKILL_BLOCKS * (len(vocab.skills) + 2) + N_DENSE


def _stack_matrix(histories: Sequence[History], vocab: Vocab) -> tuple[Any, np.ndarray]:
    """CSR matrix of ``stack_features`` rows (each response from the earlier ones) and credits."""
    from scipy import sparse

    indptr, cols, vals, y = [0], [], [], []
    for h in histories:
        cnt = DeepState()
        for r in h:
            c, v = stack_features(cnt, vocab, vocab.item(r.item), r.item, r.skills)
            cols += c
            vals += v
            indptr.append(len(cols))
            y.append(r.correct)
            _fold_counts(cnt, r.item, r.skills, r.correct, None, cnt.t, counters=False)
            cnt.t += 1
    shape = (len(y), stack_width(vocab))
    return sparse.csr_matrix((vals, cols, indptr), shape=shape), np.asarray(y, dtype=float)


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    yb = (y >= 0.5).astype(int)
    return float(roc_auc_score(yb, p)) if len(set(yb.tolist())) == 2 else float("nan")


def _credit_rows(X: Any, credit: np.ndarray) -> tuple[Any, np.ndarray, np.ndarray]:
    """(rows, labels, sample weights) for a classifier on credits in [0, 1]: a partial credit
    is a right answer with weight ``credit`` plus a wrong one with weight ``1 - credit``.
    Raises ValueError when the weighted answers are all right or all wrong."""
    from scipy import sparse

    frac = (credit > 0) & (credit < 1)
    y = (credit >= 0.5).astype(int)
    weight = np.ones(len(credit))
    if frac.any():
        X = sparse.vstack([X, X[frac]]) if sparse.issparse(X) else np.vstack([X, X[frac]])
        y = np.concatenate([np.where(frac, 1, y), np.zeros(int(frac.sum()), dtype=int)])
        weight = np.concatenate([np.where(frac, credit, 1.0), 1.0 - credit[frac]])
    if len(set(y[weight > 0].tolist())) < 2:
        raise ValueError("one class only")
    return X, y, weight


def _fit_logistic(X: Any, credit: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    """L2 logistic regression on credits in [0, 1]: a partial credit is a right answer with
    weight ``credit`` plus a wrong one with weight ``1 - credit``. Returns (coef, intercept)."""
    from sklearn.linear_model import LogisticRegression

    X, y, weight = _credit_rows(X, credit)
    lr = LogisticRegression(C=c, max_iter=2000).fit(X, y, sample_weight=weight)
    return lr.coef_[0].astype(np.float64), float(lr.intercept_[0])


# ---------------------------------------------------------------------------------------------
# Boosted trees over the student's counters (DeepHyper.gbm)
# ---------------------------------------------------------------------------------------------

# inputs: the stack's N_DENSE dense features, then GBM_EXTRA more read from the same counters,
# then the category of the response's first skill (GBM_SKILL, the trees' one categorical input)
GBM_EXTRA = 15
GBM_SKILL = N_DENSE + GBM_EXTRA
N_GBM = GBM_SKILL + 1
# HistGradientBoosting's categorical values must lie below its max_bins (255): the most
# frequent skills keep a category each, the rest (and no / unknown skill) share category 0
GBM_CATEGORIES = 250
GBM_EVAL_EVERY = 25  # iterations between validation AUCs when choosing how many trees to keep


def gbm_features(
    c: DeepState,
    item: str | None,
    keys: Sequence[str],
    ease: float,
    log_count: float,
    category: int,
    *,
    ability_prior: float,
    base_rate: float,
    dense: list[float] | None = None,
) -> list[float]:
    """The boosted trees' inputs before a response on the distinct skills ``keys`` (``N_GBM``
    values): the stack's dense features; the position in the history, the number of skills, the
    item's shrunk easiness and log1p(training answers) (``Vocab.ease``); the shrunk mean
    surprise overall and on the skills (zeros without ``ability_features``); the success
    rates on the skills and overall (shrunk with two answers at the base rate); the mean over
    the skills of the answers decayed by 0.8, 0.5 and 0.95; log1p(responses since the skills'
    last answers), min and max over the skills (-1 on none); log1p(answers on the skills), min
    and max; the skill category. All from counters the state keeps: O(1) per answer."""
    t = c.t
    m = max(len(keys), 1)
    ema = [c.ema[k] for k in keys if k in c.ema]

    def recent(j: int) -> float:
        return sum(e[2 * j] / e[2 * j + 1] for e in ema) / len(ema) if ema else 0.0

    since = [t - c.seen[k] for k in keys if k in c.seen]
    counts = [c.n.get(k, 0) for k in keys] or [0]
    return [
        *(_stack_dense(c, item, keys) if dense is None else dense),
        float(t),
        float(len(keys)),
        ease,
        log_count,
        c.res_all / (t + ability_prior),
        sum(c.res.get(k, 0.0) / (c.n.get(k, 0) + ability_prior) for k in keys) / m,
        sum((c.wins.get(k, 0.0) + 2 * base_rate) / (c.n.get(k, 0) + 2) for k in keys) / m,
        (c.right + 2 * base_rate) / (t + 2),
        recent(1),
        recent(0),
        recent(2),
        math.log1p(min(since)) if since else -1.0,
        math.log1p(max(since)) if since else -1.0,
        math.log1p(min(counts)),
        math.log1p(max(counts)),
        float(category),
    ]


def _skill_categories(histories: Sequence[History], vocab: Vocab) -> np.ndarray:
    """Category of each skill index for the trees (0: rare, unknown or no skill)."""
    n = np.zeros(len(vocab.skills) + 2)
    for h in histories:
        for r in h:
            for k in r.skills:
                if k in vocab.skills:
                    n[vocab.skills[k]] += 1
    order = [int(j) for j in np.argsort(-n, kind="stable") if n[j] > 0][: GBM_CATEGORIES - 1]
    cat = np.zeros(len(n), dtype=np.int64)
    cat[order] = np.arange(1, len(order) + 1)
    return cat


def _category(vocab: Vocab, skill_cat: np.ndarray, keys: Sequence[str]) -> int:
    for k in keys:
        if k in vocab.skills:
            return int(skill_cat[vocab.skills[k]])
    return 0


def _gbm_matrix(
    histories: Sequence[History],
    vocab: Vocab,
    skill_cat: np.ndarray,
    eases: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    ability_prior: float,
    ability: bool,
    counters: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """``gbm_features`` rows of every response (each from the earlier ones) and the credits,
    with ``counters`` the ``counter_features`` after them. ``eases``: per student, the easiness
    and log count of each response's item, as the trees see them (out-of-fold for the training
    students); the surprise folded into the ability counters uses the same easiness (``ability``
    off: no ability counters, zeros, as a model without ``ability_features`` keeps none)."""
    base = math.log(vocab.base_rate / (1 - vocab.base_rate))
    rows: list[list[float]] = []
    y: list[float] = []
    for h, (e, lc) in zip(histories, eases, strict=True):
        cnt = DeepState()
        for t, r in enumerate(h):
            keys = list(dict.fromkeys(r.skills))
            cat = _category(vocab, skill_cat, keys)
            rows.append(
                gbm_features(
                    cnt,
                    r.item,
                    keys,
                    float(e[t]),
                    float(lc[t]),
                    cat,
                    ability_prior=ability_prior,
                    base_rate=vocab.base_rate,
                )
            )
            if counters:
                rows[-1] += counter_features(cnt, keys, vocab.base_rate)
            y.append(r.correct)
            surprise = r.correct - 1.0 / (1.0 + math.exp(-(float(e[t]) + base))) if ability else None
            _fold_counts(cnt, r.item, r.skills, r.correct, surprise, t, counters=counters)
            cnt.t += 1
    width = N_GBM + (N_COUNTER_INPUTS if counters else 0)
    return np.asarray(rows, dtype=np.float64).reshape(-1, width), np.asarray(y, dtype=float)


def _item_ease(
    vocab: Vocab, q: np.ndarray, n: np.ndarray, k: np.ndarray, prior: float
) -> tuple[np.ndarray, np.ndarray]:
    """Easiness and log count of items ``q`` from answer counts ``n`` and successes ``k`` (per
    item index); zeros for unknown items, as the online path reads them."""
    e, lc = vocab.ease(n[q], k[q], prior)
    e[q == PAD], lc[q == PAD] = 0.0, 0.0
    return e, lc


# format 5: more inputs of the trees after the format-4 ones (a format-4 forest reads only its
# first N_GBM columns): with ``gbm_bands`` the band and four band inputs, with ``gbm_sets`` the
# skill set's category (last, the trees' second categorical input)
GBM_ABILITY = N_DENSE + 4  # gbm_features' shrunk mean surprise overall: the column the bands cut
GBM_BAND_INPUTS = 5


def gbm_width(hp: DeepHyper) -> int:
    """How many inputs the trees of a model with these hyperparameters read."""
    counters = N_COUNTER_INPUTS if hp.gbm_counters else 0
    return N_GBM + counters + (GBM_BAND_INPUTS if hp.gbm_bands else 0) + (1 if hp.gbm_sets else 0)


def _logit(p: np.ndarray | float) -> np.ndarray:
    return np.log(np.asarray(p) / (1.0 - np.asarray(p)))


@dataclass
class _GbmTables:
    """What the trees' format-5 inputs read besides the student's counters: the cut points of the
    ability bands, the training answers and credit per (item, band) and per (skill, band), and
    the skill sets that have a category."""

    cuts: np.ndarray  # [bands - 1]
    item_band: np.ndarray  # [n_items + 1, bands, 2]: answers, credit
    skill_band: np.ndarray  # [n_skills + 2, bands, 2]
    sets: dict[tuple[int, ...], int]  # sorted skill indices -> category 1..; any other set 0

    KEYS = ("band_cuts", "item_band", "skill_band", "set_rows")

    def arrays(self) -> dict[str, np.ndarray]:
        width = max((len(k) for k in self.sets), default=1)
        rows = np.full((len(self.sets), width), -1, dtype=np.int64)
        for key, cat in self.sets.items():
            rows[cat - 1, : len(key)] = key
        return {"band_cuts": self.cuts, "item_band": self.item_band, "skill_band": self.skill_band, "set_rows": rows}

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray]) -> _GbmTables:
        sets = {tuple(int(j) for j in row if j >= 0): i + 1 for i, row in enumerate(a["set_rows"].astype(np.int64))}
        return cls(
            a["band_cuts"].astype(np.float64),
            a["item_band"].astype(np.float64),
            a["skill_band"].astype(np.float64),
            sets,
        )

    @classmethod
    def empty(cls, vocab: Vocab, hp: DeepHyper) -> _GbmTables:
        bands = max(hp.gbm_bands, 1)
        return cls(
            np.zeros(bands - 1),
            np.zeros((len(vocab.items) + 1, bands, 2)),
            np.zeros((len(vocab.skills) + 2, bands, 2)),
            {},
        )


def _skill_indices(srow: np.ndarray) -> tuple[int, ...]:
    """A response's skill set as sorted skill indices (a ``Vocab.skill_row`` without padding)."""
    return tuple(sorted(int(j) for j in srow if j != PAD))


def _set_categories(S: np.ndarray) -> dict[tuple[int, ...], int]:
    """Categories 1..GBM_CATEGORIES - 1 of the most frequent skill sets among rows ``S``."""
    counts = Counter(_skill_indices(row) for row in S)
    order = sorted(counts, key=lambda k: (-counts[k], k))[: GBM_CATEGORIES - 1]
    return {k: i + 1 for i, k in enumerate(order)}


def _band_counts(
    q: np.ndarray, S: np.ndarray, band: np.ndarray, credit: np.ndarray, n_items: int, n_skills: int, bands: int
) -> tuple[np.ndarray, np.ndarray]:
    """Answers and credit per (item, band) and per (skill, band) of rows (q, S, band, credit)."""
    ib = np.zeros((n_items, bands, 2))
    np.add.at(ib[:, :, 0], (q, band), 1.0)
    np.add.at(ib[:, :, 1], (q, band), credit)
    sb = np.zeros((n_skills, bands, 2))
    for j in range(S.shape[1]):
        m = S[:, j] != PAD
        np.add.at(sb[:, :, 0], (S[m, j], band[m]), 1.0)
        np.add.at(sb[:, :, 1], (S[m, j], band[m]), credit[m])
    return ib, sb


def _band_rates(
    tables: _GbmTables,
    hp: DeepHyper,
    item_n: np.ndarray,
    item_k: np.ndarray,
    base_rate: float,
    leave_out: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The band inputs per (item, band) and per (skill, band), [rows, bands] each: the item's
    success rate among the answers given in the band, shrunk with ``ease_prior`` answers towards
    its rate over all bands (``item_n`` / ``item_k``: the counts the rows' item easiness came
    from), as a log-odds difference, and log1p(answers in the band); the skill's rate in the band
    shrunk towards the base rate, as a log-odds difference from it, and log1p(answers).
    ``leave_out``: the (item, band) and (skill, band) counts of a fold of training students, taken
    out of the tables for that fold's rows. The unknown item and the padding skill read zeros."""
    ib, sb = tables.item_band, tables.skill_band
    if leave_out is not None:
        ib, sb = ib - leave_out[0], sb - leave_out[1]
    prior = hp.ease_prior
    p_item = ((item_k + prior * base_rate) / (item_n + prior))[:, None]
    item_ease = _logit((ib[..., 1] + prior * p_item) / (ib[..., 0] + prior)) - _logit(p_item)
    item_logc = np.log1p(ib[..., 0])
    skill_ease = _logit((sb[..., 1] + prior * base_rate) / (sb[..., 0] + prior)) - _logit(base_rate)
    skill_logc = np.log1p(sb[..., 0])
    for a in (item_ease, item_logc, skill_ease, skill_logc):
        a[PAD] = 0.0
    return item_ease, item_logc, skill_ease, skill_logc


def _gbm_more(
    X: np.ndarray,
    q: np.ndarray,
    S: np.ndarray,
    hp: DeepHyper,
    tables: _GbmTables,
    rates: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None,
) -> np.ndarray:
    """Rows ``X`` (``gbm_features``, N_GBM columns) with the format-5 inputs appended, for items
    ``q`` and skill rows ``S`` (``Vocab.skill_row``): with ``gbm_bands`` the band of the row's
    ability and the band inputs (``rates``, from ``_band_rates``; the skills' averaged over the
    row's skills), with ``gbm_sets`` the skill set's category."""
    cols: list[np.ndarray] = []
    if hp.gbm_bands and rates is not None:
        item_ease, item_logc, skill_ease, skill_logc = rates
        band = np.searchsorted(tables.cuts, X[:, GBM_ABILITY])
        per_skill = band[:, None]
        m = np.maximum((S != PAD).sum(1), 1)
        cols += [
            band.astype(np.float64),
            item_ease[q, band],
            item_logc[q, band],
            skill_ease[S, per_skill].sum(1) / m,
            skill_logc[S, per_skill].sum(1) / m,
        ]
    if hp.gbm_sets:
        cols.append(np.array([tables.sets.get(_skill_indices(row), 0) for row in S], dtype=np.float64))
    return np.column_stack([X, *cols]) if cols else X


class _Trees:
    """The boosted trees in flat arrays (``export``) and their numpy evaluation: serving needs
    neither scikit-learn nor a pickle. Every tree is walked for every row at once, one level per
    step (``DeepHyper.gbm_max_depth`` steps at most); a leaf points to itself (threshold +inf),
    so rows that reached one stay there. A categorical split is turned into a numeric one on a
    column of its own (1 when the row's category goes right), computed for all such splits in
    one lookup per call: each step is then the same few gathers for every node (a step with
    the categorical splits apart cost twice as much: 217 against ~100 us a call at depth 16)."""

    KEYS = ("feature", "threshold", "left", "right", "value", "cat", "cat_left", "roots", "base")

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        feature = arrays["feature"].astype(np.int64)
        threshold = arrays["threshold"].astype(np.float64)
        left = arrays["left"].astype(np.int64)
        right = arrays["right"].astype(np.int64)
        cat = arrays["cat"].astype(np.int64)  # row of ``cat_left`` for a categorical split, -1 if none
        self.value = arrays["value"].astype(np.float64)
        self.roots = arrays["roots"].astype(np.int64)
        self.base = float(arrays["base"][0])
        # the walk reads [one column per categorical split (1.0: the row's category goes
        # right), the row's own columns]; the splits' columns come grouped by the feature they
        # split on, so that each categorical feature's are one row lookup in a [256, splits] table
        cat_right = ~arrays["cat_left"].astype(bool).reshape(-1, 256)
        split = np.flatnonzero(cat >= 0)
        split_feature = np.zeros(len(cat_right), dtype=np.int64)
        split_feature[cat[split]] = feature[split]
        order = np.argsort(split_feature, kind="stable")  # column of table j: position of j in order
        column = np.empty(len(cat_right), dtype=np.int64)
        column[order] = np.arange(len(cat_right))
        self.cat_tables = [
            (int(f), np.ascontiguousarray(cat_right[order[split_feature[order] == f]].T, dtype=np.float64))
            for f in np.unique(split_feature)
        ]
        self.feature = feature + len(cat_right)
        self.feature[split] = column[cat[split]]
        self.threshold = threshold.copy()
        self.threshold[split] = 0.5
        # children of node i at 2i (left, x <= threshold) and 2i + 1 (right)
        self.child = np.stack([left, right], axis=1).reshape(-1)
        depth = np.zeros(len(feature), dtype=np.int64)
        for i in range(len(feature)):  # children come after their parent in sklearn's node order
            if left[i] != i:
                depth[left[i]] = depth[right[i]] = depth[i] + 1
        self.depth = int(depth.max()) if len(depth) else 0  # steps enough for every row to reach a leaf

    @classmethod
    def export(cls, est: Any, n_trees: int) -> dict[str, np.ndarray]:
        """Flat arrays of the first ``n_trees`` trees of a fitted binary
        ``HistGradientBoostingClassifier``, reading its private parts (``_predictors``' node
        records and category bitsets, ``_preprocessor``): ``tests/assessment/test_kt_deep.py``
        and ``DeepKT._fit_gbm`` check the result against ``decision_function``.

        With categorical inputs scikit-learn's trees see preprocessed rows: the categorical
        columns first (ordinal-encoded: a category's code is its rank among those seen in
        training, an unseen one is a missing value), then the numeric ones. The arrays here
        read the original row: feature indices are mapped back, and each categorical split
        becomes a table over the raw categories 0..255."""
        cat_mask = est.is_categorical_
        is_cat = np.zeros(est.n_features_in_, bool) if cat_mask is None else np.asarray(cat_mask, bool)
        if is_cat.any():
            order = np.r_[np.flatnonzero(is_cat), np.flatnonzero(~is_cat)]
            seen = est._preprocessor.named_transformers_["encoder"].categories_
            categories = {
                int(f): np.asarray(c, dtype=np.float64) for f, c in zip(np.flatnonzero(is_cat), seen, strict=True)
            }
        else:
            order, categories = np.arange(est.n_features_in_), {}
        raw = np.arange(256, dtype=np.float64)
        parts: dict[str, list[np.ndarray]] = {k: [] for k in ("feature", "threshold", "left", "right", "value", "cat")}
        tables: list[np.ndarray] = []
        roots: list[int] = []
        offset = 0
        for (tree,) in est._predictors[:n_trees]:
            nodes = tree.nodes
            leaf = nodes["is_leaf"].astype(bool)
            idx = np.arange(len(nodes)) + offset
            feature = np.where(leaf, 0, order[nodes["feature_idx"].astype(np.int64)])
            roots.append(offset)
            parts["feature"].append(feature)
            parts["threshold"].append(np.where(leaf, np.inf, nodes["num_threshold"]))
            parts["left"].append(np.where(leaf, idx, nodes["left"].astype(np.int64) + offset))
            parts["right"].append(np.where(leaf, idx, nodes["right"].astype(np.int64) + offset))
            parts["value"].append(nodes["value"].astype(np.float64))
            cat = np.full(len(nodes), -1, dtype=np.int64)
            for i in np.flatnonzero(nodes["is_categorical"].astype(bool) & ~leaf):
                seen_values = categories[int(feature[i])]
                code = np.searchsorted(seen_values, raw).clip(0, max(len(seen_values) - 1, 0))
                known = seen_values[code] == raw if len(seen_values) else np.zeros(256, bool)
                bits = tree.raw_left_cat_bitsets[nodes["bitset_idx"][i]]
                in_left = ((bits[code // 32] >> (code % 32).astype(np.uint32)) & 1).astype(bool)
                cat[i] = len(tables)
                tables.append(np.where(known, in_left, bool(nodes["missing_go_to_left"][i])))
            parts["cat"].append(cat)
            offset += len(nodes)
        out = {k: np.concatenate(v) if v else np.zeros(0) for k, v in parts.items()}
        out["cat_left"] = np.array(tables, dtype=np.uint8).reshape(-1, 256)
        out["roots"] = np.array(roots, dtype=np.int64)
        out["base"] = np.array([float(np.ravel(est._baseline_prediction)[0])])
        return out

    def decision(self, X: np.ndarray) -> np.ndarray:
        """The trees' logit for each row of X [m, N_GBM]."""
        m = X.shape[0]
        if not len(self.roots):
            return np.full(m, self.base)
        if self.cat_tables:
            parts = [table[np.clip(X[:, f], 0, 255).astype(np.int64)] for f, table in self.cat_tables]
            X = np.concatenate([*parts, X], axis=1)
        node = np.broadcast_to(self.roots, (m, len(self.roots)))
        rows = np.arange(m)[:, None]
        for _ in range(self.depth):
            node = self.child[2 * node + (X[rows, self.feature[node]] > self.threshold[node])]
        return self.value[node].sum(1) + self.base


def _check_forest_inputs(w: dict[str, np.ndarray], hp: DeepHyper) -> None:
    """Refuse trees that read inputs the hyperparameters do not give them (an artefact whose
    hyperparameters and trees disagree would otherwise serve wrong probabilities silently)."""
    feature = w["stack.gbm.feature"].astype(np.int64)
    split = np.isfinite(w["stack.gbm.threshold"])
    width = gbm_width(hp)
    categorical = {GBM_SKILL} | ({width - 1} if hp.gbm_sets else set())
    read = set(feature[split].tolist())
    wrong = read - set(range(width)) or set(feature[split & (w["stack.gbm.cat"] >= 0)].tolist()) - categorical
    if wrong:
        raise ValueError(
            f"the deep KT trees read inputs {sorted(wrong)} that this model's {width} inputs do not give "
            "(its hyperparameters do not match its trees): retrain the model (manage.py train_kt)"
        )


def _empty_trees(vocab: Vocab, hp: DeepHyper) -> dict[str, np.ndarray]:
    """A forest of no trees (its logit is 0): what is stored when the trees cannot be fitted."""
    out = {k: np.zeros(0) for k in _Trees.KEYS}
    out.update({"cat_left": np.zeros((0, 256), dtype=np.uint8), "base": np.zeros(1)})
    out["skill_cat"] = np.zeros(len(vocab.skills) + 2, dtype=np.int64)
    if hp.gbm_bands or hp.gbm_sets:
        out.update(_GbmTables.empty(vocab, hp).arrays())
    return out


def _encode(
    h: History, vocab: Vocab, width: int, prior: float, *, leave_out_self: bool, ability_prior: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Arrays of one student. ``leave_out_self``: item easiness computed without this student's
    own answers (a training student's outcome must not leak into its own input). Counts are
    over the whole history before each response (not reset at training-window edges)."""
    q = np.array([vocab.item(r.item) for r in h], dtype=np.int64)
    s = np.stack([vocab.skill_row(r.skills, width) for r in h]) if h else np.zeros((0, width), np.int64)
    c = np.array([r.correct for r in h], dtype=np.float32)
    n, k = vocab.item_n, vocab.item_k
    if leave_out_self and len(q):
        n = n - np.bincount(q, minlength=len(vocab.item_n))
        k = k - np.bincount(q, weights=c, minlength=len(vocab.item_n))
    e, lc = _item_ease(vocab, q, n, k, prior)
    counts = np.zeros((len(h), N_COUNTS + (2 if ability_prior is not None else 0)), dtype=np.float32)
    # surprise = answer - the item's expected success (the same easiness the model sees)
    base = math.log(vocab.base_rate / (1 - vocab.base_rate))
    surprise = c - 1.0 / (1.0 + np.exp(-(e + base)))
    cnt = DeepState()
    for t, r in enumerate(h):
        ability = (cnt.res, cnt.res_all, ability_prior) if ability_prior is not None else None
        counts[t] = count_features(cnt.wins, cnt.n, cnt.right, t, r.skills, ability)
        _fold_counts(cnt, r.item, r.skills, r.correct, float(surprise[t]), t, counters=False)
        cnt.t += 1
    return q, s, c, e.astype(np.float32), lc.astype(np.float32), counts


def _with_column(
    enc: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], column: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One student's encoded arrays with ``column`` appended to the head's count inputs."""
    q, s, c, e, lc, counts = enc
    return (q, s, c, e, lc, np.concatenate([counts, np.asarray(column, dtype=np.float32)[:, None]], axis=1))


# ---------------------------------------------------------------------------------------------
# numpy forward (serving)
# ---------------------------------------------------------------------------------------------


def _ln(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


class _Layer:
    """numpy mirror of one attention layer (shared Q/K projection, post-LN as in AKT)."""

    def __init__(self, w: dict[str, np.ndarray], prefix: str, n_heads: int) -> None:
        g = lambda n: w[f"{prefix}.{n}"]  # noqa: E731
        self.wk, self.bk = g("k.weight").T.copy(), g("k.bias")
        self.wv, self.bv = g("v.weight").T.copy(), g("v.bias")
        self.wo, self.bo = g("o.weight").T.copy(), g("o.bias")
        self.ln1 = (g("ln1.weight"), g("ln1.bias"))
        self.ln2 = (g("ln2.weight"), g("ln2.bias"))
        self.f1, self.fb1 = g("ff1.weight").T.copy(), g("ff1.bias")
        self.f2, self.fb2 = g("ff2.weight").T.copy(), g("ff2.bias")
        self.slope = np.log1p(np.exp(g("decay")))  # softplus, per head
        self.bonus = g("skill_bonus")
        self.h = n_heads
        self.dk = self.wk.shape[1] // n_heads

    def keys(self, x: np.ndarray) -> np.ndarray:
        return x @ self.wk + self.bk

    def values(self, x: np.ndarray) -> np.ndarray:
        return x @ self.wv + self.bv

    def scores_bias(self, dist: np.ndarray, overlap: np.ndarray) -> np.ndarray:
        """[h, m, n] additive bias: time decay and same-skill bonus."""
        return -self.slope[:, None, None] * dist[None] + self.bonus[:, None, None] * overlap[None]

    def attend(
        self, q_in: np.ndarray, K: np.ndarray, V: np.ndarray, dist: np.ndarray, overlap: np.ndarray
    ) -> np.ndarray:
        """q_in [m, d] attends to K, V [n, d] at distances dist [m, n] (>= 0); n may be 0."""
        m = q_in.shape[0]
        if K.shape[0] == 0:
            # nothing to attend to (a student's first response): zero context, as in training
            a = np.broadcast_to(self.bo, q_in.shape)
        else:
            Q = self.keys(q_in).reshape(m, self.h, self.dk).transpose(1, 0, 2)
            Kh = K.reshape(-1, self.h, self.dk).transpose(1, 0, 2)
            Vh = V.reshape(-1, self.h, self.dk).transpose(1, 0, 2)
            scores = Q @ Kh.transpose(0, 2, 1) / math.sqrt(self.dk) + self.scores_bias(dist, overlap)
            a = (_softmax(scores) @ Vh).transpose(1, 0, 2).reshape(m, -1) @ self.wo + self.bo
        z = _ln(q_in + a, *self.ln1)
        return _ln(z + np.maximum(z @ self.f1 + self.fb1, 0.0) @ self.f2 + self.fb2, *self.ln2)


class _KVCache:
    """The per-response rows the online update keeps for the last ``window`` responses:
    positions, skill rows, per encoder layer the K and V of its inputs, the retriever's keys
    and values. Each lives in a buffer with spare rows; the live rows are ``[start, end)``.

    An answer writes one row at ``end`` in every buffer (O(d) each) and eviction moves
    ``start`` (no copy). Only when a buffer has no room left at its end are the live rows
    copied, once, to the top of new buffers (twice as big while the state is young). With
    ``spare`` rows beyond the window that happens once every ``spare`` answers at a full
    window. Before, the caches grew by ``np.concatenate`` and were sliced on eviction: a copy
    of every layer's whole window on every answer (docs/assessment.md, "Service path").

    Rows are only ever written past ``end``, never under a view handed out before (new
    buffers rather than moving rows down in place). That is what makes ``fork`` free: the
    service updates a fork of a cached state (``DeepKT.state_fork``) and publishes it after its
    commit, while readers (``live_states`` shares cached states read-only) go on with the old
    one, whose live rows no later append touches.
    """

    __slots__ = ("cap", "end", "k", "limit", "pos", "q", "r", "srows", "start")

    def __init__(self, d: int, width: int, n_q: int, n_k: int, limit: int) -> None:
        self.start = self.end = self.cap = 0
        self.limit = limit  # capacity the buffers stop growing at (window + spare)
        self.pos = np.zeros(0, dtype=np.int64)
        self.srows = np.zeros((0, width), dtype=np.int64)
        self.q = [(np.zeros((0, d)), np.zeros((0, d))) for _ in range(n_q)]
        self.k = [(np.zeros((0, d)), np.zeros((0, d))) for _ in range(n_k)]
        self.r = (np.zeros((0, d)), np.zeros((0, d)))

    def __len__(self) -> int:
        return self.end - self.start

    def live(self, buf: np.ndarray) -> np.ndarray:
        """The live rows of ``buf``: a view (contiguous rows), never a copy."""
        return buf[self.start : self.end]

    def buffers(self) -> list[np.ndarray]:
        out: list[np.ndarray] = [self.pos, self.srows]
        for K, V in (*self.q, *self.k, self.r):
            out += [K, V]
        return out

    def _set_buffers(self, bufs: list[np.ndarray]) -> None:
        self.pos, self.srows = bufs[0], bufs[1]
        pairs = [(bufs[i], bufs[i + 1]) for i in range(2, len(bufs), 2)]
        n_q = len(self.q)
        self.q, self.k, self.r = pairs[:n_q], pairs[n_q : n_q + len(self.k)], pairs[-1]

    def reserve(self, n: int) -> None:
        """Make room for ``n`` more rows after ``end``."""
        if self.end + n <= self.cap:
            return
        live = self.end - self.start
        need = live + n
        # double while young (a student with 10 answers does not hold window-sized buffers),
        # never past ``limit`` unless one batch needs more (a rebuild of a whole window)
        cap = max(need, min(max(2 * need, 16), self.limit))
        bufs = []
        for b in self.buffers():
            nb = np.empty((cap, *b.shape[1:]), dtype=b.dtype)
            nb[:live] = b[self.start : self.end]
            bufs.append(nb)
        self._set_buffers(bufs)
        self.cap = cap
        self.start, self.end = 0, live

    def drop(self, k: int) -> None:
        """Forget the ``k`` oldest live rows."""
        self.start += min(k, self.end - self.start)

    def fork(self) -> _KVCache:
        """A cache with the same live rows that shares this one's buffers (no copy).

        Safe because rows are only ever written past ``end`` and a full buffer is replaced,
        never moved in place: the fork's appends land past this cache's live rows, which stay
        as they are for anyone reading them."""
        twin = _KVCache.__new__(_KVCache)
        twin.start, twin.end, twin.cap, twin.limit = self.start, self.end, self.cap, self.limit
        twin.pos, twin.srows, twin.q, twin.k, twin.r = self.pos, self.srows, list(self.q), list(self.k), self.r
        return twin


@dataclass
class DeepState:
    """KV caches of the last ``window`` responses plus the raw responses to rebuild them."""

    t: int = 0  # responses folded in so far (absolute position of the next one)
    # the cached rows of the last ``window`` responses; read them through the views below
    kv: _KVCache = field(default_factory=lambda: _KVCache(0, 1, 0, 0, 0))

    @property
    def pos(self) -> np.ndarray:
        """Absolute position of each cached response."""
        return self.kv.live(self.kv.pos)

    @property
    def srows(self) -> np.ndarray:
        """Skill indices of each cached response (padded rows)."""
        return self.kv.live(self.kv.srows)

    @property
    def q_cache(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per question-encoder layer: (K, V) of that layer's inputs."""
        return [(self.kv.live(K), self.kv.live(V)) for K, V in self.kv.q]

    @property
    def k_cache(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per knowledge-encoder layer: (K, V) of that layer's inputs."""
        return [(self.kv.live(K), self.kv.live(V)) for K, V in self.kv.k]

    @property
    def r_keys(self) -> np.ndarray:
        """The retriever's keys (from the question encoder's outputs)."""
        return self.kv.live(self.kv.r[0])

    @property
    def r_vals(self) -> np.ndarray:
        """The retriever's values (from the knowledge encoder's outputs)."""
        return self.kv.live(self.kv.r[1])

    recent: list[tuple[str, tuple[str, ...], float]] = field(default_factory=list)
    n: dict[str, int] = field(default_factory=dict)  # responses per skill, whole history
    wins: dict[str, float] = field(default_factory=dict)  # credit per skill, whole history
    right: float = 0.0  # credit overall, whole history
    res: dict[str, float] = field(default_factory=dict)  # surprise per skill (ability_features)
    res_all: float = 0.0  # surprise overall
    # the stacked logistic model's counters (DeepHyper.stack), all O(1) to update
    last: dict[str, float] = field(default_factory=dict)  # skill -> last answer, +1 / -1
    last_any: float = 0.0
    ema: dict[str, list[float]] = field(default_factory=dict)  # skill -> decayed [answers, count] per decay
    ema_all: list[float] = field(default_factory=list)  # decayed answers overall, per decay
    seen: dict[str, int] = field(default_factory=dict)  # skill -> position of its last answer
    streak: dict[str, float] = field(default_factory=dict)  # skill -> run of right (+) / wrong (-)
    prev_skills: list[str] = field(default_factory=list)  # the previous response's skills
    prev_item: str | None = None
    # the trees' counters (DeepHyper.gbm_counters): recent surprise per skill, overall, the last
    # answer's; per exact skill set (``set_key``): [answers, credit, decayed answers, decayed
    # count, run, position of the last answer]
    sur: dict[str, float] = field(default_factory=dict)
    sur_all: float = 0.0
    sur_last: float = 0.0
    sets: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class _GbmFit:
    """The trees as fitted by ``DeepKT._fit_gbm`` and what ``DeepKT._refit`` needs."""

    arrays: dict[str, np.ndarray]  # ``_Trees`` arrays, the skill categories, the format-5 tables
    z_valid: np.ndarray  # their logits on the validation students
    X: np.ndarray  # the training rows' inputs
    credit: np.ndarray
    X_valid: np.ndarray
    credit_valid: np.ndarray
    n_trees: int


def _skill_rows(histories: Sequence[History], vocab: Vocab, width: int) -> np.ndarray:
    """``Vocab.skill_row`` of every response, [responses, width]."""
    rows = [vocab.skill_row(r.skills, width) for h in histories for r in h]
    return np.stack(rows) if rows else np.zeros((0, width), dtype=np.int64)


def _threads(n: int) -> Any:
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=n)


def _export_checked(est: Any, n_trees: int, X: np.ndarray) -> dict[str, np.ndarray]:
    """The first ``n_trees`` trees of ``est`` as ``_Trees`` arrays. The export reads
    scikit-learn's private tree records: a version that changed them must fail here, at
    training, not serve wrong probabilities."""
    arrays = _Trees.export(est, n_trees)
    some = X[:: max(1, len(X) // 500)]
    expected = list(est.staged_decision_function(some))[n_trees - 1]
    if not np.allclose(_Trees(arrays).decision(some), expected, atol=1e-6):
        raise RuntimeError("the boosted trees exported from this scikit-learn version do not predict what it does")
    return arrays


class DeepKT(KnowledgeTracer):
    method: ClassVar[str] = "deep"

    def __init__(self, hyper: DeepHyper | None = None) -> None:
        self.hyper = hyper or DeepHyper()
        self.vocab = Vocab()
        self.weights: dict[str, np.ndarray] = {}
        self._compiled = False

    def hyperparameters(self) -> dict[str, Any]:
        return self.hyper.as_dict()

    # ---- fitting (torch) --------------------------------------------------------------------
    def fit(self, train: Sequence[History], *, valid: Sequence[History] | None = None, seed: int = 0) -> dict[str, Any]:
        from eduai.inference import kt as deep_torch

        hp = self.hyper
        rng = np.random.default_rng(seed)
        train = [h for h in train if len(h)]
        if valid is None:
            order = rng.permutation(len(train))
            n_valid = max(1, round(len(train) * hp.valid_fraction)) if len(train) > 1 else 0
            valid = [train[i] for i in order[:n_valid]]
            train = [train[i] for i in order[n_valid:]]
        if not train:
            raise ValueError("cannot train the deep model on an empty history")
        if hp.stack_in_head and not hp.stack:
            raise ValueError("stack_in_head needs the stacked logistic model (stack)")
        self.vocab = Vocab.build(train)
        ab = hp.ability_prior if hp.ability_features else None
        enc_train = [
            _encode(h, self.vocab, hp.max_skills, hp.ease_prior, leave_out_self=True, ability_prior=ab) for h in train
        ]
        enc_valid = [
            _encode(h, self.vocab, hp.max_skills, hp.ease_prior, leave_out_self=False, ability_prior=ab)
            for h in valid
            if len(h)
        ]
        t0 = time.perf_counter()
        valid = [h for h in valid if len(h)]
        c0 = time.process_time()
        fitted = self._fit_logistic_stack(train) if hp.stack else None
        if hp.stack_in_head:
            oof = self._out_of_fold_logits(train, rng) if fitted is not None else [np.zeros(len(h)) for h in train]
            enc_train = [_with_column(e, z) for e, z in zip(enc_train, oof, strict=True)]
            enc_valid = [_with_column(e, z) for e, z in zip(enc_valid, self._stack_logits(valid, fitted), strict=True)]
        gbm: _GbmFit | None = None
        if hp.gbm and fitted is not None:
            gbm, gbm_info = self._fit_gbm(train, valid, rng, seed)
        stack_cpu = time.process_time() - c0  # its rows, the sparse logistic fit(s), the trees
        weights, info = deep_torch.train(
            enc_train,
            enc_valid,
            n_items=len(self.vocab.items),
            n_skills=len(self.vocab.skills),
            hyper=hp,
            seed=seed,
            base_rate=self.vocab.base_rate,
        )
        if hp.stack:
            info.update(
                self._fit_stack(weights, fitted, valid, enc_valid, None if gbm is None else (gbm.arrays, gbm.z_valid))
            )
            if gbm is not None:
                info.update(gbm_info)
            if hp.stack_refit and "blend_valid_auc" in info:  # the blend was fitted on the validation students
                refit = self._refit(weights, train, valid, gbm, seed)
                info.update(refit)
                info["stack_cpu_seconds"] = info.get("stack_cpu_seconds", 0.0) + refit.get(
                    "stack_refit_cpu_seconds", 0.0
                )
            # the whole stack: the logistic fit above (and the out-of-fold fits of
            # stack_in_head) plus the blend
            info["stack_cpu_seconds"] = stack_cpu + info.get("stack_cpu_seconds", 0.0)
        self.weights = weights
        self._compile()
        info.update(
            {
                "n_train_students": len(train),
                "n_train_responses": int(sum(len(h) for h in train)),
                "n_valid_students": len(enc_valid),
                "n_items": len(self.vocab.items),
                "n_skills": len(self.vocab.skills),
                "seconds": time.perf_counter() - t0,
            }
        )
        return info

    def _fit_logistic_stack(self, train: Sequence[History]) -> tuple[np.ndarray, float] | None:
        """The stacked logistic model fitted on the training students: (coef, intercept), or
        None when every training answer is right (or every one wrong): nothing to stack."""
        X, y = _stack_matrix(train, self.vocab)
        try:
            return _fit_logistic(X, y, self.hyper.stack_c)
        except ValueError:
            return None

    def _stack_logits(self, histories: Sequence[History], fitted: tuple[np.ndarray, float] | None) -> list[np.ndarray]:
        """The stacked logistic model's logit for every response, per student (zeros without one)."""
        if fitted is None or not histories:
            return [np.zeros(len(h)) for h in histories]
        w, b = fitted
        X, _ = _stack_matrix(histories, self.vocab)
        return np.split(X @ w + b, np.cumsum([len(h) for h in histories])[:-1])

    def _out_of_fold_logits(self, train: Sequence[History], rng: np.random.Generator) -> list[np.ndarray]:
        """Each training student's logistic logits from a model fitted without that student
        (``stack_folds`` folds of students; one fold alone: its logits are zeros)."""
        k = max(2, self.hyper.stack_folds)
        fold = rng.permutation(len(train)) % k
        out: list[np.ndarray] = [np.zeros(0)] * len(train)
        for f in range(k):
            inside = [i for i in range(len(train)) if fold[i] == f]
            fitted = self._fit_logistic_stack([train[i] for i in range(len(train)) if fold[i] != f])
            for i, z in zip(inside, self._stack_logits([train[i] for i in inside], fitted), strict=True):
                out[i] = z
        return out

    def _fit_gbm(
        self, train: Sequence[History], valid: Sequence[History], rng: np.random.Generator, seed: int
    ) -> tuple[_GbmFit | None, dict[str, Any]]:
        """The boosted trees fitted on the training students (their ``_Trees`` arrays with the
        skill categories and the format-5 tables, their logits on the validation students, and
        what a refit needs), or None when every training answer is right (or every one wrong)."""
        hp, v = self.hyper, self.vocab
        t0 = time.process_time()
        skill_cat = _skill_categories(train, v)
        k = max(2, hp.gbm_folds)
        fold = rng.permutation(len(train)) % k
        qs = [np.array([v.item(r.item) for r in h], dtype=np.int64) for h in train]
        fold_n = np.zeros((k, len(v.item_n)))
        fold_k = np.zeros((k, len(v.item_n)))
        for h, q, f in zip(train, qs, fold, strict=True):
            np.add.at(fold_n[f], q, 1.0)
            np.add.at(fold_k[f], q, [r.correct for r in h])
        eases = [
            _item_ease(v, q, v.item_n - fold_n[f], v.item_k - fold_k[f], hp.ease_prior)
            for q, f in zip(qs, fold, strict=True)
        ]

        def matrix(histories: Sequence[History], eases: Sequence[tuple[np.ndarray, np.ndarray]]) -> Any:
            return _gbm_matrix(
                histories,
                v,
                skill_cat,
                eases,
                ability_prior=hp.ability_prior,
                ability=hp.ability_features,
                counters=hp.gbm_counters,
            )

        X, credit = matrix(train, eases)
        q_all = np.concatenate(qs)
        S = _skill_rows(train, v, hp.max_skills)
        row_fold = np.repeat(fold, [len(h) for h in train])
        tables, per_fold = self._fit_gbm_tables(X, q_all, S, credit, row_fold, k)
        if tables is not None:
            wide = np.empty((len(X), gbm_width(hp)))
            for f in range(k):  # each fold's rows read the tables with that fold's own counts left out
                rows = row_fold == f
                rates = None
                if hp.gbm_bands:
                    n_f, k_f = v.item_n - fold_n[f], v.item_k - fold_k[f]
                    rates = _band_rates(tables, hp, n_f, k_f, v.base_rate, per_fold[f])
                wide[rows] = _gbm_more(X[rows], q_all[rows], S[rows], hp, tables, rates)
            X = wide
        Xv, credit_v = np.zeros((0, X.shape[1])), np.zeros(0)
        if valid:
            # every item's easiness from all training answers, once, read per student
            ease, logc = _item_ease(v, np.arange(len(v.item_n)), v.item_n, v.item_k, hp.ease_prior)
            items = [np.array([v.item(r.item) for r in h], dtype=np.int64) for h in valid]
            full = [(ease[q], logc[q]) for q in items]
            Xv, credit_v = matrix(valid, full)
            if tables is not None:
                rates = _band_rates(tables, hp, v.item_n, v.item_k, v.base_rate) if hp.gbm_bands else None
                Xv = _gbm_more(Xv, np.concatenate(items), _skill_rows(valid, v, hp.max_skills), hp, tables, rates)
        try:
            rows, y, weight = _credit_rows(X, credit)
        except ValueError:  # every answer right (or every one wrong): nothing to learn
            return None, {}
        est = self._gbm_estimator(hp.gbm_iterations, seed)
        with _threads(hp.threads):  # OpenMP threads of the trees, as torch's
            est.fit(rows, y, sample_weight=weight)
            n_trees, best, z_valid = est.n_iter_, float("nan"), np.zeros(0)
            if valid:
                yv = credit_v
                for i, z in enumerate(est.staged_decision_function(Xv), start=1):
                    if i % GBM_EVAL_EVERY == 0 or i == est.n_iter_:
                        a = _auc(yv, z)
                        if not a <= best:  # the first AUC, then a better one (nan: one class, all trees)
                            best, n_trees, z_valid = a, i, z
        arrays = _export_checked(est, n_trees, X)
        arrays["skill_cat"] = skill_cat
        if tables is not None:
            arrays.update(tables.arrays())
        info = {"gbm_trees": int(n_trees), "gbm_valid_auc": best, "gbm_cpu_seconds": time.process_time() - t0}
        return _GbmFit(arrays, z_valid, X, credit, Xv, credit_v, int(n_trees)), info

    def _fit_gbm_tables(
        self, X: np.ndarray, q: np.ndarray, S: np.ndarray, credit: np.ndarray, row_fold: np.ndarray, k: int
    ) -> tuple[_GbmTables | None, list[tuple[np.ndarray, np.ndarray]]]:
        """The format-5 tables from the training rows (None when neither input is on), and each
        fold's own (item, band) and (skill, band) counts, which its rows leave out."""
        hp, v = self.hyper, self.vocab
        if not (hp.gbm_bands or hp.gbm_sets):
            return None, []
        tables = _GbmTables.empty(v, hp)
        per_fold: list[tuple[np.ndarray, np.ndarray]] = []
        if hp.gbm_bands:
            tables.cuts = np.quantile(X[:, GBM_ABILITY], np.arange(1, hp.gbm_bands) / hp.gbm_bands)
            band = np.searchsorted(tables.cuts, X[:, GBM_ABILITY])
            n_i, n_s = len(v.items) + 1, len(v.skills) + 2
            for f in range(k):
                r = row_fold == f
                per_fold.append(_band_counts(q[r], S[r], band[r], credit[r], n_i, n_s, hp.gbm_bands))
            tables.item_band = np.sum([ib for ib, _ in per_fold], axis=0)
            tables.skill_band = np.sum([sb for _, sb in per_fold], axis=0)
        if hp.gbm_sets:
            tables.sets = _set_categories(S)
        return tables, per_fold

    def _gbm_estimator(self, iterations: int, seed: int) -> Any:
        from sklearn.ensemble import HistGradientBoostingClassifier

        hp = self.hyper
        return HistGradientBoostingClassifier(
            learning_rate=hp.gbm_learning_rate,
            max_iter=iterations,
            max_leaf_nodes=hp.gbm_leaves,
            max_depth=hp.gbm_max_depth,
            min_samples_leaf=hp.gbm_min_leaf,
            l2_regularization=1.0,
            # the first skill's category, and with gbm_sets the skill set's (the last input)
            categorical_features=[GBM_SKILL] + ([gbm_width(hp) - 1] if hp.gbm_sets else []),
            early_stopping=False,
            random_state=seed,
        )

    def _refit(
        self,
        weights: dict[str, np.ndarray],
        train: Sequence[History],
        valid: Sequence[History],
        gbm: _GbmFit | None,
        seed: int,
    ) -> dict[str, Any]:
        """``stack_refit``: the logistic model and the trees (as many as were kept) fitted again on
        the training and validation students together, once the blend's weights are fitted on
        the validation students; the blend's weights stay. The validation rows keep the inputs
        they had (item easiness and band tables from the training students only, which never
        counted them)."""
        hp = self.hyper
        t0 = time.process_time()
        fitted = self._fit_logistic_stack([*train, *valid])
        if fitted is None:
            return {}
        weights["stack.w"], weights["stack.b"] = fitted[0], np.array([fitted[1]])
        if gbm is not None and len(gbm.X_valid):
            X = np.concatenate([gbm.X, gbm.X_valid])
            rows, y, weight = _credit_rows(X, np.concatenate([gbm.credit, gbm.credit_valid]))
            est = self._gbm_estimator(gbm.n_trees, seed)
            with _threads(hp.threads):
                est.fit(rows, y, sample_weight=weight)
            keep = {k: a for k, a in gbm.arrays.items() if k not in _Trees.KEYS}
            weights.update({f"stack.gbm.{k}": a for k, a in {**_export_checked(est, gbm.n_trees, X), **keep}.items()})
        return {"stack_refit_cpu_seconds": time.process_time() - t0}

    def _fit_stack(
        self,
        weights: dict[str, np.ndarray],
        fitted: tuple[np.ndarray, float] | None,
        valid: Sequence[History],
        enc_valid: list[Any],
        gbm: tuple[dict[str, np.ndarray], np.ndarray] | None = None,
    ) -> dict[str, Any]:
        """Blend the stacked logistic model (``fitted`` on the training students) and, with
        ``hyper.gbm``, the boosted trees (``gbm``: their arrays and validation logits) with the
        attention model's logit on the validation students (none of the models saw them). Adds
        the ``stack.*`` arrays to ``weights``; the blend's weights are (attention, logistic[,
        trees], intercept). Trees that could not be fitted are an empty forest weighted 0."""
        from eduai.inference import kt as deep_torch

        hp = self.hyper
        t0 = time.process_time()
        out: dict[str, Any] = {}
        parts = 3 if hp.gbm else 2  # the blended logits
        if hp.gbm:
            arrays = gbm[0] if gbm is not None else _empty_trees(self.vocab, hp)
            weights.update({f"stack.gbm.{k}": a for k, a in arrays.items()})
        if fitted is None:  # every training answer right (or every one wrong): nothing to stack
            w, b = np.zeros(stack_width(self.vocab)), 0.0
            blend = np.array([1.0] + [0.0] * parts)
            weights["stack.w"], weights["stack.b"], weights["stack.blend"] = w, np.array([b]), blend
            out["stack_blend"] = blend.tolist()
            return out
        w, b = fitted
        weights["stack.w"], weights["stack.b"] = w, np.array([b])
        # no usable validation students: the plain average (of the models there are)
        blend = np.array([1.0 / parts] * parts + [0.0])
        if hp.gbm and gbm is None:
            blend = np.array([0.5, 0.5, 0.0, 0.0])
        valid = [h for h in valid if len(h)]
        if valid:
            deep = np.concatenate(
                deep_torch.predict_logits(
                    weights,
                    enc_valid,
                    n_items=len(self.vocab.items),
                    n_skills=len(self.vocab.skills),
                    hyper=hp,
                    window=hp.window,
                )
            )
            Xv, yv = _stack_matrix(valid, self.vocab)
            lr = Xv @ w + b
            cols = [deep, lr]
            if gbm is not None:
                cols.append(gbm[1])
            try:
                coef, a0 = _fit_logistic(np.column_stack(cols), yv, 100.0)
                blend = np.array([*coef, a0])
                if hp.gbm and gbm is None:
                    blend = np.array([coef[0], coef[1], 0.0, a0])
            except ValueError:  # one class only among the validation answers
                pass
            else:
                out["stack_valid_auc"] = _auc(yv, lr)
                out["blend_valid_auc"] = _auc(yv, np.column_stack(cols) @ blend[: len(cols)] + blend[-1])
        weights["stack.blend"] = blend
        out["stack_blend"] = blend.tolist()
        out["stack_cpu_seconds"] = time.process_time() - t0
        return out

    def encode(self, histories: Sequence[History]) -> list[Any]:
        """The torch net's inputs for whole histories (as a validation student's: item easiness
        from every training answer), with the stacked logistic logit where the head takes it."""
        hp = self.hyper
        ab = hp.ability_prior if hp.ability_features else None
        enc = [
            _encode(h, self.vocab, hp.max_skills, hp.ease_prior, leave_out_self=False, ability_prior=ab)
            for h in histories
        ]
        if hp.stack and hp.stack_in_head:
            fitted = (self.weights["stack.w"], float(self.weights["stack.b"][0]))
            enc = [_with_column(e, z) for e, z in zip(enc, self._stack_logits(histories, fitted), strict=True)]
        return enc

    # ---- serving (numpy) --------------------------------------------------------------------
    def _compile(self) -> None:
        w = self.weights
        hp = self.hyper
        self._skill = w["skill.weight"].copy()
        self._svar = w["skill_var.weight"].copy()
        self._resp = w["resp.weight"].copy()  # [(n_skills + 2) * 2, d]
        n_rows = self._skill.shape[0]
        # the 'average skill' slot (last row) is the mean of the real skills
        real = slice(1, n_rows - 1)
        if n_rows > 2:
            self._skill[-1] = self._skill[real].mean(0)
            self._svar[-1] = self._svar[real].mean(0)
            r = self._resp.reshape(n_rows, 2, -1)
            r[-1] = r[real].mean(0)
            self._resp = r.reshape(n_rows * 2, -1)
        self._diff = w["difficulty.weight"][:, 0].copy()
        self._diff[PAD] = 0.0
        every = np.arange(len(self.vocab.item_n))
        self._ease, self._logc = _item_ease(self.vocab, every, self.vocab.item_n, self.vocab.item_k, hp.ease_prior)
        self._ease_weight = float(w["ease_weight"])
        self._ease_vec, self._res_vec = w["ease_vec"], w["res_vec"]
        self._base_logit = float(w["base_logit"])
        self._rvar = w["resp_var.weight"]
        self._q_layers = [_Layer(w, f"q_layers.{i}", hp.n_heads) for i in range(hp.n_question_layers)]
        self._k_layers = [_Layer(w, f"k_layers.{i}", hp.n_heads) for i in range(hp.n_knowledge_layers)]
        self._retriever = _Layer(w, "retriever", hp.n_heads)
        self._out = [(w[f"out.{i}.weight"].T.copy(), w[f"out.{i}.bias"]) for i in (0, 3, 6)]
        self._stack: tuple[np.ndarray, float, np.ndarray] | None = None
        self._trees: _Trees | None = None
        self._gbm_tables: _GbmTables | None = None
        self._band_rates: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
        if hp.stack:
            needed = ["stack.w", "stack.b", "stack.blend"]
            if hp.gbm:
                needed += [f"stack.gbm.{k}" for k in (*_Trees.KEYS, "skill_cat")]
                if hp.gbm_bands or hp.gbm_sets:
                    needed += [f"stack.gbm.{k}" for k in _GbmTables.KEYS]
            missing = [k for k in needed if k not in w]
            if missing:
                raise ValueError(f"deep KT weights lack {', '.join(missing)} although hyper.stack is on")
            if len(w["stack.w"]) != stack_width(self.vocab):
                raise ValueError(
                    f"stack weights have {len(w['stack.w'])} columns, the vocabulary needs {stack_width(self.vocab)}"
                )
            a = np.asarray(w["stack.blend"], dtype=np.float64)
            if len(a) != (4 if hp.gbm else 3):
                raise ValueError(f"the stack's blend has {len(a)} weights, expected {4 if hp.gbm else 3}")
            self._stack = (w["stack.w"], float(w["stack.b"][0]), a)
            if hp.gbm:
                self._trees = _Trees({k: w[f"stack.gbm.{k}"] for k in _Trees.KEYS})
                _check_forest_inputs(w, hp)
                self._skill_cat = w["stack.gbm.skill_cat"].astype(np.int64)
                if hp.gbm_bands or hp.gbm_sets:
                    self._gbm_tables = _GbmTables.from_arrays({k: w[f"stack.gbm.{k}"] for k in _GbmTables.KEYS})
                    if hp.gbm_bands:  # every (item, band) and (skill, band) input, once
                        v = self.vocab
                        self._band_rates = _band_rates(self._gbm_tables, hp, v.item_n, v.item_k, v.base_rate)
        self._compiled = True

    def _x(self, q: np.ndarray, s: np.ndarray) -> np.ndarray:
        mask = (s != PAD)[..., None]
        cnt = mask.sum(-2)
        mu = self._diff[q][..., None]
        x = (self._skill[s] * mask).sum(-2) / cnt + mu * (self._svar[s] * mask).sum(-2) / cnt
        return x + self._ease[q][..., None] * self._ease_vec

    def _y(self, x: np.ndarray, q: np.ndarray, s: np.ndarray, c: np.ndarray) -> np.ndarray:
        mask = (s != PAD)[..., None]
        cnt = mask.sum(-2)
        cc = c[..., None]
        right = (self._resp[s * 2 + 1] * mask).sum(-2) / cnt
        wrong = (self._resp[s * 2] * mask).sum(-2) / cnt
        rv = cc * self._rvar[1] + (1 - cc) * self._rvar[0]
        residual = (c - 1.0 / (1.0 + np.exp(-(self._ease[q] + self._base_logit))))[..., None]
        return x + cc * right + (1 - cc) * wrong + self._diff[q][..., None] * rv + residual * self._res_vec

    def _head(self, h: np.ndarray, x: np.ndarray, q: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """The attention model's logit (before the stack's blend)."""
        e, lc = self._ease[q], self._logc[q]
        z = np.concatenate([h, x, e[..., None], lc[..., None], counts], axis=-1)
        (w0, b0), (w1, b1), (w2, b2) = self._out
        z = np.maximum(z @ w0 + b0, 0.0)
        z = np.maximum(z @ w1 + b1, 0.0)
        return (z @ w2 + b2)[..., 0] + self._ease_weight * e

    def new_state(self) -> DeepState:
        hp = self.hyper
        # spare rows: half a window. A full state holds 1.5 windows of rows (d_model 64, one
        # knowledge layer: ~1.25 MB instead of ~0.85 MB) and copies them once per 200 answers
        spare = max(hp.window // 2, 1)
        kv = _KVCache(hp.d_model, hp.max_skills, len(self._q_layers), len(self._k_layers), hp.window + spare)
        return DeepState(kv=kv)

    def _encode_query(self, state: DeepState, x: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Question-encoder output for candidate rows x [m, d] at position state.t (not cached).

        Each candidate sees the cached past and itself, never the other candidates, so asking
        for the mastery of 50 skills at once gives the same numbers as asking one by one.
        """
        if not self._q_layers:
            return x
        dist = np.broadcast_to((state.t - state.pos).astype(float), (x.shape[0], len(state.pos)))
        overlap = _overlap(s, state.srows)
        own_overlap = (s != PAD).any(-1).astype(float)  # a skill set overlaps itself fully
        for layer, (K, V) in zip(self._q_layers, state.q_cache, strict=True):
            m = x.shape[0]
            h, dk = layer.h, layer.dk
            Q = layer.keys(x).reshape(m, h, dk).transpose(1, 0, 2)  # [h, m, dk]
            Vs = layer.values(x).reshape(m, h, dk).transpose(1, 0, 2)
            Kh = K.reshape(-1, h, dk).transpose(1, 0, 2)
            Vh = V.reshape(-1, h, dk).transpose(1, 0, 2)
            past = Q @ Kh.transpose(0, 2, 1) / math.sqrt(dk) + layer.scores_bias(dist, overlap)
            # shared Q/K projection: the candidate's own key is its query; distance 0
            own = (Q * Q).sum(-1, keepdims=True) / math.sqrt(dk) + layer.bonus[:, None, None] * own_overlap[
                None, :, None
            ]
            w = _softmax(np.concatenate([past, own], axis=-1))
            a = w[..., :-1] @ Vh + w[..., -1:] * Vs
            a = a.transpose(1, 0, 2).reshape(m, -1) @ layer.wo + layer.bo
            z = _ln(x + a, *layer.ln1)
            x = _ln(z + np.maximum(z @ layer.f1 + layer.fb1, 0.0) @ layer.f2 + layer.fb2, *layer.ln2)
        return x

    def _retrieve(self, state: DeepState, xq: np.ndarray, s: np.ndarray) -> np.ndarray:
        pos = state.pos
        dist = np.broadcast_to((state.t - pos).astype(float), (xq.shape[0], len(pos)))
        return self._retriever.attend(xq, state.r_keys, state.r_vals, dist, _overlap(s, state.srows))

    def _probabilities(
        self,
        state: DeepState,
        q: np.ndarray,
        s: np.ndarray,
        keys: Sequence[Sequence[str]],
        items: Sequence[str | None],
    ) -> np.ndarray:
        x = self._x(q, s)
        xq = self._encode_query(state, x, s)
        ability = (state.res, state.res_all, self.hyper.ability_prior) if self.hyper.ability_features else None
        counts = np.array([count_features(state.wins, state.n, state.right, state.t, k, ability) for k in keys])
        if self._stack is None:
            return 1.0 / (1.0 + np.exp(-self._head(self._retrieve(state, xq, s), x, q, counts)))
        w, b, blend = self._stack
        lr = np.empty(len(q))
        # the dense features feed the logistic model and the trees: computed once per query
        dense_rows: list[list[float]] = []
        for i, (qi, item, sk) in enumerate(zip(q.tolist(), items, keys, strict=True)):
            dense_rows.append(_stack_dense(state, item, list(dict.fromkeys(sk))))
            cols, vals = stack_features(state, self.vocab, qi, item, sk, dense=dense_rows[-1])
            lr[i] = b + float(w[cols] @ np.asarray(vals)) if cols else b
        if self.hyper.stack_in_head:
            counts = np.concatenate([counts, lr[:, None]], axis=1)
        logit = blend[0] * self._head(self._retrieve(state, xq, s), x, q, counts) + blend[1] * lr + blend[-1]
        if self._trees is not None:
            logit = logit + blend[2] * self._trees.decision(self._gbm_rows(state, q, s, items, keys, dense_rows))
        return 1.0 / (1.0 + np.exp(-logit))

    def _gbm_rows(
        self,
        state: DeepState,
        q: np.ndarray,
        s: np.ndarray,
        items: Sequence[str | None],
        keys: Sequence[Sequence[str]],
        dense_rows: Sequence[list[float] | None] | None = None,
    ) -> np.ndarray:
        """The boosted trees' inputs of each query (item easiness from every training answer;
        ``s``: the queries' skill rows; ``dense_rows``: each query's ``_stack_dense`` if the
        caller has them, as the logistic model read them)."""
        hp = self.hyper
        rows = []
        dense_of = dense_rows if dense_rows is not None else [None] * len(q)
        for qi, item, sk, dense in zip(q.tolist(), items, keys, dense_of, strict=True):
            ks = list(dict.fromkeys(sk))
            cat = _category(self.vocab, self._skill_cat, ks)
            rows.append(
                gbm_features(
                    state,
                    item,
                    ks,
                    float(self._ease[qi]),
                    float(self._logc[qi]),
                    cat,
                    ability_prior=hp.ability_prior,
                    base_rate=self.vocab.base_rate,
                    dense=dense,
                )
            )
            if hp.gbm_counters:
                rows[-1] += counter_features(state, ks, self.vocab.base_rate)
        X = np.asarray(rows, dtype=np.float64).reshape(-1, N_GBM + (N_COUNTER_INPUTS if hp.gbm_counters else 0))
        if self._gbm_tables is None:
            return X
        return _gbm_more(X, q, s, hp, self._gbm_tables, self._band_rates)

    def predict(self, state: DeepState, item: str, skills: tuple[str, ...]) -> float:
        q = np.array([self.vocab.item(item)])
        s = self.vocab.skill_row(skills, self.hyper.max_skills)[None]
        return float(self._probabilities(state, q, s, [skills], [item])[0])

    def predict_many(self, state: DeepState, queries: Sequence[tuple[str, tuple[str, ...]]]) -> list[float]:
        # one pass for all candidates: each sees the cached past and itself, never the others
        if not queries:
            return []
        width = self.hyper.max_skills
        q = np.array([self.vocab.item(item) for item, _ in queries])
        s = np.stack([self.vocab.skill_row(skills, width) for _, skills in queries])
        p = self._probabilities(state, q, s, [skills for _, skills in queries], [item for item, _ in queries])
        return [float(v) for v in p]

    def update(self, state: DeepState, response: Response) -> None:
        credit = check_credit(response.correct)
        q = np.array([self.vocab.item(response.item)])
        s = self.vocab.skill_row(response.skills, self.hyper.max_skills)[None]
        self._append(state, q, s, np.array([credit]))
        state.recent.append((response.item, tuple(response.skills), credit))
        surprise = self._surprise(int(q[0]), credit)
        # _append has advanced state.t past this response
        _fold_counts(
            state, response.item, response.skills, credit, surprise, state.t - 1, counters=self.hyper.gbm_counters
        )
        excess = len(state.recent) - self.hyper.window
        if excess > 0:
            self._evict(state, excess)

    def _surprise(self, q: int, credit: float) -> float | None:
        """The answer minus item ``q``'s expected success (the easiness the model sees), which the
        ability counters add up; None without ``ability_features`` (no such counters)."""
        if not self.hyper.ability_features:
            return None
        return credit - 1.0 / (1.0 + math.exp(-(float(self._ease[q]) + self._base_logit)))

    def _append(self, state: DeepState, q: np.ndarray, s: np.ndarray, c: np.ndarray) -> None:
        """Fold responses (one, or a batch when rebuilding) in at positions t, t+1, ...

        The new rows are written after the live ones in the cache's buffers and become live
        only at the end (``kv.end``): a failure half-way leaves the state as it was."""
        n = len(q)
        x = self._x(q, s)
        y = self._y(x, q, s, c)
        kv = state.kv
        kv.reserve(n)
        lo, hi = kv.end, kv.end + n
        rows = slice(kv.start, hi)  # the live rows and the new ones
        new_pos = state.t + np.arange(n)
        kv.pos[lo:hi] = new_pos
        kv.srows[lo:hi] = s
        # row i of the new block sees every cached position and new positions <= i
        dist = new_pos[:, None] - kv.pos[rows][None, :]
        overlap = _overlap(s, kv.srows[rows])
        causal = None
        if n == 1:
            big = dist.astype(float)  # one new row: every position is at or before it
        else:
            causal = dist >= 0
            big = np.where(causal, dist, 0).astype(float)

        def run(layers: list[_Layer], cache: list[tuple[np.ndarray, np.ndarray]], h: np.ndarray) -> np.ndarray:
            for layer, (K, V) in zip(layers, cache, strict=True):
                K[lo:hi] = layer.keys(h)
                V[lo:hi] = layer.values(h)
                if causal is None:
                    h = layer.attend(h, K[rows], V[rows], big, overlap)
                else:
                    h = _masked_attend(layer, h, K[rows], V[rows], big, overlap, causal)
            return h

        xh = run(self._q_layers, kv.q, x)
        yh = run(self._k_layers, kv.k, y)
        kv.r[0][lo:hi] = self._retriever.keys(xh)
        kv.r[1][lo:hi] = self._retriever.values(yh)
        kv.end = hi
        state.t += n

    def _evict(self, state: DeepState, k: int) -> None:
        del state.recent[:k]
        state.kv.drop(k)

    def mastery(self, state: DeepState, skills: Iterable[str]) -> dict[str, float]:
        keys = list(dict.fromkeys(skills))
        if not keys:
            return {}
        width = self.hyper.max_skills
        s = np.stack([self.vocab.skill_row((k,), width) for k in keys])
        q = np.zeros(len(keys), dtype=np.int64)
        p = self._probabilities(state, q, s, [(k,) for k in keys], [None] * len(keys))
        return {k: float(v) for k, v in zip(keys, p, strict=True)}

    @property
    def recent_needed(self) -> int:  # type: ignore[override]
        return self.hyper.window

    def state_fork(self, state: DeepState) -> DeepState:
        # O(skills met + window) small copies (the counters, the window's list); the KV rows
        # are shared (``_KVCache.fork``)
        return DeepState(
            t=state.t,
            kv=state.kv.fork(),
            recent=list(state.recent),
            n=dict(state.n),
            wins=dict(state.wins),
            right=state.right,
            res=dict(state.res),
            res_all=state.res_all,
            last=dict(state.last),
            last_any=state.last_any,
            ema={k: list(v) for k, v in state.ema.items()},
            ema_all=list(state.ema_all),
            seen=dict(state.seen),
            streak=dict(state.streak),
            prev_skills=list(state.prev_skills),
            prev_item=state.prev_item,
            sur=dict(state.sur),
            sur_all=state.sur_all,
            sur_last=state.sur_last,
            sets={k: list(v) for k, v in state.sets.items()},
        )

    def state_dump(self, state: DeepState, *, compact: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "method": self.method,
            "t": state.t,
            "n": dict(state.n),
            "wins": dict(state.wins),
            "right": state.right,
        }
        if self.hyper.ability_features:
            data["res"], data["res_all"] = dict(state.res), state.res_all
        if self.hyper.stack:
            data["last"], data["last_any"] = dict(state.last), state.last_any
            data["ema"] = {k: list(v) for k, v in state.ema.items()}
            data["ema_all"] = list(state.ema_all)
            data["seen"], data["streak"] = dict(state.seen), dict(state.streak)
            data["prev_skills"], data["prev_item"] = list(state.prev_skills), state.prev_item
        if self.hyper.gbm_counters:
            data["sur"], data["sur_all"], data["sur_last"] = dict(state.sur), state.sur_all, state.sur_last
            data["sets"] = {k: list(v) for k, v in state.sets.items()}
        if not compact:
            data["recent"] = [[i, list(s), c] for i, s, c in state.recent]
        return data

    def state_load(self, data: dict[str, Any], recent: Sequence[Response] | None = None) -> DeepState:
        if data.get("method") != self.method:
            raise ValueError(f"state was written by {data.get('method')!r}, not {self.method!r}")
        if "recent" in data:
            window = [(str(i), tuple(str(k) for k in s), check_credit(c)) for i, s, c in data["recent"]]
        elif recent is not None:
            window = [(r.item, tuple(r.skills), check_credit(r.correct)) for r in recent[-self.hyper.window :]]
        else:
            raise ValueError("a compact deep state needs the student's recent responses")
        t = int(data["t"])
        if len(window) > t:
            raise ValueError(f"{len(window)} recent responses do not fit a state at position {t}")
        state = self.new_state()
        if window:
            width = self.hyper.max_skills
            q = np.array([self.vocab.item(i) for i, _, _ in window])
            s = np.stack([self.vocab.skill_row(sk, width) for _, sk, _ in window])
            c = np.array([c for _, _, c in window])
            state.t = t - len(window)
            self._append(state, q, s, c)
        else:
            state.t = t
        state.recent = window
        state.n = {str(k): int(v) for k, v in data["n"].items()}
        state.wins = {str(k): float(v) for k, v in data.get("wins", {}).items()}
        state.right = float(data.get("right", 0.0))
        state.res = {str(k): float(v) for k, v in data.get("res", {}).items()}
        state.res_all = float(data.get("res_all", 0.0))
        if self.hyper.stack:
            # counters missing from a state written by older code come from the window kept
            # (exact when the whole history fits the window); a current dump has them all
            scratch = DeepState()
            if "ema" not in data or "seen" not in data:
                for i, (item, skills, credit) in enumerate(window):
                    _fold_counts(scratch, item, skills, credit, None, t - len(window) + i, counters=False)
            if "ema" in data:
                state.last = {str(k): float(v) for k, v in data["last"].items()}
                state.last_any = float(data["last_any"])
                state.ema = {str(k): [float(x) for x in v] for k, v in data["ema"].items()}
                state.ema_all = [float(x) for x in data.get("ema_all", [])]
            else:  # written before the stack existed
                state.last, state.last_any = scratch.last, scratch.last_any
                state.ema, state.ema_all = scratch.ema, scratch.ema_all
            if "seen" in data:
                state.seen = {str(k): int(v) for k, v in data["seen"].items()}
                state.streak = {str(k): float(v) for k, v in data["streak"].items()}
                state.prev_skills = [str(k) for k in data["prev_skills"]]
                state.prev_item = None if data["prev_item"] is None else str(data["prev_item"])
            else:  # written before the recency counters existed
                state.seen, state.streak = scratch.seen, scratch.streak
                state.prev_skills, state.prev_item = scratch.prev_skills, scratch.prev_item
        if self.hyper.gbm_counters:
            if "sets" in data:
                state.sur = {str(k): float(v) for k, v in data["sur"].items()}
                state.sur_all, state.sur_last = float(data["sur_all"]), float(data["sur_last"])
                state.sets = {str(k): [float(x) for x in v] for k, v in data["sets"].items()}
            else:  # written before these counters existed (or by a model without them): from the window
                scratch = DeepState()
                for i, (item, skills, credit) in enumerate(window):
                    surprise = self._surprise(self.vocab.item(item), credit)
                    _fold_counts(scratch, item, skills, credit, surprise, t - len(window) + i)
                state.sur, state.sur_all, state.sur_last = scratch.sur, scratch.sur_all, scratch.sur_last
                state.sets = scratch.sets
        return state

    # ---- artefact ---------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(directory / "weights.npz", **self.weights)  # type: ignore[arg-type]
        meta = {
            "method": self.method,
            "format": FORMAT,
            "hyper": self.hyper.as_dict(),
            "items": self.vocab.items,
            "skills": self.vocab.skills,
            "item_n": self.vocab.item_n.tolist(),
            "item_k": self.vocab.item_k.tolist(),
            "base_rate": self.vocab.base_rate,
        }
        (directory / "deep.json").write_text(json.dumps(meta))

    @classmethod
    def load(cls, directory: Path) -> DeepKT:
        meta = json.loads((directory / "deep.json").read_text())
        fmt = meta.get("format", 1)
        if not isinstance(fmt, int) or fmt < 1 or fmt > FORMAT:
            raise ValueError(
                f"{directory}: deep KT artefact format {fmt!r}; this code reads formats 1 to {FORMAT}: "
                "retrain the model (manage.py train_kt) or deploy the code that wrote it"
            )
        if fmt in _REFUSED_FORMATS:
            raise ValueError(
                f"{directory}: deep KT artefact format {fmt} is no longer served ({_REFUSED_FORMATS[fmt]}): "
                "retrain the model (manage.py train_kt)"
            )
        # artefacts saved before ability_features (or format 2's stack) existed were trained without
        defaults: dict[str, Any] = {
            "ability_features": False,
            "stack": fmt >= 3,
            "stack_in_head": False,
            "gbm": fmt >= 4,
            # save writes every field, so a missing one means code from before it: off (a
            # format-5 artefact written before gbm_counters trained its trees without them)
            "gbm_bands": 0,
            "gbm_sets": False,
            "gbm_counters": False,
            "stack_refit": False,
        }
        known = set(DeepHyper.__dataclass_fields__)
        unknown = set(meta["hyper"]) - known
        if unknown:
            raise ValueError(f"{directory}: unknown deep KT hyperparameters {sorted(unknown)}")
        model = cls(DeepHyper(**{**defaults, **meta["hyper"]}))
        model.vocab = Vocab(
            items=meta["items"],
            skills=meta["skills"],
            item_n=np.array(meta["item_n"], dtype=float),
            item_k=np.array(meta["item_k"], dtype=float),
            base_rate=float(meta["base_rate"]),
        )
        with np.load(directory / "weights.npz") as z:
            model.weights = {k: z[k] for k in z.files}
        model._compile()
        return model


def _masked_attend(
    layer: _Layer,
    q_in: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    dist: np.ndarray,
    overlap: np.ndarray,
    causal: np.ndarray,
) -> np.ndarray:
    """Batched causal attention for rebuilding a cache (rows see only dist >= 0)."""
    m = q_in.shape[0]
    h, dk = layer.h, layer.dk
    Q = layer.keys(q_in).reshape(m, h, dk).transpose(1, 0, 2)
    Kh = K.reshape(-1, h, dk).transpose(1, 0, 2)
    Vh = V.reshape(-1, h, dk).transpose(1, 0, 2)
    scores = Q @ Kh.transpose(0, 2, 1) / math.sqrt(dk) + layer.scores_bias(dist, overlap)
    scores = np.where(causal[None], scores, -np.inf)
    a = (_softmax(scores) @ Vh).transpose(1, 0, 2).reshape(m, -1) @ layer.wo + layer.bo
    z = _ln(q_in + a, *layer.ln1)
    return _ln(z + np.maximum(z @ layer.f1 + layer.fb1, 0.0) @ layer.f2 + layer.fb2, *layer.ln2)


def _overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of skill sets: |A & B| / sqrt(|A| |B|), rows of padded indices.

    A row's skills are distinct and its padding comes last (``Vocab.skill_row``), so |A & B|
    is, over A's skills, whether B's row holds it: one column of ``a`` at a time, stopping at
    the first all-padding column (a one-skill question compares one column, not all
    ``max_skills``; 1.6x faster than comparing every pair at once at a 400-answer window)."""
    if len(b) == 0:
        return np.zeros((len(a), 0))
    inter = np.zeros((len(a), len(b)), dtype=np.int64)
    for j in range(a.shape[1]):
        col = a[:, j]
        real = col != PAD
        if not real.any():
            break
        hit = (b[None, :, :] == col[:, None, None]).any(-1)
        hit &= real[:, None]
        inter += hit
    na = (a != PAD).sum(1)
    nb = (b != PAD).sum(1)
    return inter / np.sqrt(np.maximum(na[:, None] * nb[None, :], 1))
