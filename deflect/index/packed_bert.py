"""Sentence vectors of a BERT sentence-transformers model (mean pooling, normalised: all-MiniLM-L6-v2)
for a batch of short texts, computed without padding.

The model's own forward pads every text of a batch to the longest one: with live queries of 6 to 24
tokens about a third of the work of a batch went into padding. Here the tokens of all texts are packed
into one matrix for everything that works token by token (embeddings, the linear layers, GELU, layer
norms: nearly all of the cost), and only attention, which mixes the tokens of one text, runs on a padded
copy with padding keys masked out, as the model does. The weights are the model's own and the same
operations run in the same order, so the vectors are those of ``SentenceTransformer.encode`` (to float
rounding). It also skips the per-call machinery of the model's modules, a fixed cost per forward that
dominated small batches.

The linear layers (three quarters of the time) multiply with numpy's BLAS on weights stored input-major
(a copy, about 42 MB for MiniLM): for the few dozen tokens of a live batch that took 20 to 30 % less
time than torch's on one core of the 2-core AMD server (torch's linear multiplies with the
output-major weight transposed). Results differ only by float rounding.
"""
from __future__ import annotations

import numpy as np

FEATURE_KEYS = ("input_ids", "attention_mask")


def packed_encoder(model) -> PackedBert | None:
    """A ``PackedBert`` for ``model`` (a SentenceTransformer) when it is exactly what this module computes:
    a BERT encoder with absolute positions and GELU, mean pooling, normalisation, on the CPU; else None."""
    try:
        from sentence_transformers.models import Normalize, Pooling
        from transformers import BertModel
    except ImportError:   # other versions name them elsewhere: the model's own forward answers
        return None
    modules = list(model)
    if len(modules) != 3 or not isinstance(modules[1], Pooling) or not isinstance(modules[2], Normalize):
        return None
    bert = getattr(modules[0], "auto_model", None)
    if not isinstance(bert, BertModel) or model.device.type != "cpu":
        return None
    config = bert.config
    pooling = modules[1]
    if (getattr(pooling, "pooling_mode", None) != "mean" or not getattr(pooling, "include_prompt", True)
            or config.hidden_act != "gelu" or getattr(config, "position_embedding_type", "absolute") != "absolute"
            or config.is_decoder or getattr(model, "default_prompt_name", None) is not None
            or getattr(model, "truncate_dim", None) is not None
            or getattr(model.tokenizer, "padding_side", "right") != "right"):
        return None
    return PackedBert(model, bert)


class PackedBert:
    """``encode(texts)`` -> (n, dim) float32 unit vectors, as the wrapped model gives them."""

    def __init__(self, model, bert):
        self.model = model
        self.bert = bert
        config = bert.config
        self.heads = config.num_attention_heads
        self.hidden = config.hidden_size
        self.eps = config.layer_norm_eps
        self.layers = []
        for layer in bert.encoder.layer:
            attention = layer.attention
            q, k, v = attention.self.query, attention.self.key, attention.self.value
            self.layers.append((
                # one product for queries, keys and values instead of three
                _Linear(_cat([q.weight, k.weight, v.weight]), _cat([q.bias, k.bias, v.bias])),
                _Linear.of(attention.output.dense), attention.output.LayerNorm,
                _Linear.of(layer.intermediate.dense), _Linear.of(layer.output.dense), layer.output.LayerNorm,
            ))

    def encode(self, texts: list[str]) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        features = self.model.preprocess(texts) if hasattr(self.model, "preprocess") else self.model.tokenize(texts)
        ids, mask = features["input_ids"], features["attention_mask"].bool()
        types = features.get("token_type_ids")
        n, width = ids.shape
        tokens = mask.reshape(-1).nonzero().squeeze(1)             # positions of real tokens in (n * width)
        text_of = torch.div(tokens, width, rounding_mode="floor")  # the text each packed token belongs to
        with torch.inference_mode():
            emb = self.bert.embeddings
            x = (emb.word_embeddings(ids.reshape(-1)[tokens])
                 + emb.token_type_embeddings(types.reshape(-1)[tokens] if types is not None
                                             else torch.zeros_like(tokens))
                 + emb.position_embeddings(torch.remainder(tokens, width)))
            x = F.layer_norm(x, (self.hidden,), emb.LayerNorm.weight, emb.LayerNorm.bias, self.eps)
            keys = mask[:, None, None, :]   # attention to real tokens only, as the model masks padding
            head = self.hidden // self.heads
            for qkv_layer, out, out_norm, up, down, down_norm in self.layers:
                qkv = qkv_layer(x)
                padded = qkv.new_zeros(n * width, 3 * self.hidden)
                padded[tokens] = qkv
                q, k, v = padded.view(n, width, 3, self.heads, head).permute(2, 0, 3, 1, 4)
                context = F.scaled_dot_product_attention(q, k, v, attn_mask=keys)
                context = context.transpose(1, 2).reshape(n * width, self.hidden)[tokens]
                x = F.layer_norm(out(context) + x, (self.hidden,), out_norm.weight, out_norm.bias, self.eps)
                inner = F.gelu(up(x))
                x = F.layer_norm(down(inner) + x, (self.hidden,), down_norm.weight, down_norm.bias, self.eps)
            sums = x.new_zeros(n, self.hidden).index_add_(0, text_of, x)
            counts = mask.sum(1, keepdim=True).clamp(min=1).to(x.dtype)
            out = F.normalize(sums / counts, p=2, dim=1)
        return out.float().numpy()


class _Linear:
    """``F.linear`` of a float32 CPU tensor with numpy's BLAS on the weight stored input-major."""

    def __init__(self, weight, bias):
        self.weight = np.ascontiguousarray(weight.detach().float().numpy().T)   # (in, out)
        self.bias = bias.detach().float().numpy().copy()

    @classmethod
    def of(cls, module) -> _Linear:
        return cls(module.weight, module.bias)

    def __call__(self, x):
        import torch
        out = np.matmul(np.ascontiguousarray(x.numpy()), self.weight)
        out += self.bias
        return torch.from_numpy(out)


def _cat(tensors):
    import torch
    return torch.cat([t.detach() for t in tensors]).contiguous()
