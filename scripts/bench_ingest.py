"""Ingest + index on real minutes against bare ``encode`` of the same texts (issue #8).

    .venv/bin/python scripts/bench_ingest.py [--docs DIR] [--runs 3] [--out FILE]

Two kinds of fresh subprocess, measured alike (wall time around the process, peak RSS and CPU
time from ``os.wait4``), alternated run by run so drifting load on a shared machine hits both:

* pipeline: ``python -m rag.cli index DOCS --index-dir TMP --rebuild`` — read, parse, chunk,
  load the model, embed, FAISS + BM25, atomic write; a fresh index folder every run;
* bare: load the same model and call its ``encode`` once on exactly the chunk texts the
  pipeline embeds (same prompt, batch size and threads): no parsing, no BM25, no FAISS.

Both include interpreter start and model load, so the overhead is everything the pipeline does
besides embedding. Prints medians, the overhead ratio and a phase breakdown of the pipeline
(from its progress lines on stderr) as Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DOCS = REPO.parent / "shared" / "bench" / "tokyo2020" / "docs"
TARGET_PCT = 15.0


def _child_env() -> dict[str, str]:
    """Both children see the default settings (only the model cache is kept), and run from a
    temp folder, so no developer ``.env`` or MINUTES_RAG_* variable changes one of them."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MINUTES_RAG_") or k == "MINUTES_RAG_MODEL_CACHE"
    }
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def chunk_texts(docs: Path) -> list[str]:
    """The texts the pipeline embeds, made the way it makes them (no model needed)."""
    sys.path.insert(0, str(REPO))
    from rag.chunk import chunk_meetings
    from rag.config import Settings
    from rag.ingest import ingest_paths

    result = ingest_paths([docs], Settings())
    if result.errors:
        raise SystemExit(f"cannot read {docs}: {result.errors[0]}")
    return [c.index_text for c in chunk_meetings(result.meetings, Settings())]


def run_measured(cmd: list[str], cwd: Path) -> dict:
    """Run one child; wall seconds, peak RSS (MB) and CPU seconds of that child alone."""
    # Output goes to files (no pipe can fill up); the child is reaped with wait4 for its rusage.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=_child_env(), stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stderr[-2000:]}")
    return {
        "wall_s": wall,
        "peak_rss_mb": usage.ru_maxrss / 1024,  # KiB on Linux
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "stdout": stdout,
        "stderr": stderr,
    }


_PHASE = re.compile(r"^\[\s*([0-9.]+)s\] (.*)$")


def pipeline_phases(stderr: str) -> dict[str, float]:
    """Seconds between the CLI's phase lines: reading+parsing+chunking+model load, embedding,
    writing (FAISS, BM25, JSON, fsync)."""
    marks: dict[str, float] = {}
    for line in stderr.splitlines():
        m = _PHASE.match(line)
        if not m:
            continue
        at, msg = float(m[1]), m[2]
        if "embedding passages" in msg:
            marks.setdefault("embed", at)
        elif "writing the index" in msg:
            marks.setdefault("write", at)
        elif "index written" in msg:
            marks.setdefault("done", at)
    if len(marks) < 3:
        return {}
    return {
        "before_embed_s": marks["embed"],
        "embed_s": marks["write"] - marks["embed"],
        "write_s": marks["done"] - marks["write"],
    }


