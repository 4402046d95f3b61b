"""Training half of the deep knowledge-tracing model (``assessment.kt.deep``): torch module and
its bounded training loop. Owned by assessment; lives here because only eduai.inference may
import torch (.importlinter). Nothing in this file knows about Django or the assessment app.

Imported only when a deep model is trained (``DeepKT.fit``); serving runs the numpy forward in
``assessment/kt/deep.py`` and never imports torch. The parameter names here are the contract
with that numpy forward (``tests/assessment/test_kt_deep.py`` checks both give the same
probabilities).

Training: student histories are cut into windows of ``train_window`` responses (as AKT and
pyKT do), windows of similar length are batched together (padding on the right, which causal
masks never let a real position see), Adam, early stopping on validation AUC with
``patience`` epochs (each worse epoch restarts from the best weights with the learning rate
times ``lr_decay``), and budgets of CPU seconds (``max_train_cpu_seconds``) and wall-clock
seconds (``max_train_seconds``) after which the best epoch so far is kept.
``torch.set_num_threads(hyper.threads)``: 2 on the shared dev box.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any, cast

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

# ``hp``/``hyper`` below is assessment.kt.deep.DeepHyper (duck-typed: this layer may not import
# assessment): d_model, n_heads, d_ff, dropout, n_question_layers, n_knowledge_layers, d_out,
# train_window, batch_size, lr, lr_decay, weight_decay, difficulty_prior_sd, max_epochs, patience,
# max_train_cpu_seconds, max_train_seconds, threads.
DeepHyper = Any
log = logging.getLogger(__name__)

# (items, skill rows, credits, item easiness, log1p item count, count features) of one student
Encoded = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
N_COUNTS = 4  # assessment.kt.deep.count_features

# Initial per-head decay slopes (attention weight shrinks by exp(-slope) per response in
# between): one nearly flat head for long memory, the others increasingly recency-minded.
_SLOPES = (0.005, 0.05, 0.2, 0.7)
# Initial per-head bonus (logits) for attending to a response on the same skill(s): head 0
# ignores skills, the others start as "what did the student do on this skill lately". Without
# it the heads must discover skill matching from random embeddings, which took >10 epochs on
# the 2-core budget; with it the first epoch is already at BKT's level.
_SKILL_BONUS = (0.0, 2.0, 2.0, 4.0)


def _inv_softplus(y: float) -> float:
    return math.log(math.expm1(y))


def _extra_inputs(hp: DeepHyper) -> int:
    """Head inputs besides the counts: the two ability features, the stacked logistic logit."""
    ability = 2 if getattr(hp, "ability_features", False) else 0
    return ability + (1 if getattr(hp, "stack", False) and getattr(hp, "stack_in_head", False) else 0)


class Layer(nn.Module):
    def __init__(self, d: int, heads: int, d_ff: int, dropout: float) -> None:
        super().__init__()
        self.h, self.dk = heads, d // heads
        self.k = nn.Linear(d, d)  # shared by queries and keys, as AKT's kq_same
        self.v = nn.Linear(d, d)
        self.o = nn.Linear(d, d)
        self.ln1 = nn.LayerNorm(d)
        self.ln2 = nn.LayerNorm(d)
        self.ff1 = nn.Linear(d, d_ff)
        self.ff2 = nn.Linear(d_ff, d)
        slopes = [_SLOPES[i % len(_SLOPES)] for i in range(heads)]
        self.decay = nn.Parameter(torch.tensor([_inv_softplus(s) for s in slopes], dtype=torch.float32))
        bonus = [_SKILL_BONUS[i % len(_SKILL_BONUS)] for i in range(heads)]
        self.skill_bonus = nn.Parameter(torch.tensor(bonus, dtype=torch.float32))
        self.drop = nn.Dropout(dropout)

    def attn_bias(self, dist: torch.Tensor, allowed: torch.Tensor, overlap: torch.Tensor) -> torch.Tensor:
        """Additive attention bias [B, heads, T, T]: time decay, same-skill bonus, -1e9 where
        not allowed."""
        b = -F.softplus(self.decay)[None, :, None, None] * dist[None, None]
        b = b + self.skill_bonus[None, :, None, None] * overlap[:, None]
        return b.masked_fill(~allowed[None, None], -1e9)

    def forward(
        self, q_in: torch.Tensor, k_in: torch.Tensor, v_in: torch.Tensor, bias: torch.Tensor, has_key: torch.Tensor
    ) -> torch.Tensor:
        b, t, d = q_in.shape
        split = lambda z: z.view(b, t, self.h, self.dk).transpose(1, 2)  # noqa: E731
        Q, K, V = split(self.k(q_in)), split(self.k(k_in)), split(self.v(v_in))
        # fused kernel; a row with no allowed key (the first, in the retriever) would average
        # everything, so its context is zeroed afterwards, as the numpy path does
        ctx = F.scaled_dot_product_attention(Q, K, V, attn_mask=bias)
        ctx = (ctx * has_key[None, None, :, None]).transpose(1, 2).reshape(b, t, d)
        z = self.ln1(q_in + self.drop(self.o(ctx)))
        return self.ln2(z + self.drop(self.ff2(self.drop(F.relu(self.ff1(z))))))


class Net(nn.Module):
    def __init__(self, n_items: int, n_skills: int, hp: DeepHyper) -> None:
        super().__init__()
        d = hp.d_model
        rows = n_skills + 2  # 0 pad, 1..n skills, n+1 'average skill' (filled at export)
        self.skill = nn.Embedding(rows, d, padding_idx=0)
        self.skill_var = nn.Embedding(rows, d, padding_idx=0)
        self.resp = nn.Embedding(rows * 2, d)
        self.resp_var = nn.Embedding(2, d)
        self.difficulty = nn.Embedding(n_items + 1, 1, padding_idx=0)
        nn.init.zeros_(self.difficulty.weight)
        # weight of the item's empirical easiness, added straight to the logit (Rasch: the
        # log-odds of success are ability minus difficulty)
        self.ease_weight = nn.Parameter(torch.tensor(1.0))
        # the item's easiness is part of its embedding, and an answer carries how surprising it
        # was (right on a hard item says more than right on an easy one): an Elo-like residual
        self.ease_vec = nn.Parameter(torch.randn(d) * 0.1)
        self.res_vec = nn.Parameter(torch.randn(d) * 0.1)
        self.base_logit: torch.Tensor
        self.register_buffer("base_logit", torch.tensor(0.0))
        self.q_layers = nn.ModuleList(Layer(d, hp.n_heads, hp.d_ff, hp.dropout) for _ in range(hp.n_question_layers))
        self.k_layers = nn.ModuleList(Layer(d, hp.n_heads, hp.d_ff, hp.dropout) for _ in range(hp.n_knowledge_layers))
        self.retriever = Layer(d, hp.n_heads, hp.d_ff, hp.dropout)
        self.out = nn.Sequential(
            nn.Linear(2 * d + 2 + N_COUNTS + _extra_inputs(hp), hp.d_out),
            nn.ReLU(),
            nn.Dropout(hp.dropout),
            nn.Linear(hp.d_out, hp.d_out // 2),
            nn.ReLU(),
            nn.Dropout(hp.dropout),
            nn.Linear(hp.d_out // 2, 1),
        )

    def forward(
        self,
        q: torch.Tensor,
        s: torch.Tensor,
        c: torch.Tensor,
        e: torch.Tensor,
        lc: torch.Tensor,
        counts: torch.Tensor,
    ) -> torch.Tensor:
        t = q.shape[1]
        mask = (s != 0).unsqueeze(-1).float()
        cnt = mask.sum(-2).clamp(min=1.0)
        mu = self.difficulty(q)
        x = (self.skill(s) * mask).sum(-2) / cnt + mu * (self.skill_var(s) * mask).sum(-2) / cnt
        x = x + e.unsqueeze(-1) * self.ease_vec
        cc = c.unsqueeze(-1)
        right = (self.resp(s * 2 + 1) * mask).sum(-2) / cnt
        wrong = (self.resp(s * 2) * mask).sum(-2) / cnt
        rv = cc * self.resp_var.weight[1] + (1 - cc) * self.resp_var.weight[0]
        residual = (c - torch.sigmoid(e + self.base_logit)).unsqueeze(-1)
        y = x + cc * right + (1 - cc) * wrong + mu * rv + residual * self.res_vec
        rows = self.skill.num_embeddings
        hot = torch.zeros(q.shape[0], t, rows).scatter_(2, s, 1.0)
        hot[..., 0] = 0.0
        hot = hot / hot.sum(-1, keepdim=True).clamp(min=1.0).sqrt()
        overlap = hot @ hot.transpose(1, 2)  # cosine of the skill sets, [B, T, T]
        idx = torch.arange(t)
        dist = (idx[:, None] - idx[None, :]).float()
        peek = dist >= 0
        strict = dist >= 1
        dist = dist.clamp(min=0)
        xh, yh = x, y
        every = torch.ones(t, dtype=torch.bool)
        for layer in cast(list[Layer], list(self.q_layers)):
            xh = layer(xh, xh, xh, layer.attn_bias(dist, peek, overlap), every)
        for layer in cast(list[Layer], list(self.k_layers)):
            yh = layer(yh, yh, yh, layer.attn_bias(dist, peek, overlap), every)
        h = self.retriever(xh, xh, yh, self.retriever.attn_bias(dist, strict, overlap), strict.any(-1))
        z = torch.cat([h, x, e.unsqueeze(-1), lc.unsqueeze(-1), counts], dim=-1)
        return self.out(z).squeeze(-1) + self.ease_weight * e


def _windows(data: list[Encoded], size: int) -> list[Encoded]:
    out: list[Encoded] = []
    for seq in data:
        for start in range(0, len(seq[0]), size):
            out.append(tuple(a[start : start + size] for a in seq))  # type: ignore[arg-type]
    return out


def _batches(windows: list[Encoded], batch_size: int, rng: np.random.Generator | None) -> list[list[Encoded]]:
    order = sorted(range(len(windows)), key=lambda i: len(windows[i][0]))
    groups = [[windows[i] for i in order[j : j + batch_size]] for j in range(0, len(order), batch_size)]
    if rng is not None:
        rng.shuffle(groups)  # type: ignore[arg-type]
    return groups


def _collate(batch: list[Encoded]) -> tuple[torch.Tensor, ...]:
    t = max(len(w[0]) for w in batch)
    k = batch[0][1].shape[1]
    b = len(batch)
    Q = np.zeros((b, t), np.int64)
    S = np.zeros((b, t, k), np.int64)
    C = np.zeros((b, t), np.float32)
    E = np.zeros((b, t), np.float32)
    L = np.zeros((b, t), np.float32)
    F_ = np.zeros((b, t, batch[0][5].shape[1]), np.float32)
    M = np.zeros((b, t), bool)
    for i, (q, s, c, e, lc, cf) in enumerate(batch):
        n = len(q)
        Q[i, :n], S[i, :n], C[i, :n], E[i, :n], L[i, :n], F_[i, :n], M[i, :n] = q, s, c, e, lc, cf, True
    return tuple(torch.from_numpy(a) for a in (Q, S, C, E, L, F_, M))


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    yb = (y >= 0.5).astype(int)
    return float(roc_auc_score(yb, p)) if len(set(yb.tolist())) == 2 else float("nan")


def predict_windows(net: Net, windows: list[Encoded], batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    net.eval()
    ys, ps = [], []
    with torch.no_grad():
        for batch in _batches(windows, batch_size, None):
            Q, S, C, E, L, F_, M = _collate(batch)
            p = torch.sigmoid(net(Q, S, C, E, L, F_))
            ys.append(C[M].numpy())
            ps.append(p[M].numpy())
    return (np.concatenate(ys), np.concatenate(ps)) if ys else (np.zeros(0), np.zeros(0))


def predict_logits(
    weights: dict[str, np.ndarray],
    data: list[Encoded],
    *,
    n_items: int,
    n_skills: int,
    hyper: DeepHyper,
    window: int,
) -> list[np.ndarray]:
    """The trained model's logits for every response of every student, in order. Each student is
    run in consecutive chunks of ``window`` responses (the online path slides its window
    instead: the same for histories up to ``window``). Weights not of the net (``stack.*``,
    the stacked logistic model's) are ignored."""
    torch.set_num_threads(hyper.threads)
    net = Net(n_items, n_skills, hyper)
    state = {
        k: torch.tensor(np.asarray(v), dtype=torch.float32) for k, v in weights.items() if not k.startswith("stack.")
    }
    net.load_state_dict(state)
    net.eval()
    out: list[np.ndarray] = []
    with torch.no_grad():
        for seq in data:
            parts = [
                net(*(torch.from_numpy(np.ascontiguousarray(a[start : start + window]))[None] for a in seq))[0].numpy()
                for start in range(0, len(seq[0]), window)
            ]
            out.append(np.concatenate(parts).astype(np.float64) if parts else np.zeros(0))
    return out


def train(
    train_data: list[Encoded],
    valid_data: list[Encoded],
    *,
    n_items: int,
    n_skills: int,
    hyper: DeepHyper,
    seed: int,
    base_rate: float = 0.5,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    torch.set_num_threads(hyper.threads)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = Net(n_items, n_skills, hyper)
    net.base_logit.fill_(math.log(base_rate / (1 - base_rate)))
    n_tokens = max(1, sum(len(d[0]) for d in train_data))
    opt = torch.optim.Adam(net.parameters(), lr=hyper.lr, weight_decay=hyper.weight_decay)
    train_w = _windows(train_data, hyper.train_window)
    valid_w = _windows(valid_data, hyper.train_window)
    t0, cpu0 = time.perf_counter(), time.process_time()
    best_auc, best_state, best_epoch, bad = -1.0, None, 0, 0
    history: list[dict[str, float]] = []
    stopped = "max_epochs"
    for epoch in range(1, hyper.max_epochs + 1):
        net.train()
        total, count = 0.0, 0
        for batch in _batches(train_w, hyper.batch_size, rng):
            Q, S, C, E, L, F_, M = _collate(batch)
            logits = net(Q, S, C, E, L, F_)
            loss = F.binary_cross_entropy_with_logits(logits[M], C[M])
            # Gaussian prior N(0, sd^2) on the Rasch scalars, in the same per-response units as
            # the mean loss (MAP over the whole training set)
            reg = (net.difficulty.weight**2).sum() / (2 * hyper.difficulty_prior_sd**2 * n_tokens)
            opt.zero_grad()
            (loss + reg).backward()
            opt.step()
            total += float(loss.detach()) * int(M.sum())
            count += int(M.sum())
        y, p = predict_windows(net, valid_w)
        auc = _auc(y, p) if len(y) else float("nan")
        history.append(
            {
                "epoch": epoch,
                "train_loss": total / max(count, 1),
                "valid_auc": auc,
                "seconds": time.perf_counter() - t0,
                "cpu_seconds": time.process_time() - cpu0,
            }
        )
        log.info("deep KT epoch %d: %s", epoch, history[-1])
        if not len(y) or best_state is None or auc > best_auc:  # nan AUC (one class): keep the first
            best_auc, best_epoch, bad = auc, epoch, 0
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        else:
            bad += 1
            if hyper.lr_decay < 1.0 and best_state is not None:
                # a worse epoch: go back to the best weights and take smaller steps from there
                net.load_state_dict(best_state)
                for group in opt.param_groups:
                    group["lr"] *= hyper.lr_decay
        if bad >= hyper.patience:
            stopped = "early_stopping"
            break
        # CPU time is the budget that means the same on a shared box and an idle one (2 threads
        # busy for 12.5 min = 1500 CPU-s); wall time is only a safety net
        spent_cpu = time.process_time() - cpu0
        if spent_cpu > hyper.max_train_cpu_seconds or time.perf_counter() - t0 > hyper.max_train_seconds:
            stopped = "time_budget"
            break
    assert best_state is not None
    weights = {k: v.numpy().astype(np.float64) for k, v in best_state.items()}
    info = {
        "valid_auc": best_auc,
        "best_epoch": best_epoch,
        "epochs": len(history),
        "stopped": stopped,
        "train_seconds": time.perf_counter() - t0,
        "train_cpu_seconds": time.process_time() - cpu0,
        "history": history,
    }
    return weights, info
