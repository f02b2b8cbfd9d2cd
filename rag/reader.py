"""The reader: a cross-encoder that reads a question and a passage *together* and scores
whether the passage says what is asked (not only what it is about).

Bi-encoder cosine and keyword coverage see that 「自動運転の実証実験の予算は？」 and a passage on
autonomous-driving trials share a topic; only reading both at once can see that no budget is
given. There is no Japanese cross-encoder to install, so this one is fine-tuned here from the
bundled multilingual-e5-small (``scripts/train_reader.py``, data card ``rag/models/reader.md``):
the lower layers are e5's own (read from the converted model folder, see rag/embed.py), the top
``trained_layers`` layers and a linear head come from ``rag/models/reader.safetensors`` (fp16).
Its score is one feature of the relevance judge (rag/judge.py), which calibrates it.

The encoder is written out here (a BERT layer is a dozen lines) rather than taken from
transformers, so training can cache the frozen layers' output and run only the top ones, and so
inference does not depend on a library's private attention-mask conventions. A test checks it
against transformers' BertModel on the same weights.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import Settings

MODEL_FILE = Path(__file__).with_name("models") / "reader.safetensors"
# Question + passage tokens read per pair. 256 holds the p90 tokyo2020 chunk (227 tokens with
# its prefix) plus a 30-token question; longer passages are cut at the end.
MAX_TOKENS = 256
QUERY_PREFIX, PASSAGE_PREFIX = "query: ", "passage: "  # e5's own prefixes
BATCH = 16  # pairs per forward pass (the embedder's batch size; larger gains nothing on 2 cores)

_lock = threading.Lock()
_cache: dict[tuple[str, str], Reader] = {}


def reader_text(chunk: Any) -> str:
    """What the reader sees of a passage: who speaks, under which heading, then the words."""
    head = " / ".join(p for p in (chunk.role_label or chunk.speaker, chunk.topic) if p)
    return f"{head}： {chunk.text}" if head else chunk.text


# --- tokens ------------------------------------------------------------------------------


def pair_ids(tokenizer: Any, question: str, passages: Sequence[str]) -> list[list[int]]:
    """XLM-R pair layout ``<s> query </s></s> passage </s>``, cut to MAX_TOKENS (passage end
    first; a question alone never exceeds half)."""
    q = tokenizer.encode(QUERY_PREFIX + question).ids[: MAX_TOKENS // 2]
    sep = q[-1]
    out = []
    for p in tokenizer.encode_batch([PASSAGE_PREFIX + t for t in passages]):
        body = p.ids[1:-1][: MAX_TOKENS - len(q) - 2]
        out.append([*q, sep, *body, sep])
    return out


def pad(batch: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(x) for x in batch)
    ids = np.full((len(batch), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(batch), width), dtype=bool)
    for i, x in enumerate(batch):
        ids[i, : len(x)] = x
        mask[i, : len(x)] = True
    return ids, mask


# --- the network -------------------------------------------------------------------------


def build_encoder(config: dict, weights: dict[str, Any]) -> Any:
    """e5-small's BERT encoder as torch modules over a state dict in Hugging Face names."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    hidden, heads = config["hidden_size"], config["num_attention_heads"]
    eps = config["layer_norm_eps"]

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q, self.k, self.v, self.ao = (nn.Linear(hidden, hidden) for _ in range(4))
            self.fi = nn.Linear(hidden, config["intermediate_size"])
            self.fo = nn.Linear(config["intermediate_size"], hidden)
            self.aln, self.oln = nn.LayerNorm(hidden, eps=eps), nn.LayerNorm(hidden, eps=eps)

        def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
            b, n, _ = x.shape

            def split(t: torch.Tensor) -> torch.Tensor:
                return t.view(b, n, heads, -1).transpose(1, 2)

            a = F.scaled_dot_product_attention(
                split(self.q(x)), split(self.k(x)), split(self.v(x)), attn_mask=bias
            )
            x = self.aln(x + self.ao(a.transpose(1, 2).reshape(b, n, hidden)))
            return self.oln(x + self.fo(F.gelu(self.fi(x))))

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.word = nn.Embedding(config["vocab_size"], hidden)
            self.pos = nn.Embedding(config["max_position_embeddings"], hidden)
            self.ttype = nn.Embedding(config["type_vocab_size"], hidden)
            self.eln = nn.LayerNorm(hidden, eps=eps)
            self.layers = nn.ModuleList(Layer() for _ in range(config["num_hidden_layers"]))

        def embed(self, ids: torch.Tensor) -> torch.Tensor:
            positions = torch.arange(ids.shape[1]).unsqueeze(0)
            return self.eln(self.word(ids) + self.pos(positions) + self.ttype.weight[0])

        def run(self, x: torch.Tensor, mask: torch.Tensor, start: int, stop: int) -> torch.Tensor:
            bias = mask_bias(mask, x.dtype)
            for layer in self.layers[start:stop]:
                x = layer(x, bias)
            return x

    enc = Encoder()
    names = {"word": "embeddings.word_embeddings.weight", "pos":
             "embeddings.position_embeddings.weight", "ttype":
             "embeddings.token_type_embeddings.weight", "eln.weight": "embeddings.LayerNorm.weight",
             "eln.bias": "embeddings.LayerNorm.bias"}  # fmt: skip
    parts = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense",
             "aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}  # fmt: skip
    state = {}
    for ours, theirs in names.items():
        state[ours if "." in ours else ours + ".weight"] = weights[theirs]
    for i in range(config["num_hidden_layers"]):
        for ours, theirs in parts.items():
            for kind in ("weight", "bias"):
                state[f"layers.{i}.{ours}.{kind}"] = weights[f"encoder.layer.{i}.{theirs}.{kind}"]
    enc.load_state_dict({k: torch.as_tensor(np.asarray(v)) for k, v in state.items()})
    return enc


