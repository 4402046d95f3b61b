"""Device and precision choice for this process (``settings.EDUAI_DEVICE``: auto, cpu, cuda, cuda:N).

CUDA runs bf16 where the GPU supports it (Ampere and later), else fp16; the CPU runs fp32
(or int8 dynamic quantisation where a caller asks and validation allowed it). The choice is made
once per process, after fork: CUDA must never be initialised in a parent that forks workers
(celery/celery#3402), which is why nothing here runs at import.

Every process that loads a model also gets two process-wide host settings first
(``configure_cpu``): torch's intra-op thread count (``EDUAI_TORCH_THREADS``) and glibc's
allocator thresholds (``tune_malloc``, the why is there).
"""

from __future__ import annotations

import os
from functools import lru_cache

from django.conf import settings


def cuda_available() -> bool:
    wanted = str(getattr(settings, "EDUAI_DEVICE", "auto")).lower()
    if wanted == "cpu":
        return False
    import torch

    return torch.cuda.is_available()


def torch_threads() -> int:
    """``EDUAI_TORCH_THREADS`` (settings, else environment); 0 = torch's default (all cores)."""
    value = getattr(settings, "EDUAI_TORCH_THREADS", None)
    if value is None:
        value = os.environ.get("EDUAI_TORCH_THREADS", "0")
    return int(value or 0)


# glibc mallopt parameter numbers (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# glibc refuses an mmap threshold above HEAP_MAX_SIZE / 2 = 32 MiB on 64-bit; the encoder's
# CPU batches are sized to stay under it (encoder.CPU_TOKENS_PER_BATCH).
MMAP_THRESHOLD_BYTES = 32 * 2**20
TRIM_THRESHOLD_BYTES = 256 * 2**20


def tune_malloc() -> bool:
    """Keep the encoder's activation buffers on the heap instead of fresh mmaps (glibc only).

    Why: a forward pass allocates and frees tensors of 6-25 MB (a batch's 1536-wide GELU
    input and output, attention blocks). glibc serves those with a fresh ``mmap`` each time and
    unmaps them on free, so every pass page-faults and zeroes them again: measured on the 2-core
    box, GELU ran at 5 ns per element inside the model against 0.6 ns on a reused buffer, and
    int8 MiniLM embedded 29.9 essays per CPU-second at 256 tokens against 39.3 with this tuning
    (the same gain as jemalloc/tcmalloc, which the PyTorch CPU tuning guide recommends, without
    a preload). Cost: up to ``TRIM_THRESHOLD_BYTES`` of freed heap stays in the process.
    Returns False where it does not apply (not glibc, or already tuned by MALLOC_*_ variables).
    """
    if any(k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "LD_PRELOAD")):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)) and bool(
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    )


@lru_cache(maxsize=1)
def configure_cpu() -> dict[str, object]:
    """Thread count and allocator for this process: once, before its first CPU model runs."""
    import torch

    threads = torch_threads()
    if threads > 0:
        torch.set_num_threads(threads)
    return {"threads": torch.get_num_threads(), "malloc_tuned": tune_malloc()}


@lru_cache(maxsize=1)
def torch_device():
    import torch

    configure_cpu()
    wanted = str(getattr(settings, "EDUAI_DEVICE", "auto")).lower()
    if wanted == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if wanted.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"EDUAI_DEVICE={wanted} but CUDA is not available in this process")
    return torch.device(wanted)


def autocast_dtype():
    """bf16/fp16 on CUDA, None (fp32) on CPU."""
    import torch

    device = torch_device()
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def describe() -> dict[str, object]:
    import torch

    device = torch_device()
    dtype = autocast_dtype()
    return {
        "device": str(device),
        "dtype": str(dtype).replace("torch.", "") if dtype else "float32",
        "threads": torch.get_num_threads(),
        "malloc_tuned": configure_cpu()["malloc_tuned"],
        "torch": torch.__version__,
    }
