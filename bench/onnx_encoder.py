"""ONNX Runtime against torch for the frozen encoder on the CPU: is ORT int8 worth serving?

    pip install onnxruntime onnx        # optional packages, not in requirements.txt
    python bench/onnx_encoder.py [--essays 128] [--runs 3] [--max-length 256]

The encoder EDUAI_ENCODER_PATH names (default: the bundled all-MiniLM-L6-v2) is exported to ONNX
with both outputs the grading embedding pools (the last layer and the intermediate layer of
``"mean+mid"``), and quantised with ORT's dynamic int8 (weights int8, activations quantised per
batch: the same scheme as torch's ``quantize_dynamic``). Then the same essays are embedded by

- torch fp32 and torch dynamic int8, through the product's own ``inference.embed``;
- ORT fp32 and ORT int8, through the product's tokenisation (head+tail), length-sorted batches
  and token budget, with the pooling written out here in numpy;

with one thread each (``EDUAI_TORCH_THREADS=1`` is the worker's setting), and printed as essays
per CPU-second (median of ``--runs``; CPU seconds so that other processes' load does not count),
the ratio to torch int8 measured in the same run, and each embedding's cosine to torch fp32.
Essays: ASAP test-fold essays (``--data``), read by path, never copied.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eduai.settings")


def export(path: str, folder: Path) -> tuple[Path, Path]:
    """The encoder as ONNX (fp32) and its ORT dynamic-int8 copy; outputs ``last`` and ``mid``."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    from eduai.inference.encoder import mid_layer

    model = AutoModel.from_pretrained(path).eval()
    mid = mid_layer(int(model.config.num_hidden_layers))

    class Both(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, ids, mask):
            out = self.model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
            return out.last_hidden_state, out.hidden_states[mid]

    fp32, int8 = folder / "encoder.onnx", folder / "encoder.int8.onnx"
    dims = {0: "rows", 1: "tokens"}
    example = (torch.ones(2, 16, dtype=torch.long), torch.ones(2, 16, dtype=torch.long))
    torch.onnx.export(
        Both(),
        example,
        str(fp32),
        input_names=["ids", "mask"],
        output_names=["last", "mid"],
        dynamic_axes={"ids": dims, "mask": dims, "last": dims, "mid": dims},
        opset_version=17,
        dynamo=False,
    )
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    return fp32, int8


def ort_embed(session, tokenizer, texts: list[str], max_length: int) -> np.ndarray:
    """``"mean+mid"`` embeddings from an ORT session, batched as the product batches."""
    from eduai.inference.encoder import CPU_TOKENS_PER_BATCH, encode_head_tail, length_batches

    ids, _ = encode_head_tail(tokenizer, texts, max_length)
    pad = tokenizer.pad_token_id or 0
    out: np.ndarray | None = None
    for idx in length_batches([len(x) for x in ids], max_rows=32, max_tokens=CPU_TOKENS_PER_BATCH):
        width = max(len(ids[j]) for j in idx)
        batch = np.full((len(idx), width), pad, dtype=np.int64)
        mask = np.zeros((len(idx), width), dtype=np.int64)
        for row, j in enumerate(idx):
            batch[row, : len(ids[j])] = ids[j]
            mask[row, : len(ids[j])] = 1
        last, mid = session.run(None, {"ids": batch, "mask": mask})
        weights = mask[..., None].astype(np.float32)
        pooled = []
        for hidden in (last, mid):
            mean = (hidden * weights).sum(axis=1) / weights.sum(axis=1)
            pooled.append(mean / np.linalg.norm(mean, axis=1, keepdims=True))
        vectors = np.concatenate(pooled, axis=1) / np.sqrt(2.0)
        if out is None:
            out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
        out[idx] = vectors
    assert out is not None, "at least one essay"
    return out


def per_cpu_second(fn, texts: list[str], runs: int) -> tuple[float, np.ndarray]:
    fn(texts[:8])  # warm-up: first-call allocations and lazy initialisation
    times, vectors = [], None
    for _ in range(runs):
        started = time.process_time()
        vectors = fn(texts)
        times.append(time.process_time() - started)
    return len(texts) / statistics.median(times), vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "asap" / "essays_dev.csv"))
    parser.add_argument("--essays", type=int, default=128)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=256)
    args = parser.parse_args()
    try:
        import onnxruntime as ort
    except ImportError:
        raise SystemExit("onnxruntime is not installed: pip install onnxruntime onnx") from None
    import django

    django.setup()
    import pandas as pd
    import torch

    from eduai import inference
    from eduai.inference.encoder import load_tokenizer
    from eduai.inference.spec import EncoderSpec, encoder_path

    torch.set_num_threads(1)
    frame = pd.read_csv(args.data)
    frame = frame[frame["fold"] == frame["fold"].min()]
    texts = frame.sample(min(args.essays, len(frame)), random_state=0).text.tolist()
    path = encoder_path("en")
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    tokenizer = load_tokenizer(path)
    rates: dict[str, float] = {}
    vectors: dict[str, np.ndarray] = {}
    for precision in ("fp", "int8"):
        spec = EncoderSpec(path=path, max_length=args.max_length, precision=precision, pooling="mean+mid")
        rates[f"torch {precision}"], vectors[f"torch {precision}"] = per_cpu_second(
            lambda t, s=spec: inference.embed(s, t), texts, args.runs
        )
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        files = export(path, Path(tmp))
        print(
            f"export + quantisation {time.perf_counter() - started:.1f} s; "
            + ", ".join(f"{f.name} {f.stat().st_size / 1e6:.1f} MB" for f in files)
        )
        for name, file in zip(("ORT fp", "ORT int8"), files, strict=True):
            session = ort.InferenceSession(str(file), options, providers=["CPUExecutionProvider"])
            rates[name], vectors[name] = per_cpu_second(
                lambda t, s=session: ort_embed(s, tokenizer, t, args.max_length), texts, args.runs
            )
    reference = vectors["torch fp"]
    print(
        f"\n{len(texts)} essays, {args.max_length} tokens head+tail, one thread, median of {args.runs} runs, "
        f"onnxruntime {ort.__version__}, torch {torch.__version__}, load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'path':<10} {'essays/CPU-s':>13} {'vs torch int8':>14} {'cosine to torch fp32 (mean / min)':>36}")
    for name, rate in rates.items():
        cosine = (vectors[name] * reference).sum(axis=1)
        print(
            f"{name:<10} {rate:>13.1f} {rate / rates['torch int8']:>13.2f}x {cosine.mean():>20.4f} / {cosine.min():.4f}"
        )


if __name__ == "__main__":
    main()
