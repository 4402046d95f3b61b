"""Device and precision choice for this process (``settings.EDUAI_DEVICE``: auto, cpu, cuda, cuda:N).

CUDA runs bf16 where the GPU supports it (Ampere and later), else fp16; the CPU runs fp32
(or int8 dynamic quantisation where a caller asks and validation allowed it). The choice is made
once per process, after fork: CUDA must never be initialised in a parent that forks workers
(celery/celery#3402), which is why nothing here runs at import.
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


@lru_cache(maxsize=1)
def torch_device():
    import torch

    threads = int(os.environ.get("EDUAI_TORCH_THREADS", "0") or 0)
    if threads > 0:
        torch.set_num_threads(threads)
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
        "torch": torch.__version__,
    }
