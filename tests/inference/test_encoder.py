"""The encoder: head+tail truncation, batching that does not change results, bounded cache."""

from __future__ import annotations

import numpy as np
import pytest

from eduai import inference
from eduai.inference.cache import ModelCache, weight_mb
from eduai.inference.encoder import encode_head_tail, get_encoder, head_tail, length_batches, load_tokenizer
from eduai.inference.spec import EncoderSpec, bundled_encoder_path, encoder_spec, pooling_of_key


def test_head_tail_keeps_both_ends_within_budget():
    ids = list(range(100))
    kept = head_tail(ids, 10)
    assert kept == [0, 1, 2, 3, 4, 95, 96, 97, 98, 99]
    assert head_tail(ids[:7], 10) == ids[:7]


def test_long_text_is_head_tail_truncated_with_special_tokens():
    tok = load_tokenizer(bundled_encoder_path())
    opening = "Opening words matter. " * 3
    ending = " The final conclusion ends here."
    text = opening + "filler " * 5000 + ending
    ids, full = encode_head_tail(tok, [text], 48)
    assert len(ids[0]) == 48 and full[0] > 48
    decoded = tok.decode(ids[0], skip_special_tokens=True)
    assert decoded.startswith("opening words matter") and decoded.endswith("the final conclusion ends here.")
    assert ids[0][0] == tok.cls_token_id and ids[0][-1] == tok.sep_token_id


def test_length_batches_pad_little_and_respect_row_and_token_budgets():
    lengths = [300, 12, 50, 256, 13, 49, 51, 5000, 12]
    batches = length_batches(lengths, max_rows=3, max_tokens=150)
    flat = [int(i) for b in batches for i in b]
    # every text exactly once, shortest first
    assert sorted(flat) == list(range(len(lengths)))
    assert [lengths[i] for i in flat] == sorted(lengths)
    for b in batches:
        width = max(lengths[i] for i in b)
        assert len(b) <= 3
        # a batch fits the token budget, unless it is one text longer than the budget
        assert len(b) * width <= 150 or len(b) == 1
    assert [len(b) for b in length_batches(lengths, max_rows=4)] == [4, 4, 1]


@pytest.mark.parametrize("precision", ["fp", "int8"])
def test_embeddings_are_normalised_and_independent_of_batch_order(precision):
    spec = encoder_spec(max_length=32, precision=precision)
    texts = [
        "A short essay about the town library and its readers.",
        "Computers help students find information, but they also distract them from homework.",
        "My favourite place is the river where my grandfather taught me to fish every summer.",
        "Libraries should stay open because books and quiet rooms help everyone study.",
    ]
    a = inference.embed(spec, texts, batch_size=2)
    b = inference.embed(spec, texts[::-1], batch_size=4)[::-1]
    assert a.shape == (4, 384) and a.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-4)
    if precision == "fp":
        np.testing.assert_allclose(a, b, atol=1e-5)
    else:
        # Dynamic int8 takes its activation scale from the whole batch, so batch mates nudge an
        # embedding slightly (each submission's embedding is computed once and stored).
        assert np.min(np.sum(a * b, axis=1)) > 0.93


def test_odd_inputs_embed_without_error():
    spec = encoder_spec(max_length=32, precision="fp")
    odd = ["", "   ", "<script>alert(1)</script>", "word " * 5000, "另一种语言的文字", "\x00\x01 binary-ish"]
    out = inference.embed(spec, odd)
    assert out.shape == (6, 384) and np.all(np.isfinite(out))


def test_embeddings_separate_meaning():
    spec = encoder_spec(max_length=32, precision="fp")
    e = inference.embed(spec, ["The cat sat on the mat.", "A kitten rested on the rug.", "Stock prices fell sharply."])
    assert e[0] @ e[1] > e[0] @ e[2] + 0.2


def test_spec_key_names_encoder_length_and_precision(settings):
    spec = EncoderSpec(path=bundled_encoder_path(), max_length=128, precision="int8")
    assert spec.key.startswith("all-MiniLM-L6-v2@") and spec.key.endswith(":L128:int8")
    with pytest.raises(ValueError):
        EncoderSpec(path=bundled_encoder_path(), precision="fp16")


def test_encoder_is_loaded_once_per_process():
    spec = encoder_spec(max_length=32, precision="fp")
    assert get_encoder(spec) is get_encoder(spec)


def test_model_cache_is_bounded_lru():
    cache = ModelCache(maxsize=2)
    loads = []

    def loader(key):
        return lambda: loads.append(key) or key

    cache.get("a", loader("a"))
    cache.get("b", loader("b"))
    cache.get("a", loader("a"))  # hit: "a" becomes most recent
    cache.get("c", loader("c"))  # evicts "b", the least recently used
    assert loads == ["a", "b", "c"] and sorted(cache.keys()) == ["a", "c"]
    cache.get("b", loader("b"))
    assert loads == ["a", "b", "c", "b"] and len(cache) == 2


def test_model_cache_is_bounded_by_the_weight_of_the_tensors_it_holds():
    import torch

    class Scorer:  # a loaded model keeps its network as an attribute
        def __init__(self) -> None:
            self.net = torch.nn.Sequential(torch.nn.Linear(2000, 1000))  # 2,001,000 floats = 7.6 MB

    cache = ModelCache(maxsize=10, max_mb=20)
    assert 7.6 < weight_mb(Scorer()) < 7.7
    first, second = cache.get("a", Scorer), cache.get("b", Scorer)
    assert sorted(cache.keys()) == ["a", "b"] and 15 < cache.total_mb < 16
    cache.get("c", Scorer)  # 22.9 MB > 20: the least recently used goes, though 3 < maxsize
    assert sorted(cache.keys()) == ["b", "c"] and cache.get("b", Scorer) is second
    # an entry heavier than the whole budget still serves (the newest always stays)
    cache.get("big", lambda: torch.nn.Linear(4000, 2000))
    assert cache.keys() == ["big"]
    del first


def test_mean_mid_pooling_adds_an_intermediate_layer_beside_the_mean_vector():
    texts = [
        "Libraries should stay open because books and quiet rooms help everyone study.",
        "Computers help students find information, but they also distract them from homework.",
        "The cyclist rode on although the road was hot and the water ran out.",
    ]
    mean = encoder_spec(max_length=32, precision="fp")
    both = encoder_spec(max_length=32, precision="fp", pooling="mean+mid")
    # Stored vectors of one pooling must never be read as the other's: the key names it, and
    # keys without a pooling (written before it existed) still mean "mean".
    assert both.key != mean.key and pooling_of_key(both.key) == "mean+mid" and pooling_of_key(mean.key) == "mean"
    a = inference.embed(mean, texts)
    b = inference.embed(both, texts)
    assert b.shape == (3, 768) and b.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-4)
    # The first half is the mean-pooled vector (scaled by 1/sqrt 2), from the same forward pass ...
    np.testing.assert_allclose(b[:, :384] * np.sqrt(2.0), a, atol=1e-5)
    # ... and the second half is a different layer's view of the text, not a copy of it.
    second = b[:, 384:] * np.sqrt(2.0)
    np.testing.assert_allclose(np.linalg.norm(second, axis=1), 1.0, atol=1e-4)
    assert np.max(np.abs(second - a)) > 0.05
    # One loaded model serves both poolings.
    assert get_encoder(both) is get_encoder(mean)
    with pytest.raises(ValueError):
        encoder_spec(pooling="max")
