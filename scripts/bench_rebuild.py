"""``build_index`` on a folder that has not changed: the first build against the next ones.

    PYTHONPATH=. .venv/bin/python scripts/bench_rebuild.py [--docs DIR] [--runs 3] [--index-dir D]

One process, default settings (only the model cache comes from the environment), a fresh
temp index folder. Builds once (read, parse, chunk, load the model, embed everything, write),
then builds the same unchanged folder ``--runs`` more times (nothing is embedded again; the
model is already loaded), and times one bare ``ingest_paths`` (read + parse of every file) for
comparison. Checks that every rebuild stored exactly the chunks and vectors of the first.
Prints wall seconds as Markdown.

``--index-dir D`` keeps the index in D; when D already holds one, the first build is an
untimed warm-up instead (so two versions of the code can be compared, alternately, on one
index without embedding it again).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DOCS = REPO.parent / "shared" / "bench" / "tokyo2020" / "docs"


def _snapshot(settings) -> tuple[list, object]:
    from rag.index import load_index
    from rag.types import chunk_to_dict

    idx = load_index(settings)
    return [chunk_to_dict(c) for c in idx.chunks], idx.vectors.copy()


def main() -> None:
    import numpy as np

    from rag.config import Settings, load_settings
    from rag.index import build_index, index_exists
    from rag.ingest import ingest_paths

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--docs", type=Path, default=DEFAULT_DOCS, help="minutes folder")
    ap.add_argument("--runs", type=int, default=3, help="builds of the unchanged folder")
    ap.add_argument("--index-dir", type=Path, help="keep the index here (default: a temp dir)")
    args = ap.parse_args()
    docs = args.docs.resolve()
    cache = load_settings(env={k: v for k, v in os.environ.items() if k.endswith("MODEL_CACHE")})
    with tempfile.TemporaryDirectory(prefix="bench-rebuild-") as tmp:
        index_dir = args.index_dir or Path(tmp) / "index"
        s = Settings(index_dir=index_dir.resolve(), model_cache=cache.model_cache)
        warm_up = index_exists(s)
        t = time.perf_counter()
        first = build_index([docs], s)
        first_s = time.perf_counter() - t
        if first.errors:
            raise SystemExit(f"cannot read {docs}: {first.errors[0]}")
        chunks, vectors = _snapshot(s)
        again = []
        for _ in range(args.runs):
            t = time.perf_counter()
            report = build_index([docs], s)
            again.append(time.perf_counter() - t)
            assert report.texts_embedded == 0 and report.errors == ()
            now_chunks, now_vectors = _snapshot(s)
            assert now_chunks == chunks and np.array_equal(now_vectors, vectors)
        t = time.perf_counter()
        ingest_paths([docs], s)
        parse_s = time.perf_counter() - t
    n_files = first.files_added + first.files_changed + first.files_unchanged
    print(f"{docs.name}: {n_files} files, {first.chunks_total} chunks")
    print()
    print("| step | wall |")
    print("| --- | --- |")
    what = "warm-up `build_index` on the existing index" if warm_up else "first `build_index`"
    print(f"| {what} (model load, embed {first.texts_embedded}) | {first_s:.1f} s |")
    runs = ", ".join(f"{x:.2f}" for x in again)
    med = statistics.median(again)
    print(f"| `build_index`, unchanged folder (median of {args.runs}: {runs}) | {med:.2f} s |")
    print(f"| bare `ingest_paths` (read + parse every file) | {parse_s:.2f} s |")


if __name__ == "__main__":
    main()
