"""Model loading, device choice and batching: the ONLY package that imports torch or transformers.
(ONNX Runtime is not used: its int8 encoder measured slower than torch's, see bench/onnx_encoder.py.)

Contract for callers (grading, assessment, recommender):
- nothing heavy happens at import: importing ``eduai.inference`` does not import torch, so the
  web process stays light; the first call that needs a model imports torch and loads it;
- every model is loaded once per process and kept in a bounded LRU cache
  (``EDUAI_MODEL_CACHE_SIZE``), so a worker with many assignments stays within its memory;
- inputs and outputs are plain Python / NumPy (lists of str, float32 arrays), never tensors.

Public face:
- ``encoder_spec(language=..., max_length=..., precision=..., pooling=...)`` -> ``EncoderSpec``
  (frozen, with a stable ``key`` that names the embeddings it produces);
- ``embed(spec, texts)`` -> float32 (n, dim) L2-normalised mean-pooled embeddings; with
  ``pooling="mean+mid"`` (the grading fast scorer's) (n, 2 x dim): the last layer's and an
  intermediate layer's means side by side, still of unit length;
- ``finetune`` (module): ``train_scorer`` / ``load_scorer`` / ``mlm_adapt`` for the fine-tuned scorer;
- ``device_info()`` -> what this process would run on.
"""

from __future__ import annotations

from .spec import EncoderSpec, encoder_spec


def embed(spec: EncoderSpec, texts, *, batch_size: int = 32, progress: bool = False):
    """Embeddings of ``texts`` with the encoder ``spec`` names (float32, one row per text)."""
    from .encoder import get_encoder

    return get_encoder(spec).embed(texts, batch_size=batch_size, progress=progress, pooling=spec.pooling)


def device_info() -> dict[str, object]:
    from .device import describe

    return describe()


def cache_clear() -> None:
    """Drop every cached model of this process (tests, and a worker told to reload)."""
    from .cache import MODEL_CACHE

    MODEL_CACHE.clear()


__all__ = ["EncoderSpec", "cache_clear", "device_info", "embed", "encoder_spec"]
