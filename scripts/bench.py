"""Speed and memory benchmark for indexing and retrieval on this machine.

    .venv/bin/python scripts/bench.py [--quick] [--out FILE]

Prints a Markdown table (medians of several runs within one invocation):
- index build throughput (ingested meetings -> chunks -> embeddings -> FAISS + BM25 on disk)
  against the bare model's ``encode`` on the same texts, and the pipeline overhead;
- query latency p50/p95 for a full hybrid ``search`` (query embedding + FAISS + BM25 + fusion)
  at 1k, 10k and 100k chunks, load time, peak RSS and size on disk.

Large corpora are made by replicating the real minutes' chunks with perturbed text and
perturbed (re-normalised) vectors, so no 100k texts are embedded. Query measurements run in a
fresh subprocess per size so load time and peak memory are those of a serving process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from rag.config import Settings, load_settings  # noqa: E402

QUERIES = [
    "FIWAREについて委員の意見は？",
    "What did members say about FIWARE?",
    "テレワーク実施率について",
    "デジタル人材の育成",
    "データ連携基盤の標準化",
    "会議の日時と場所は？",
    "市町村のデジタル化の課題",
    "ＤＸを進める人材に必要なこと",
    "オープンデータの活用",
    "札幌市 ICT 活用戦略 数値目標",
]


def _settings(index_dir: Path) -> Settings:
    base = load_settings(
        env={k: v for k, v in os.environ.items() if k == "MINUTES_RAG_MODEL_CACHE"}
    )
    return Settings(index_dir=index_dir, model_cache=base.model_cache)


def _corpus_meetings(settings: Settings):
    from rag.ingest import ingest_paths

    return list(ingest_paths([REPO / "corpus"], settings).meetings)


def _perturbed_meetings(meetings, copies: int):
    """``copies`` variants of each meeting with slightly different statement texts."""
    out = []
    for c in range(copies):
        for m in meetings:
            stmts = tuple(
                replace(s, text=f"{s.text}（記録{c}-{j}）", norm_text=f"{s.norm_text}(記録{c}-{j})")
                for j, s in enumerate(m.statements)
            )
            out.append(replace(m, id=f"{m.id}-v{c}", file=f"{m.file}#v{c}", statements=stmts))
    return out


def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _pct(values: list[float], p: float) -> float:
    return float(np.percentile(np.array(values), p))


# --- build throughput ---------------------------------------------------------------------------


def bench_build(runs: int, copies: int) -> dict:
    from rag.chunk import chunk_meetings
    from rag.embed import get_embedder
    from rag.index import index_meetings

    tmp = Path(tempfile.mkdtemp(prefix="bench-build-"))
    try:
        settings = _settings(tmp / "index")
        emb = get_embedder(settings)
        meetings = _perturbed_meetings(_corpus_meetings(settings), copies)
        texts = [c.index_text for c in chunk_meetings(meetings, settings)]
        emb.embed_passages(texts[:32])  # warm-up
        bare, pipe = [], []
        for _ in range(runs):
            t = time.perf_counter()
            emb.model.encode(
                texts,
                prompt=emb.passage_prompt,
                batch_size=settings.batch_size,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
            bare.append(time.perf_counter() - t)
            t = time.perf_counter()
            report = index_meetings(meetings, settings, rebuild=True)
            pipe.append(time.perf_counter() - t)
            assert report.texts_embedded == len(texts)
        t_bare, t_pipe = statistics.median(bare), statistics.median(pipe)
        return {
            "texts": len(texts),
            "mean_chars": statistics.mean(len(t) for t in texts),
            "bare_per_s": len(texts) / t_bare,
            "pipeline_per_s": len(texts) / t_pipe,
            "overhead_pct": 100 * (t_pipe / t_bare - 1),
            "runs": runs,
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- large synthetic indexes -------------------------------------------------------------------


def make_index(n: int, index_dir: Path, ann: bool | None = None) -> dict:
    """Write an index of ``n`` chunks: the corpus chunks replicated with perturbed text and
    vectors (embedded once, then noise added and re-normalised)."""
    from rag.chunk import chunk_meetings
    from rag.embed import get_embedder
    from rag.index import write_index
    from rag.late import compact, projection

    settings = _settings(index_dir)
    emb = get_embedder(settings)
    base_meetings = _corpus_meetings(settings)
    base_chunks = chunk_meetings(base_meetings, settings)
    proj = projection(settings.model)
    base_vecs, base_tokens = emb.embed_passages_tokens(
        [c.index_text for c in base_chunks], keep=lambda t: compact(t, proj)
    )
    copies = -(-n // len(base_chunks))
    meetings = _perturbed_meetings(base_meetings, copies)
    chunks = chunk_meetings(meetings, settings)[:n]
    rng = np.random.default_rng(0)
    reps = np.tile(base_vecs, (copies, 1))[:n]
    vecs = reps + rng.normal(0, 0.02, size=reps.shape).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    use_ann = (n > settings.ann_threshold) if ann is None else ann
    kept = {c.meeting_id for c in chunks}
    t = time.perf_counter()
    write_index(
        index_dir,
        settings,
        emb,
        [m for m in meetings if m.id in kept],
        chunks,
        vecs.astype(np.float32),
        use_ann,
        tokens=(base_tokens * copies)[:n],  # the copies' token vectors, as their text
    )
    return {"write_s": time.perf_counter() - t, "ann": use_ann}


def child_query(index_dir: Path, repeats: int) -> None:
    """Run in a fresh process: load the index, time searches, print JSON."""
    from rag.embed import get_embedder
    from rag.index import load_index
    from rag.retrieve import search

    settings = _settings(index_dir)
    get_embedder(settings)  # model load is not index load
    t = time.perf_counter()
    idx = load_index(settings)
    load_s = time.perf_counter() - t
    for q in QUERIES:  # warm-up (Sudachi dictionary, FAISS threads)
        search(idx, q)
    lat, embed_lat = [], []
    for _ in range(repeats):
        for q in QUERIES:
            idx.embedder().clear_query_cache()  # time the model, not the query cache
            t = time.perf_counter()
            idx.embedder().embed_queries([q])
            embed_lat.append(time.perf_counter() - t)
            idx.embedder().clear_query_cache()
            t = time.perf_counter()
            hits = search(idx, q, k=5)
            lat.append(time.perf_counter() - t)
            assert len(hits) == 5
    print(
        json.dumps(
            {
                "n": len(idx.chunks),
                "ann": idx.is_ann,
                "load_s": load_s,
                "p50_ms": 1000 * _pct(lat, 50),
                "p95_ms": 1000 * _pct(lat, 95),
                "embed_p50_ms": 1000 * _pct(embed_lat, 50),
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "disk_mb": _du(index_dir) / 1e6,
            }
        )
    )


def bench_queries(sizes: list[int], repeats: int, ann_sizes: set[int]) -> list[dict]:
    rows = []
    for n in sizes:
        for ann in sorted({False} | ({True} if n in ann_sizes else set())):
            tmp = Path(tempfile.mkdtemp(prefix=f"bench-{n}-"))
            try:
                built = make_index(n, tmp / "index", ann=ann)
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--child-query",
                        str(tmp / "index"),
                        "--repeats",
                        str(repeats),
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                row = json.loads(out.stdout.strip().splitlines()[-1])
                row["write_s"] = built["write_s"]
                rows.append(row)
                print(f"  {n:>7} chunks ann={ann}: {row}", file=sys.stderr, flush=True)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer runs, 1k and 10k chunks only")
    ap.add_argument("--out", type=Path, help="also write the Markdown to this file")
    ap.add_argument("--child-query", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--repeats", type=int, default=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_query:
        child_query(args.child_query, args.repeats)
        return

    load_before = os.getloadavg()[0]
    runs = 1 if args.quick else 5  # bare and pipeline interleaved; 3 runs proved too noisy
    copies = 2 if args.quick else 4
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    repeats = 2 if args.quick else 5
    print("build throughput…", file=sys.stderr, flush=True)
    b = bench_build(runs, copies)
    print(f"  {b}", file=sys.stderr, flush=True)
    print("query latency…", file=sys.stderr, flush=True)
    q = bench_queries(sizes, repeats, ann_sizes={100_000})

    settings = _settings(Path("index"))
    load_after = os.getloadavg()[0]
    busy = max(load_before, load_after) > 0.5 * (os.cpu_count() or 1)
    lines = [
        f"Machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()},"
        f" Python {platform.python_version()}; threads={settings.threads},"
        f" batch_size={settings.batch_size}, model={settings.model}.",
        f"Load average (1 min) at start / end: {load_before:.2f} / {load_after:.2f}"
        + (" — the machine was busy: numbers are pessimistic, re-run when idle." if busy else "."),
        "",
        "| build (texts embedded) | bare `encode` texts/s | pipeline texts/s | overhead |",
        "| --- | --- | --- | --- |",
        f"| {b['texts']} chunks, ≈{b['mean_chars']:.0f} chars, median of {b['runs']} |"
        f" {b['bare_per_s']:.1f} | {b['pipeline_per_s']:.1f} | {b['overhead_pct']:+.1f} % |",
        "",
        "| chunks | FAISS | query p50 | query p95 | of which query embedding (p50) | load |"
        " peak RSS | index on disk |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in q:
        lines.append(
            f"| {r['n']:,} | {'HNSW' if r['ann'] else 'flat'} | {r['p50_ms']:.1f} ms |"
            f" {r['p95_ms']:.1f} ms | {r['embed_p50_ms']:.1f} ms | {r['load_s']:.2f} s |"
            f" {r['peak_rss_mb']:.0f} MB | {r['disk_mb']:.0f} MB |"
        )
    md = "\n".join(lines)
    print(md)
    if args.out:
        args.out.write_text(md + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