def mask_bias(mask: Any, dtype: Any) -> Any:
    """Additive attention bias (batch, 1, 1, tokens): 0 for tokens, -inf-ish for padding."""
    import torch

    return (~mask)[:, None, None, :].to(dtype) * torch.finfo(dtype).min


def pooled(x: Any, mask: Any) -> Any:
    """Mean over real tokens: e5's own pooling, so the head starts from familiar features."""
    m = mask.unsqueeze(-1).to(x.dtype)
    return (x * m).sum(1) / m.sum(1).clamp(min=1)


# --- the shipped model -------------------------------------------------------------------


@dataclass
class Reader:
    """Base e5 layers + the fine-tuned top layers and head; ``score`` gives one logit per pair."""

    encoder: Any
    head: Any
    tokenizer: Any
    trained_layers: int
    pad_id: int
    meta: dict

    def score(self, question: str, passages: Sequence[str]) -> np.ndarray:
        import torch

        if not passages:
            return np.zeros(0)
        ids = pair_ids(self.tokenizer, question, passages)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # similar lengths pad less
        out = np.zeros(len(ids))
        n_layers = len(self.encoder.layers)
        with torch.inference_mode():
            for s in range(0, len(order), BATCH):
                part = order[s : s + BATCH]
                tok, mask = pad([ids[i] for i in part], self.pad_id)
                tok_t, mask_t = torch.from_numpy(tok), torch.from_numpy(mask)
                x = self.encoder.run(self.encoder.embed(tok_t), mask_t, 0, n_layers)
                out[part] = self.head(pooled(x, mask_t)).squeeze(-1).double().numpy()
        return out


def base_parts(settings: Settings) -> tuple[dict, dict[str, Any], Any]:
    """config, float32 weights and tokenizer of the bundled e5-small (converted once)."""
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    from rag.embed import prepare_default_model

    folder = prepare_default_model(settings)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    weights = load_file(str(folder / "model.safetensors"))
    return config, weights, Tokenizer.from_file(str(folder / "tokenizer.json"))


def assemble(config: dict, weights: dict[str, Any], tokenizer: Any, tuned: dict[str, Any],
             meta: dict, quantize: bool = True) -> Reader:  # fmt: skip
    """The base encoder with ``tuned`` (our names: ``layers.{i}.*`` and ``head.*``) on top."""
    import torch

    encoder = build_encoder(config, weights)
    head = torch.nn.Linear(config["hidden_size"], 1)
    own = {k: torch.as_tensor(np.asarray(v, dtype=np.float32)) for k, v in tuned.items()}
    head.load_state_dict({k[5:]: v for k, v in own.items() if k.startswith("head.")})
    encoder.load_state_dict(
        {k: v for k, v in own.items() if not k.startswith("head.")}, strict=False
    )
    encoder.eval()
    if quantize:
        # int8 weights for the linear layers: half the time per pair on CPU (9 vs 18 ms at
        # ~110 tokens, measured here); training scores its dev rows through the same path.
        encoder = torch.ao.quantization.quantize_dynamic(encoder, {torch.nn.Linear}, torch.qint8)
    return Reader(
        encoder=encoder,
        head=head.eval(),
        tokenizer=tokenizer,
        trained_layers=int(meta["trained_layers"]),
        pad_id=int(config.get("pad_token_id", 1)),
        meta=meta,
    )


def load_reader(settings: Settings, path: Path = MODEL_FILE) -> Reader | None:
    """The shipped reader, loaded once per process; None when no model file is shipped."""
    if not path.is_file():
        return None
    key = (str(settings.model_cache), str(path))
    with _lock:
        if key not in _cache:
            import torch
            from safetensors.numpy import load_file

            torch.set_num_threads(settings.threads)
            config, weights, tokenizer = base_parts(settings)
            meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
            _cache[key] = assemble(config, weights, tokenizer, load_file(str(path)), meta)
        return _cache[key]
