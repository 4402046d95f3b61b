"""The fine-tuned scorer's network: an encoder fine-tuned end to end with a regression head.

Contract:
- ``train_scorer(...)`` fine-tunes ``base_path`` on (text, targets) where targets has one column
  per head: column 0 the holistic score, the others rubric traits (NaN where a teacher gave no
  trait score; those cells add no loss). Each head regresses its target scaled to [0, 1] by its
  rubric range (multi-task: traits share the encoder and regularise it). It writes the artefact
  into ``out_dir`` (which the caller created as a temporary folder and renames when done), and
  returns a report (best epoch, metric per epoch, seconds, int8 check).
- ``load_scorer(path)`` returns a ``FineTunedScorer`` whose ``predict(texts)`` gives raw scores on
  the rubric scale, one column per head. Loaded once per process through the model cache.
- ``mlm_adapt(...)`` is optional domain-adaptive pretraining (Gururangan et al. 2020, "Don't stop
  pretraining"): masked-language-model training on the course's unlabelled submissions, whose
  output folder is then the ``base_path`` of ``train_scorer``.

Long essays are head+tail truncated to ``max_length`` tokens (see encoder.py). Batches, in
training and in prediction, group essays of similar length and hold at most ``batch_size`` rows
and ``batch_tokens`` padded tokens (rows x the batch's longest essay), so memory per step is
bounded whatever the essays' lengths. Determinism: one seed drives Python, NumPy and torch and
the batches (all epochs' batches are drawn up front); on CPU two runs give the same weights.
The head reads the pooled vector and, beside it, standardised side inputs (``SideInputs``): the
whole essay's log token count and, when the caller passes them, its own features per essay.
Early stopping: the caller's ``val_metric`` (QWK of the holistic head) is computed after every
epoch; training stops after ``patience`` epochs without improvement and the best weights are
restored, never the last.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import logging
import math
import random
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .cache import MODEL_CACHE
from .encoder import (
    CPU_TOKENS_PER_BATCH,
    encode_head_tail,
    length_batches,
    load_tokenizer,
    mean_pool,
    pad_batch,
    quantize_int8,
    special_tokens,
)

log = logging.getLogger(__name__)

ARTEFACT_FILE = "scorer.json"
HEAD_FILE = "head.safetensors"


@dataclass(frozen=True)
class FineTuneConfig:
    # 384 tokens cover 90% of ASAP essays (p90 = 484 wordpieces over all prompts) at about
    # 0.56x the cost of 512; on a GPU use 512.
    max_length: int = 384
    epochs: int = 3
    # Most essays per batch. Batches are also capped at ``batch_tokens`` padded tokens (rows x
    # the batch's longest essay) when training and when predicting, so a batch of long essays
    # holds fewer rows than one of short essays and peak memory stays bounded; 0 = rows only.
    # An essay longer than the budget is never cut further: it gets a batch of its own.
    # 8, not 16: on a few hundred essays, twice the optimisation steps (recipe chosen on a
    # validation fold, docs/grading.md "Fine-tuned scorer, measured").
    batch_size: int = 8
    batch_tokens: int = 4096
    # 1.5e-4, not the BERT-base 5e-5: a 6-layer MiniLM moved too little at 5e-5 in 3 epochs.
    lr: float = 1.5e-4
    head_lr: float = 1e-3
    # Layer-wise lr decay: layer k below the top learns at lr x layer_lr_decay^k (1.0 = off).
    layer_lr_decay: float = 1.0
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    patience: int = 1
    trait_weight: float = 0.5
    dropout: float = 0.1
    seed: int = 13
    # Domain-adaptive MLM epochs on unlabelled submissions before fine-tuning (0 = off).
    dapt_epochs: int = 0
    # Feed the standardised log token count of the WHOLE essay to the head beside the pooled
    # vector: mean pooling over a head+tail window cannot see length, the strongest single
    # predictor on long prompts (ASAP prompt 1: Spearman 0.80 with the score; see docs/grading.md).
    length_feature: bool = True
    # Feed the fast scorer's linguistic features (grading/scoring/features.py, computed on the
    # whole essay by grading) to the head beside the pooled vector: a hybrid scorer. Long
    # essays' spelling, vocabulary and structure beyond the head+tail window then still count.
    side_features: bool = True
    extra: dict[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _bucketed_batches(
    lengths: Sequence[int], batch_size: int, rng: np.random.Generator, max_tokens: int | None = None
) -> list[np.ndarray]:
    """Shuffled batches of similar length: shuffle, sort within windows of 50 batches, cut each
    window into batches of at most ``batch_size`` rows and ``max_tokens`` padded tokens, shuffle
    the batches. Every index appears exactly once; the same ``rng`` state gives the same batches."""
    order = rng.permutation(len(lengths))
    window = batch_size * 50
    batches: list[np.ndarray] = []
    for start in range(0, len(order), window):
        chunk = order[start : start + window]
        cut = length_batches([lengths[i] for i in chunk], max_rows=batch_size, max_tokens=max_tokens)
        batches.extend(chunk[b] for b in cut)
    rng.shuffle(batches)  # type: ignore[arg-type]
    return batches


def _token_budget(config: FineTuneConfig) -> int | None:
    return config.batch_tokens if config.batch_tokens > 0 else None


@functools.cache
def _scorer_net_class():
    """The scorer network's class, defined once. It was once defined inside ``_build_net`` on each
    call: its ``__init__`` then closed over that call's ``encoder``, and as the (int8) copy of the
    network keeps its class, every loaded scorer kept its fp32 encoder alive too (about 90 MB RSS
    per MiniLM; bench/grading.py --memory)."""
    import torch
    from torch import nn

    class ScorerNet(nn.Module):
        def __init__(self, encoder: Any, n_heads: int, dropout: float, n_side: int) -> None:
            super().__init__()
            self.encoder = encoder
            self.dropout = nn.Dropout(dropout)
            self.n_side = n_side
            self.head = nn.Linear(int(encoder.config.hidden_size) + n_side, n_heads)

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, side: torch.Tensor | None = None
        ) -> torch.Tensor:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            pooled = self.dropout(mean_pool(hidden.float(), attention_mask))
            if self.n_side:
                assert side is not None and side.shape[1] == self.n_side
                pooled = torch.cat([pooled, side.float().to(pooled.device)], dim=1)
            return self.head(pooled)

    return ScorerNet


def _build_net(encoder, n_heads: int, dropout: float, n_side: int = 0):
    """Encoder + mean pooling + one linear head that also reads ``n_side`` standardised inputs per
    essay beside the pooled vector (the whole essay's log token count, and the caller's features)."""
    return _scorer_net_class()(encoder, n_heads, dropout, n_side)


_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")
_shared_tokenizers: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
_shared_lock = threading.Lock()


def shared_tokenizer(folder: str | Path):
    """The tokenizer saved in ``folder``, one object per distinct tokenizer (keyed by its files'
    contents): every scorer fine-tuned from one base folder saves the same tokenizer, and each
    loaded copy cost about 11 MB RSS. Held weakly: it goes with the last scorer that uses it."""
    digest = hashlib.sha256()
    for name in _TOKENIZER_FILES:
        f = Path(folder) / name
        if f.is_file():
            digest.update(name.encode() + b"\0" + f.read_bytes() + b"\0")
    key = digest.hexdigest()
    with _shared_lock:
        tokenizer = _shared_tokenizers.get(key)
    if tokenizer is None:
        tokenizer = load_tokenizer(str(folder))
        with _shared_lock:
            tokenizer = _shared_tokenizers.setdefault(key, tokenizer)
    return tokenizer


@dataclass(frozen=True)
class SideInputs:
    """What the head reads beside the pooled vector, standardised with training statistics.

    ``length``: mean and spread of the training essays' log token counts (whole essay, before
    head+tail), or None. ``feature_mean`` / ``feature_std``: per column of the caller's feature
    matrix (grading passes the fast scorer's linguistic features), empty when none. Standardised
    values are clipped to +-5 so that a freak submission (a 100,000-character paste) cannot swing
    the head far outside what it was trained on."""

    length: tuple[float, float] | None = None
    feature_mean: tuple[float, ...] = ()
    feature_std: tuple[float, ...] = ()

    @property
    def width(self) -> int:
        return (1 if self.length is not None else 0) + len(self.feature_mean)

    @classmethod
    def fit(cls, raw_lengths: Sequence[int], features: np.ndarray | None, *, length: bool) -> SideInputs:
        stats = None
        if length:
            logs = np.log1p(np.asarray(raw_lengths, dtype=np.float64))
            stats = (float(logs.mean()), float(max(logs.std(), 1e-3)))
        if features is None or features.shape[1] == 0:
            return cls(stats)
        f = np.asarray(features, dtype=np.float64)
        return cls(stats, tuple(map(float, f.mean(0))), tuple(float(max(v, 1e-3)) for v in f.std(0)))

    def matrix(self, raw_lengths: Sequence[int], features: np.ndarray | None) -> np.ndarray:
        cols = []
        if self.length is not None:
            mean, std = self.length
            cols.append(((np.log1p(np.asarray(raw_lengths, dtype=np.float64)) - mean) / std)[:, None])
        if self.feature_mean:
            if features is None or np.shape(features) != (len(raw_lengths), len(self.feature_mean)):
                raise ValueError(
                    f"this scorer reads {len(self.feature_mean)} features per essay beside the text: "
                    f"pass a ({len(raw_lengths)}, {len(self.feature_mean)}) matrix as features="
                )
            f = np.asarray(features, dtype=np.float64)
            cols.append((f - np.array(self.feature_mean)) / np.array(self.feature_std))
        if not cols:
            return np.zeros((len(raw_lengths), 0), np.float32)
        return np.clip(np.hstack(cols), -5.0, 5.0).astype(np.float32)

    def as_meta(self) -> dict[str, object]:
        return {
            "length_stats": list(self.length) if self.length is not None else None,
            "feature_stats": {"mean": list(self.feature_mean), "std": list(self.feature_std)}
            if self.feature_mean
            else None,
        }

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> SideInputs:
        stats = meta.get("length_stats")
        feats = meta.get("feature_stats") or {}
        return cls(
            (float(stats[0]), float(stats[1])) if stats else None,
            tuple(feats.get("mean", ())),
            tuple(feats.get("std", ())),
        )


class FineTunedScorer:
    """A loaded fine-tuned scorer: ``predict(texts)`` -> raw rubric-scale scores (n, heads)."""

    def __init__(self, path: str | Path, *, precision: str = "auto") -> None:
        import torch
        from safetensors.torch import load_file
        from transformers import AutoModel

        from .device import autocast_dtype, torch_device

        self.path = Path(path)
        self.meta = json.loads((self.path / ARTEFACT_FILE).read_text())
        self.ranges = [tuple(r) for r in self.meta["ranges"]]
        self.max_length = int(self.meta["max_length"])
        self.side = SideInputs.from_meta(self.meta)
        # Artefacts from before the token budget carry no batch_tokens: the CPU encoder's budget.
        self.batch_tokens = int(self.meta.get("config", {}).get("batch_tokens", CPU_TOKENS_PER_BATCH)) or None
        self.tokenizer = shared_tokenizer(self.path / "encoder")
        encoder = AutoModel.from_pretrained(str(self.path / "encoder"))
        net = _build_net(encoder, len(self.ranges), 0.0, self.side.width)
        net.head.load_state_dict(load_file(str(self.path / HEAD_FILE)))
        net.eval()
        device = torch_device()
        use_int8 = precision == "int8" or (
            precision == "auto" and device.type == "cpu" and bool(self.meta.get("int8_ok"))
        )
        if use_int8:
            self.device, self.dtype, self.precision = torch.device("cpu"), None, "int8"
            net = quantize_int8(net)
        else:
            self.device, self.dtype, self.precision = device, autocast_dtype(), "fp"
            net = net.to(device)
        self.net = net

    @property
    def needs_features(self) -> bool:
        return bool(self.side.feature_mean)

    def predict(
        self,
        texts: Sequence[str],
        *,
        features: np.ndarray | None = None,
        batch_size: int = 32,
        progress: bool = False,
    ) -> np.ndarray:
        """Raw scores; ``features`` (one row per text) is required when the scorer was trained
        with features (``needs_features``), and must be computed as they were in training."""
        normed = _predict_normed(
            self.net,
            self.tokenizer,
            texts,
            self.max_length,
            self.device,
            self.dtype,
            side=self.side,
            features=features,
            max_rows=batch_size,
            max_tokens=self.batch_tokens,
            progress=progress,
        )
        lo = np.array([r[0] for r in self.ranges], dtype=np.float32)
        hi = np.array([r[1] for r in self.ranges], dtype=np.float32)
        return lo + normed * (hi - lo)


def _predict_normed(
    net,
    tokenizer,
    texts,
    max_length,
    device,
    dtype,
    *,
    side: SideInputs,
    features: np.ndarray | None = None,
    max_rows: int = 32,
    max_tokens: int | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Scores on the [0, 1] scale, in batches of similar length capped at ``max_rows`` rows and
    ``max_tokens`` padded tokens (see ``FineTuneConfig.batch_tokens``)."""
    import torch

    texts = [t if isinstance(t, str) else "" for t in texts]
    ids, raw_lengths = encode_head_tail(tokenizer, texts, max_length)
    side_x = torch.from_numpy(side.matrix(raw_lengths, features))
    out = np.zeros((len(texts), net.head.out_features if hasattr(net.head, "out_features") else 1), np.float32)
    batches: Sequence[np.ndarray] = length_batches([len(x) for x in ids], max_rows=max_rows, max_tokens=max_tokens)
    if progress:
        from tqdm import tqdm

        batches = tqdm(batches, desc="score", unit="batch")
    pad_id = tokenizer.pad_token_id or 0
    was_training = net.training
    net.eval()
    with torch.inference_mode():
        for idx in batches:
            input_ids, mask = pad_batch([ids[j] for j in idx], pad_id)
            with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                pred = net(input_ids.to(device), mask.to(device), side_x[idx])
            out[idx] = pred.float().cpu().numpy()
    net.train(was_training)
    return out


def _normalise(targets: np.ndarray, ranges: Sequence[tuple[float, float]]) -> np.ndarray:
    lo = np.array([r[0] for r in ranges], dtype=np.float32)
    hi = np.array([r[1] for r in ranges], dtype=np.float32)
    return (targets.astype(np.float32) - lo) / (hi - lo)


def _encoder_param_groups(encoder, config: FineTuneConfig) -> list[dict[str, Any]]:
    """AdamW groups for the encoder: no weight decay on biases and norms, and with
    ``layer_lr_decay`` < 1 each layer below the top learns at that factor of the one above
    (layer-wise lr decay; the embeddings count as the layer below the lowest)."""
    n_layers = int(getattr(encoder.config, "num_hidden_layers", 0))
    groups: dict[tuple[float, float], list[Any]] = {}
    for name, p in encoder.named_parameters():
        depth = n_layers  # pooler and anything above the layers: the top
        if name.startswith("embeddings."):
            depth = 0
        elif ".layer." in f".{name}":
            parts = name.split(".")
            depth = int(parts[parts.index("layer") + 1]) + 1
        lr = config.lr * config.layer_lr_decay ** max(n_layers - depth, 0)
        wd = 0.0 if ("bias" in name or "norm" in name.lower()) else config.weight_decay
        groups.setdefault((lr, wd), []).append(p)
    return [{"params": ps, "lr": lr, "weight_decay": wd} for (lr, wd), ps in groups.items()]


def train_scorer(
    *,
    base_path: str,
    texts: Sequence[str],
    targets: np.ndarray,
    ranges: Sequence[tuple[float, float]],
    val_texts: Sequence[str],
    val_targets: np.ndarray,
    val_metric: Callable[[np.ndarray], float],
    out_dir: str | Path,
    config: FineTuneConfig,
    head_names: Sequence[str] = (),
    features: np.ndarray | None = None,
    val_features: np.ndarray | None = None,
    progress: bool = False,
) -> dict[str, object]:
    """Fine-tune, early-stop on ``val_metric`` (higher is better), write the artefact to ``out_dir``.

    ``features`` / ``val_features`` (one row per essay, optional): numeric features the head reads
    beside the pooled vector, standardised with the training rows' statistics (stored in the
    artefact); the loaded scorer then needs them in ``predict(features=...)``."""
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModel, get_linear_schedule_with_warmup

    from .device import autocast_dtype, torch_device

    started = time.perf_counter()
    seed_everything(config.seed)
    out = Path(out_dir)
    device, dtype = torch_device(), autocast_dtype()
    tokenizer = load_tokenizer(base_path)
    encoder = AutoModel.from_pretrained(base_path)
    n_heads = targets.shape[1]
    ids, raw_lengths = encode_head_tail(tokenizer, texts, config.max_length)
    side = SideInputs.fit(raw_lengths, features, length=config.length_feature)
    side_x = torch.from_numpy(side.matrix(raw_lengths, features))
    net = _build_net(encoder, n_heads, config.dropout, side.width).to(device)
    y = _normalise(targets, ranges)
    with torch.no_grad():  # start the heads at the mean target: the first steps then learn signal, not offset
        net.head.bias.copy_(torch.tensor(np.nan_to_num(np.nanmean(y, axis=0), nan=0.5), dtype=torch.float32))
        net.head.weight.mul_(0.1)
    lengths = [len(x) for x in ids]
    # Not silent: the record says how many essays the encoder saw as head+tail only.
    fits = config.max_length - sum(map(len, special_tokens(tokenizer)))
    head_tail_share = float(np.mean([n > fits for n in raw_lengths])) if raw_lengths else 0.0
    rng = np.random.default_rng(config.seed)
    # Every epoch's batches up front (same seed -> same batches): with a token budget their
    # number varies a little between epochs, and the schedule needs the total.
    budget = _token_budget(config)
    epoch_batches = [_bucketed_batches(lengths, config.batch_size, rng, budget) for _ in range(config.epochs)]
    total_steps = sum(len(b) for b in epoch_batches)
    head_params = list(net.head.parameters())
    head_ids = {id(p) for p in head_params}
    head_group = {"params": head_params, "lr": config.head_lr, "weight_decay": 0.0}
    optim = torch.optim.AdamW([*_encoder_param_groups(net.encoder, config), head_group])
    assert all(id(p) not in head_ids for g in optim.param_groups[:-1] for p in g["params"])
    sched = get_linear_schedule_with_warmup(optim, int(config.warmup_ratio * total_steps), total_steps)
    weights = torch.tensor([1.0] + [config.trait_weight / max(n_heads - 1, 1)] * (n_heads - 1), device=device)
    y_t = torch.tensor(np.nan_to_num(y, nan=0.0), dtype=torch.float32)
    known = torch.tensor(~np.isnan(y), dtype=torch.float32)
    pad_id = tokenizer.pad_token_id or 0
    val_ids_texts = list(val_texts)
    predict = functools.partial(_predict_normed, side=side, max_rows=32, max_tokens=budget)
    lo = np.array([r[0] for r in ranges], np.float32)
    hi = np.array([r[1] for r in ranges], np.float32)

    history: list[dict[str, float]] = []
    best_metric, best_state, best_epoch, stale = -math.inf, None, 0, 0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total_steps, desc="fine-tune", unit="step")
    try:
        for epoch in range(1, config.epochs + 1):
            net.train()
            running, seen = 0.0, 0
            for idx in epoch_batches[epoch - 1]:
                input_ids, mask = pad_batch([ids[j] for j in idx], pad_id)
                with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                    pred = net(input_ids.to(device), mask.to(device), side_x[idx]).float()
                tgt, kn = y_t[idx].to(device), known[idx].to(device)
                per_head = ((pred - tgt) ** 2 * kn).sum(0) / kn.sum(0).clamp(min=1.0)
                loss = (per_head * weights).sum()
                optim.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                optim.step()
                sched.step()
                running += float(loss.detach()) * len(idx)
                seen += len(idx)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(epoch=epoch, loss=f"{running / seen:.4f}")
            normed = predict(net, tokenizer, val_ids_texts, config.max_length, device, dtype, features=val_features)
            metric = float(val_metric(lo + normed * (hi - lo)))
            history.append({"epoch": epoch, "train_loss": running / max(seen, 1), "val_metric": metric})
            log.info("fine-tune epoch %d: loss %.4f, val metric %.4f", epoch, running / max(seen, 1), metric)
            if metric > best_metric:
                best_metric, best_epoch, stale = metric, epoch, 0
                best_state = {k: v.detach().to("cpu", copy=True) for k, v in net.state_dict().items()}
            else:
                stale += 1
                if stale > config.patience:
                    break
    finally:
        if bar is not None:
            bar.close()
    if best_state is not None:
        net.load_state_dict(best_state)
    net = net.to("cpu").float().eval()

    # int8 is used for CPU serving only if it keeps the validation metric within 0.005 of fp32.
    cpu = torch.device("cpu")
    fp32_normed = predict(net, tokenizer, val_ids_texts, config.max_length, cpu, None, features=val_features)
    fp32_metric = float(val_metric(lo + fp32_normed * (hi - lo)))
    int8_net = quantize_int8(copy.deepcopy(net))
    int8_normed = predict(int8_net, tokenizer, val_ids_texts, config.max_length, cpu, None, features=val_features)
    int8_metric = float(val_metric(lo + int8_normed * (hi - lo)))
    del int8_net

    out.mkdir(parents=True, exist_ok=True)
    net.encoder.save_pretrained(str(out / "encoder"))
    tokenizer.save_pretrained(str(out / "encoder"))
    save_file({k: v.contiguous() for k, v in net.head.state_dict().items()}, str(out / HEAD_FILE))
    report: dict[str, object] = {
        "best_epoch": best_epoch,
        "best_val_metric": best_metric,
        "history": history,
        "fp32_val_metric": fp32_metric,
        "int8_val_metric": int8_metric,
        "int8_ok": bool(int8_metric >= fp32_metric - 0.005),
        "train_seconds": time.perf_counter() - started,
        "device": str(device),
        "head_tail_share": head_tail_share,
        "train_tokens_median": float(np.median(raw_lengths)) if raw_lengths else 0.0,
        "steps": total_steps,
        "max_batch_tokens": max(len(b) * max(lengths[j] for j in b) for bs in epoch_batches for b in bs),
    }
    meta = {
        "format": 1,
        "ranges": [list(map(float, r)) for r in ranges],
        "head_names": list(head_names),
        "max_length": config.max_length,
        "base_path": base_path,
        "config": config.as_dict(),
        "int8_ok": report["int8_ok"],
        **side.as_meta(),
        "val_predictions": (lo + fp32_normed * (hi - lo)).tolist(),
    }
    (out / ARTEFACT_FILE).write_text(json.dumps(meta))
    return report