def child_encode(texts_file: Path) -> None:
    """The bare child: load the model as the pipeline does, encode the texts once."""
    t0 = time.perf_counter()
    sys.path.insert(0, str(REPO))
    from rag.config import load_settings
    from rag.embed import get_embedder

    texts = json.loads(texts_file.read_text("utf-8"))
    emb = get_embedder(load_settings())
    t1 = time.perf_counter()
    vecs = emb.model.encode(
        texts,
        prompt=emb.passage_prompt or None,
        batch_size=emb.batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    t2 = time.perf_counter()
    assert len(vecs) == len(texts)
    print(json.dumps({"load_s": t1 - t0, "encode_s": t2 - t1, "n": len(texts)}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--docs", type=Path, default=DEFAULT_DOCS, help="minutes folder")
    ap.add_argument("--runs", type=int, default=3, help="runs of each kind (alternated)")
    ap.add_argument("--out", type=Path, help="also write the Markdown to this file")
    ap.add_argument("--child-encode", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_encode:
        child_encode(args.child_encode)
        return

    docs = args.docs.resolve()
    tmp = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        texts = chunk_texts(docs)
        texts_file = tmp / "texts.json"
        texts_file.write_text(json.dumps(texts, ensure_ascii=False), "utf-8")
        load_before = os.getloadavg()[0]
        runs: dict[str, list[dict]] = {"pipeline": [], "bare": []}
        for r in range(args.runs):
            # p b / b p / p b: neither kind always runs first (caches, load drift).
            order = ("pipeline", "bare") if r % 2 == 0 else ("bare", "pipeline")
            for kind in order:
                if kind == "pipeline":
                    index_dir = tmp / f"index-{r}"
                    cmd = [sys.executable, "-m", "rag.cli", "index", str(docs)]
                    cmd += ["--index-dir", str(index_dir), "--rebuild", "--json"]
                    m = run_measured(cmd, tmp)
                    report = json.loads(m["stdout"])
                    assert report["texts_embedded"] == len(texts), report
                    stored = json.loads((index_dir / "chunks.json").read_text("utf-8"))
                    assert [c["index_text"] for c in stored] == texts, "texts differ"
                    m.update(pipeline_phases(m["stderr"]))
                    index_dir.unlink()  # a symlink to its version folder, removed below
                    for leftover in tmp.glob(f".index-{r}.*"):
                        shutil.rmtree(leftover, ignore_errors=True)
                else:
                    cmd = [sys.executable, str(Path(__file__).resolve()), "--child-encode"]
                    m = run_measured([*cmd, str(texts_file)], tmp)
                    m.update(json.loads(m["stdout"].strip().splitlines()[-1]))
                m.pop("stdout"), m.pop("stderr")
                runs[kind].append(m)
                shown = {k: round(v, 2) for k, v in m.items() if isinstance(v, float)}
                print(f"  run {r + 1} {kind}: {shown}", file=sys.stderr, flush=True)
        load_after = os.getloadavg()[0]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def med(kind: str, key: str) -> float:
        return statistics.median(x[key] for x in runs[kind] if key in x)

    pipe_wall, bare_wall = med("pipeline", "wall_s"), med("bare", "wall_s")
    overhead = 100 * (pipe_wall / bare_wall - 1)
    cpu_overhead = 100 * (med("pipeline", "cpu_s") / med("bare", "cpu_s") - 1)
    paired = [
        100 * (p["wall_s"] / b["wall_s"] - 1)
        for p, b in zip(runs["pipeline"], runs["bare"], strict=True)
    ]
    n = args.runs
    chars = statistics.mean(len(t) for t in texts)
    lines = [
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python"
        f" {platform.python_version()}; default settings (batch 16, 2 threads, e5-small);"
        f" load average (1 min) at start / end: {load_before:.2f} / {load_after:.2f}.",
        f"{docs.name}: {len(texts)} chunks, mean {chars:.0f} characters embedded;"
        f" medians of {n} runs of each kind, alternated, in one invocation.",
        "",
        "| process | wall | peak RSS | CPU time | of which |",
        "| --- | --- | --- | --- | --- |",
        f"| `minutes-rag index` (fresh folder) | {pipe_wall:.1f} s |"
        f" {med('pipeline', 'peak_rss_mb'):.0f} MB | {med('pipeline', 'cpu_s'):.1f} s |"
        f" start → embedding {med('pipeline', 'before_embed_s'):.1f} s (imports, read, parse,"
        f" chunk, model load), embedding {med('pipeline', 'embed_s'):.1f} s,"
        f" write {med('pipeline', 'write_s'):.1f} s (FAISS, BM25, JSON, fsync) |",
        f"| bare `encode`, same texts | {bare_wall:.1f} s | {med('bare', 'peak_rss_mb'):.0f} MB |"
        f" {med('bare', 'cpu_s'):.1f} s | imports + model load {med('bare', 'load_s'):.1f} s,"
        f" encode {med('bare', 'encode_s'):.1f} s |",
        "",
        f"Pipeline overhead over bare `encode`: **{overhead:+.1f} %** wall (per run:"
        f" {', '.join(f'{x:+.1f}' for x in paired)} %), {cpu_overhead:+.1f} % CPU time;"
        f" target ≤ {TARGET_PCT:.0f} %: {'met' if overhead <= TARGET_PCT else 'NOT met'}.",
    ]
    md = "\n".join(lines)
    print(md)
    if args.out:
        args.out.write_text(md + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
