"""What a loaded fine-tuned scorer keeps in memory: no stray fp32 encoder, one tokenizer per
distinct tokenizer, and a cache weight that counts int8 weights too."""

from __future__ import annotations

import gc
import shutil
import weakref

import numpy as np

from eduai.inference import finetune
from eduai.inference.cache import ModelCache, weight_mb
from eduai.inference.encoder import quantize_int8
from eduai.inference.spec import bundled_encoder_path


def _tiny_encoder():
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=100, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
    )
    return BertModel(config)


def test_an_int8_scorer_network_does_not_keep_its_fp32_encoder_alive():
    # given a scorer network built on an fp32 encoder, then quantised the way load_scorer does
    encoder = _tiny_encoder()
    gone = weakref.ref(encoder)
    net = quantize_int8(finetune._build_net(encoder, 2, 0.0, 1))
    # when the fp32 encoder's last outside reference goes
    del encoder
    gc.collect()
    # then nothing (the network's class included) holds it, and the int8 network still scores
    assert gone() is None
    ids = np.array([[1, 5, 7, 2]])
    import torch

    out = net(torch.tensor(ids), torch.ones(1, 4, dtype=torch.long), torch.tensor([[0.5]]))
    assert tuple(out.shape) == (1, 2)


def test_networks_built_for_different_encoders_hold_each_their_own():
    a, b = _tiny_encoder(), _tiny_encoder()
    net_a, net_b = finetune._build_net(a, 1, 0.0), finetune._build_net(b, 3, 0.1)
    assert net_a.encoder is a and net_b.encoder is b
    assert net_a.head.out_features == 1 and net_b.head.out_features == 3
    assert set(net_a.state_dict()) >= {"head.weight", "head.bias"}


def test_one_tokenizer_object_per_distinct_tokenizer_files(tmp_path):
    base = bundled_encoder_path()
    first, second = tmp_path / "a", tmp_path / "b"
    light = shutil.ignore_patterns("*.safetensors", "*.bin", "*.onnx")
    for folder in (first, second):
        shutil.copytree(base, folder, ignore=light)
    tok_a = finetune.shared_tokenizer(first)
    assert finetune.shared_tokenizer(second) is tok_a  # same files, other folder: shared
    # a tokenizer whose files differ is another object
    other = tmp_path / "c"
    shutil.copytree(base, other, ignore=light)
    config = other / "tokenizer_config.json"
    config.write_text(config.read_text().replace("{", '{"eduai_probe": 1, ', 1))
    assert finetune.shared_tokenizer(other) is not tok_a
    assert tok_a("an essay")["input_ids"] == finetune.shared_tokenizer(other)("an essay")["input_ids"]


def test_cache_weight_counts_the_int8_weights_of_a_quantised_network():
    import torch

    # 8,000,000 int8 weights (7.63 MB) + 2,000 fp32 biases: the old count saw no tensor at all (5 MB)
    big = quantize_int8(torch.nn.Sequential(torch.nn.Linear(4000, 2000)))
    assert 7.6 < weight_mb(big) < 7.7
    cache = ModelCache(maxsize=10, max_mb=20)
    cache.get("a", lambda: quantize_int8(torch.nn.Sequential(torch.nn.Linear(4000, 2000))))
    cache.get("b", lambda: quantize_int8(torch.nn.Sequential(torch.nn.Linear(4000, 2000))))
    cache.get("c", lambda: quantize_int8(torch.nn.Sequential(torch.nn.Linear(4000, 2000))))
    assert sorted(cache.keys()) == ["b", "c"]  # 22.9 MB of int8 weights > 20