def load_scorer(path: str | Path, *, precision: str = "auto") -> FineTunedScorer:
    """The scorer stored at ``path``, loaded once per process (bounded cache)."""
    key = ("finetuned", str(Path(path).resolve()), precision)
    return MODEL_CACHE.get(key, lambda: FineTunedScorer(path, precision=precision))


def mlm_adapt(
    *,
    base_path: str,
    texts: Sequence[str],
    out_dir: str | Path,
    epochs: int = 1,
    max_length: int = 256,
    batch_size: int = 16,
    batch_tokens: int | None = None,
    lr: float = 5e-5,
    head_lr: float = 1e-3,
    seed: int = 13,
    progress: bool = False,
) -> dict[str, object]:
    """Masked-LM training on ``texts``; writes an encoder folder usable as ``base_path``.

    A sentence encoder (the bundled MiniLM) ships without its masked-LM head, which transformers
    then initialises at random. Its gradients would first push noise into the encoder, so while
    the head is fresh the encoder stays frozen for the first quarter of the steps (at most 200)
    and only the head learns, at ``head_lr``; then both train, with linear decay.
    """
    import torch
    from transformers import AutoModelForMaskedLM, DataCollatorForLanguageModeling, get_linear_schedule_with_warmup

    from .device import autocast_dtype, torch_device

    started = time.perf_counter()
    seed_everything(seed)
    device, dtype = torch_device(), autocast_dtype()
    tokenizer = load_tokenizer(base_path)
    model, info = AutoModelForMaskedLM.from_pretrained(base_path, output_loading_info=True)
    model = model.to(device)
    prefix = f"{model.base_model_prefix}."
    fresh_head = any(not k.startswith(prefix) for k in info.get("missing_keys", []))
    base_params = {id(p) for p in model.base_model.parameters()}
    head_params = [p for p in model.parameters() if id(p) not in base_params]
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15, return_tensors="pt")
    ids, _ = encode_head_tail(tokenizer, texts, max_length)
    rng = np.random.default_rng(seed)
    batches_all = [_bucketed_batches([len(x) for x in ids], batch_size, rng, batch_tokens) for _ in range(epochs)]
    total = sum(len(b) for b in batches_all)
    warm = min(200, total // 4) if fresh_head else 0
    optim = torch.optim.AdamW(
        [
            {"params": list(model.base_model.parameters()), "lr": lr, "weight_decay": 0.01},
            {"params": head_params, "lr": head_lr, "weight_decay": 0.0},
        ]
    )
    sched = get_linear_schedule_with_warmup(optim, 0, max(total, 1))
    losses: list[float] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, desc="mlm-adapt", unit="step")
    model.train()
    step = 0
    try:
        for batches in batches_all:
            for idx in batches:
                frozen = step < warm
                for p in model.base_model.parameters():
                    p.requires_grad_(not frozen)
                batch = collator([{"input_ids": ids[j]} for j in idx])
                with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                    loss = model(**{k: v.to(device) for k, v in batch.items()}).loss
                optim.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optim.step()
                sched.step()
                step += 1
                losses.append(float(loss.detach()))
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}", frozen=frozen)
    finally:
        if bar is not None:
            bar.close()
        for p in model.base_model.parameters():
            p.requires_grad_(True)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.to("cpu").save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return {
        "mlm_loss_first": losses[0] if losses else None,
        "mlm_loss_last": float(np.mean(losses[-20:])) if losses else None,
        "seconds": time.perf_counter() - started,
        "steps": len(losses),
        "fresh_head": fresh_head,
        "head_only_steps": warm,
    }
