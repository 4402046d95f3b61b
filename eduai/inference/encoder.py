"""Frozen-encoder embeddings: head+tail truncation, length-sorted per-batch padding, mean pooling.

Long essays: a text longer than the spec's ``max_length`` tokens keeps its first half and its
last half of that budget (head+tail; Sun et al. 2019, "How to fine-tune BERT for text
classification?", found head+tail beats head-only for long documents: openings and
conclusions carry the structure). Nothing is cut silently: ``token_counts`` tells callers how
long each text was, and the linguistic features of the fast scorer see the full text.

Batching: texts are sorted by token count and cut into batches that are padded only to their
own longest text. On the CPU a batch also holds at most ``CPU_TOKENS_PER_BATCH`` padded tokens,
so its largest activation (tokens x 1536 fp32 in MiniLM's feed-forward) stays under glibc's
32 MiB mmap ceiling and is served from the reused heap (``device.tune_malloc``).

Pooling: ``spec.pooling == "mean"`` gives the mean of the last layer's token vectors (what the
sentence-transformers model was trained for; semantic search uses it). ``"mean+mid"`` puts beside
it the mean of an intermediate layer (``mid_layer``: layer 4 of MiniLM-L6's 6), both from the same
forward pass, each L2-normalised and the pair scaled by 1/sqrt(2), so the vector is still unit
length and a dot product is the mean of the two cosines. Why: middle layers of BERT-style
encoders hold more surface and syntactic information (Jawahar et al. 2019, "What does BERT learn
about the structure of language?"), which the last layer's sentence-similarity training smooths
away and essay rubrics reward. On ASAP validation (bench/grading.py --fast-select, folds 3-4 -> 2
and 2-3 -> 4, mean over six seeds) the fast scorer gained +0.004 and +0.002 mean QWK with layer 4
(one seed: layer 2 -0.000 / -0.003, layer 3 -0.002 / -0.006; max pooling of the last layer,
three seeds, +0.003 / +0.000; see docs/grading.md).

Throughput (bench/grading.py --timing, 2 shared CPU cores, one torch thread, all-MiniLM-L6-v2,
128 ASAP essays of 183 words on average, medians of 3, CPU seconds so that other processes'
load does not count): fp32 at 512 tokens 11.6 essays per CPU-second, fp32 at 256 tokens 16.5,
dynamic int8 at 256 tokens 36.8 (27-30 before the token budget and the allocator tuning).
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from .cache import MODEL_CACHE
from .spec import POOLINGS, EncoderSpec

log = logging.getLogger(__name__)

# Padded tokens per forward pass on the CPU: 4096 x 1536 x 4 bytes = 24 MiB, the largest
# activation, under glibc's 32 MiB mmap ceiling (see module docstring). CUDA batches by rows only.
CPU_TOKENS_PER_BATCH = 4096

# Characters kept from each end of a very long text before tokenising: far more than the token
# budget needs (a token is >= 1 character), so the cut never changes the result, but a
# 100,000-character paste costs no more to tokenise than an essay.
_CHARS_PER_TOKEN_BOUND = 12


def quantize_int8(model):
    """Dynamic int8 quantisation of every Linear layer (CPU inference only)."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def head_tail(ids: Sequence[int], budget: int) -> list[int]:
    """Keep the first ``ceil(budget/2)`` and last ``floor(budget/2)`` token ids when too long."""
    if len(ids) <= budget:
        return list(ids)
    head = (budget + 1) // 2
    tail = budget - head
    return list(ids[:head]) + (list(ids[-tail:]) if tail else [])


def load_tokenizer(path: str):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    # We truncate ourselves (head+tail); silence the "sequence longer than 512" warning.
    tokenizer.model_max_length = 10**9
    return tokenizer


def encode_head_tail(tokenizer, texts: Sequence[str], max_length: int) -> tuple[list[list[int]], list[int]]:
    """Token ids with special tokens, head+tail-truncated to ``max_length``, and the token count
    before truncation (of the text after its character clip, so a lower bound for huge texts)."""
    bound = max_length * _CHARS_PER_TOKEN_BOUND
    clipped = [t if len(t) <= 2 * bound else t[:bound] + " " + t[-bound:] for t in texts]
    raw = tokenizer(clipped, add_special_tokens=False, truncation=False)["input_ids"]
    prefix, suffix = special_tokens(tokenizer)
    budget = max_length - len(prefix) - len(suffix)
    out = [prefix + head_tail(ids, budget) + suffix for ids in raw]
    return out, [len(ids) for ids in raw]


def special_tokens(tokenizer) -> tuple[list[int], list[int]]:
    """The ids a tokenizer puts before and after one sequence ([CLS] / [SEP] for BERT, <s> / </s> ...)."""
    cached = getattr(tokenizer, "_eduai_specials", None)
    if cached is None:
        plain = tokenizer("essay", add_special_tokens=False)["input_ids"]
        full = tokenizer("essay", add_special_tokens=True)["input_ids"]
        start = next((i for i in range(len(full) - len(plain) + 1) if full[i : i + len(plain)] == plain), 0)
        cached = (list(full[:start]), list(full[start + len(plain) :]))
        tokenizer._eduai_specials = cached
    return cached


def length_batches(lengths: Sequence[int], *, max_rows: int, max_tokens: int | None = None) -> list[np.ndarray]:
    """Indices of ``lengths`` sorted ascending, cut into batches of at most ``max_rows`` rows and,
    when given, at most ``max_tokens`` padded tokens (rows x the batch's longest length); a text
    longer than ``max_tokens`` gets a batch of its own."""
    order = np.argsort(np.asarray(lengths, dtype=np.int64), kind="stable")
    batches: list[np.ndarray] = []
    start = 0
    for end in range(1, len(order) + 1):
        rows = end - start
        # Sorted ascending: the newest row is the batch's longest, so padded tokens = rows x its length.
        too_many_tokens = max_tokens is not None and rows > 1 and rows * lengths[order[end - 1]] > max_tokens
        if rows > max_rows or too_many_tokens:
            batches.append(order[start : end - 1])
            start = end - 1
    if start < len(order):
        batches.append(order[start:])
    return batches


def pad_batch(batch: Sequence[Sequence[int]], pad_id: int):
    import torch

    width = max(len(x) for x in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, row in enumerate(batch):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return ids, mask


def mean_pool(hidden, mask):
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)


def mid_layer(num_layers: int) -> int:
    """The intermediate layer of ``"mean+mid"`` pooling: two thirds of the way up (4 of 6 in
    MiniLM-L6, where it was measured; 8 of 12 in a BERT-base)."""
    return max(1, round(num_layers * 2 / 3))


class Encoder:
    """One loaded encoder. ``embed`` is thread-safe (a lock serialises forward passes)."""

    def __init__(self, spec: EncoderSpec) -> None:
        import torch
        from transformers import AutoModel

        from .device import autocast_dtype, configure_cpu, torch_device

        configure_cpu()
        self.spec = spec
        self.tokenizer = load_tokenizer(spec.path)
        model = AutoModel.from_pretrained(spec.path)
        model.eval()
        if spec.precision == "int8":
            self.device = torch.device("cpu")
            self.dtype = None
            model = quantize_int8(model)
        else:
            self.device = torch_device()
            self.dtype = autocast_dtype()
            model = model.to(self.device)
        self.model = model
        self.hidden = int(model.config.hidden_size)
        self.mid = mid_layer(int(model.config.num_hidden_layers))
        self.dim = self.hidden  # of "mean" pooling; "mean+mid" vectors are twice as wide
        self._lock = threading.Lock()

    def embed(
        self, texts: Sequence[str], *, batch_size: int = 32, progress: bool = False, pooling: str = "mean"
    ) -> np.ndarray:
        import torch

        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, not {pooling!r}")
        both = pooling == "mean+mid"
        texts = [t if isinstance(t, str) else "" for t in texts]
        out = np.zeros((len(texts), self.dim * (2 if both else 1)), dtype=np.float32)
        if not texts:
            return out
        ids, _ = encode_head_tail(self.tokenizer, texts, self.spec.max_length)
        tokens = CPU_TOKENS_PER_BATCH if self.device.type == "cpu" else None
        batches = length_batches([len(x) for x in ids], max_rows=batch_size, max_tokens=tokens)
        if progress:
            from tqdm import tqdm

            batches = tqdm(batches, desc="embed", unit="batch")
        pad_id = self.tokenizer.pad_token_id or 0
        normalize = torch.nn.functional.normalize
        with self._lock, torch.inference_mode():
            for idx in batches:
                input_ids, mask = pad_batch([ids[j] for j in idx], pad_id)
                input_ids, mask = input_ids.to(self.device), mask.to(self.device)
                with torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype is not None):
                    result = self.model(input_ids=input_ids, attention_mask=mask, output_hidden_states=both)
                pooled = normalize(mean_pool(result.last_hidden_state.float(), mask), dim=-1)
                if both:
                    # hidden_states[0] is the embedding layer's output, [k] the k-th layer's.
                    middle = normalize(mean_pool(result.hidden_states[self.mid].float(), mask), dim=-1)
                    pooled = torch.cat([pooled, middle], dim=-1) / np.sqrt(2.0)
                out[idx] = pooled.cpu().numpy()
        return out


def get_encoder(spec: EncoderSpec) -> Encoder:
    """The loaded encoder of ``spec``; one per model, length and precision whatever the pooling
    (pooling is chosen per ``embed`` call, so grading and semantic search share one model)."""
    base = replace(spec, pooling="mean")
    return MODEL_CACHE.get(("encoder", base), lambda: Encoder(base))
