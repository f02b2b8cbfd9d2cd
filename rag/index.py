"""The on-disk index: FAISS vectors, a BM25 keyword index, chunks, meetings and a manifest.

``settings.index_dir`` is a symbolic link to the live version folder, a sibling named
``.<name>.v-<time>-<pid>-<rand>`` that holds::

    manifest.json   format/package/model versions, chunking + tokenizer parameters, files
                    (sha256, meeting ids, chunk count, parse stamp of each)
    meetings.json   [meeting_to_dict]      (the UI and answerer show meeting metadata)
    chunks.json     [chunk_to_dict]        (row i == FAISS id i)
    faiss.index     rag.store.FaissStore: IndexIDMap2(IndexFlatIP) or IndexIDMap2(IndexHNSWFlat)
    bm25/           bm25s arrays
    tokens.npy      each chunk's token vectors, int8 (rag.late), rows token_offsets.npy[i:i+2]

The stored vectors double as the embedding cache: a chunk whose embedded text (and model
fingerprint) is unchanged is not embedded again, unless the folder has no token vectors made
with today's projection (an index from before them, or a new ``rag/models/late.npz``): then
every text is embedded once more to store them. Likewise the stored meetings are a parse
cache: a file whose bytes are unchanged and that was parsed under the current parse stamp
(``rag.ingest.parse_stamp``: parser version + parsing settings) is not parsed again; chunking
always runs on all meetings, so changed chunking settings need no re-parse.

Crash safety: a build writes a new version folder (manifest last, everything fsynced), then
switches the link with one ``rename`` -- the only commit step, so a kill at any instant leaves
the old or the new index. The next build (under the builders' lock) removes every folder the
link does not point to; a missing link (a kill during the one-time move of an old-layout
folder, or an old ``.<name>.old-*`` left by earlier versions) is recovered from the newest
complete folder instead of rebuilding. Readers resolve the link once per load and retry if a
build replaced the version they were reading.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import secrets
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import rag
from rag.config import Settings
from rag.errors import IndexError_, InputError
from rag.late import TokenStore, compact, projection
from rag.store import DenseStore, FaissStore
from rag.types import (
    Chunk,
    Meeting,
    chunk_from_dict,
    chunk_to_dict,
    meeting_from_dict,
    meeting_to_dict,
)

Progress = Callable[[int, int, str], None]

FORMAT_VERSION = 2  # 2: statement line maps, exchanges (answers_to), attendance, new roles
MANIFEST = "manifest.json"
# The dense store used for new and loaded indexes (the one place to swap it).
STORE: type[DenseStore] = FaissStore
_FILES = ("manifest.json", "meetings.json", "chunks.json", STORE.FILE)


@dataclass
class IndexReport:
    files_added: int = 0
    files_changed: int = 0
    files_removed: int = 0
    files_unchanged: int = 0
    chunks_total: int = 0
    texts_embedded: int = 0
    errors: tuple[InputError, ...] = ()
    warnings: tuple[str, ...] = ()  # from ingestion (skipped duplicates, parse notes)
    ann: bool = False  # HNSW instead of exact search


@dataclass
class MinutesIndex:
    dir: Path
    manifest: dict
    chunks: list[Chunk]
    meetings: dict[str, Meeting]
    store: DenseStore  # dense vectors, id i == chunk i
    bm25: Any
    settings: Settings
    tokens: TokenStore | None = None  # token vectors (rag.late); None: built before them
    _ids: dict[str, int] = field(default_factory=dict, repr=False)

    def embedder(self) -> Any:
        from rag.embed import get_embedder

        return get_embedder(self.settings)

    def chunk(self, chunk_id: str) -> Chunk | None:
        i = self.position(chunk_id)
        return None if i is None else self.chunks[i]

    def position(self, chunk_id: str) -> int | None:
        """Row of the chunk in the stores (FAISS id, token rows)."""
        if not self._ids:
            self._ids = {c.id: i for i, c in enumerate(self.chunks)}
        return self._ids.get(chunk_id)

    def __len__(self) -> int:
        return len(self.chunks)

    @property
    def vectors(self) -> np.ndarray:
        """(n_chunks, dim) float32, row i == chunk i (may be a view of the store's memory)."""
        return self.store.vectors

    @property
    def is_ann(self) -> bool:
        return self.store.is_ann

    @property
    def faiss_index(self) -> Any:
        """The raw FAISS index (only for a :class:`FaissStore`; kept for older callers)."""
        return getattr(self.store, "index", None)


# --- helpers -------------------------------------------------------------------------------


def _rebuild_hint(settings: Settings) -> str:
    return (
        "`minutes-rag index --rebuild` で作り直してください。"
        f" / Rebuild it with `minutes-rag index --rebuild` (index folder: {settings.index_dir})."
    )


def index_exists(settings: Settings) -> bool:
    d = Path(settings.index_dir)
    if not d.exists():
        _try_recover(d)
    return _complete(d)


def _complete(folder: Path) -> bool:
    return all((folder / f).is_file() for f in _FILES)


FAULT_ENV = "MINUTES_RAG_FAULT"


def _fault(phase: str) -> None:
    """Test hook for the kill matrix: ``MINUTES_RAG_FAULT=<phase>`` kills this process there
    with SIGKILL (no cleanup, no finally), like a power cut or the OOM killer."""
    if os.environ.get(FAULT_ENV) == phase:
        os.kill(os.getpid(), signal.SIGKILL)


def _embed_key(fingerprint: str, text: str) -> str:
    return hashlib.sha256(f"{fingerprint}\x00{text}".encode()).hexdigest()[:32]


def _siblings(d: Path, tag: str) -> list[Path]:
    """Version folders (tag "v") and leftovers of builds ("tmp", "old", "link"), by name."""
    return sorted(d.parent.glob(f".{d.name}.{tag}-*"))


def _live(d: Path) -> Path:
    """The folder the index is read from: the link's target (or an old-layout folder)."""
    return Path(os.path.realpath(d))


def _recover(d: Path) -> None:
    """Bring back the index when ``d`` is missing: point it at the newest complete version
    folder, or move back a folder an older minutes-rag moved aside (``.old-*``) and was
    killed before it could move the new one in. Only under the build lock."""
    if d.exists():
        return
    if d.is_symlink():  # dangling: its version folder is gone
        d.unlink()
    versions = [v for v in _siblings(d, "v") if _complete(v)]
    if versions:
        _point(d, versions[-1])
        return
    old = [o for o in _siblings(d, "old") if _complete(o)]
    if old:
        newest = max(old, key=lambda p: (p / MANIFEST).stat().st_mtime_ns)
        os.replace(newest, d)
        _fsync_dir(d.parent)


def _try_recover(d: Path) -> None:
    """A reader's recovery: only when no build is running (a build recovers by itself)."""
    if not (_siblings(d, "v") or _siblings(d, "old")):
        return
    with contextlib.suppress(IndexError_), _build_lock(d, wait=False):
        _recover(d)


def _cleanup(d: Path) -> None:
    """Remove every version and leftover folder the link does not point to (build lock held:
    nobody else is writing one). A reader still loading an old version retries on the new."""
    live = _live(d)
    for tag in ("v", "tmp", "old", "link"):
        for p in _siblings(d, tag):
            if p.is_symlink() or not p.is_dir():
                with contextlib.suppress(OSError):
                    p.unlink()
            elif p.resolve() != live:
                shutil.rmtree(p, ignore_errors=True)


# Builds in one process (two uploads in the web UI at once) wait for each other; the file lock
# below only tells *other* processes that a build is running.
_process_build_lock = threading.Lock()


@contextlib.contextmanager
def _build_lock(d: Path, *, wait: bool = True) -> Iterator[None]:
    d.parent.mkdir(parents=True, exist_ok=True)
    if not _process_build_lock.acquire(blocking=wait):
        raise IndexError_(f"索引 {d} は作成中です。 / The index {d} is being built.")
    try:
        with open(d.parent / f".{d.name}.lock", "w") as fh:
            yield from _flock(fh, d)
    finally:
        _process_build_lock.release()


def _flock(fh: Any, d: Path) -> Iterator[None]:
    import fcntl

    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise IndexError_(
            f"索引 {d} は別の処理が作成中です。終わってから再実行してください。"
            f" / The index {d} is being built by another process: try again when it finishes."
        ) from None
    try:
        yield
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=1), encoding="utf-8")


# --- load ----------------------------------------------------------------------------------


def read_manifest(settings: Settings) -> dict | None:
    d = _live(Path(settings.index_dir))
    try:
        return _read_json(d / MANIFEST)
    except (OSError, ValueError):
        return None


def load_index(settings: Settings) -> MinutesIndex:
    """Load the index in ``settings.index_dir``; refuses one built with another model."""
    d = Path(settings.index_dir)
    if not index_exists(settings):
        raise IndexError_(
            f"索引 {d} がありません。先に `minutes-rag index corpus/` で作成してください。"
            f" / No index in {d}: build it first with `minutes-rag index corpus/`."
        )
    # A build may switch the link (and remove the version being read) mid-load: read one
    # resolved version, and start again on the new one if it changed under us.
    for _attempt in range(4):
        live = _live(d)
        try:
            return _load_version(d, live, settings)
        except IndexError_:
            if _live(d) == live:
                raise
    return _load_version(d, _live(d), settings)


def _load_version(d: Path, live: Path, settings: Settings) -> MinutesIndex:
    try:
        manifest = _read_json(live / MANIFEST)
        if manifest.get("format_version") != FORMAT_VERSION:
            raise IndexError_(
                f"索引 {d} の形式（{manifest.get('format_version')}）はこの版（{FORMAT_VERSION}）"
                f"と異なります。{_rebuild_hint(settings)}"
            )
        _check_model(manifest, settings)
        chunks = [chunk_from_dict(c) for c in _read_json(live / "chunks.json")]
        meetings = {m["id"]: meeting_from_dict(m) for m in _read_json(live / "meetings.json")}
        store = STORE.load(live, threads=settings.threads)
        if store.size != len(chunks):
            raise ValueError(f"{STORE.FILE} has {store.size} vectors for {len(chunks)} chunks")
        bm25 = _load_bm25(live, manifest, chunks)
        tokens = TokenStore.load(live, len(chunks), _late_sha(manifest))
    except IndexError_:
        raise
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as e:
        raise IndexError_(
            f"索引 {d} が壊れているか読めません（{type(e).__name__}: {str(e)[:160]}）。"
            f"{_rebuild_hint(settings)}"
        ) from e
    return MinutesIndex(
        dir=d,
        manifest=manifest,
        chunks=chunks,
        meetings=meetings,
        store=store,
        bm25=bm25,
        settings=settings,
        tokens=tokens,
    )


def _late_sha(manifest: dict) -> str | None:
    """The projection the stored token vectors were made with, when it is today's."""
    sha = (manifest.get("late") or {}).get("projection")
    return sha if sha and sha == projection(str(manifest.get("model", ""))).sha else None


def _check_model(manifest: dict, settings: Settings) -> None:
    from rag.embed import DEFAULT_MODEL, default_model_dir, model_fingerprint

    built = manifest.get("model")
    if built != settings.model:
        raise IndexError_(
            f"索引はモデル {built} で作られていますが、現在の設定はモデル {settings.model} です。"
            f"`minutes-rag index --rebuild` で作り直すか、MINUTES_RAG_MODEL={built} を設定してください。"
            f" / The index was built with the model {built} but the configured model is"
            f" {settings.model}: rebuild it with `minutes-rag index --rebuild` or set"
            f" MINUTES_RAG_MODEL={built}."
        )
    # Same name, different weights (e.g. a changed local folder): vectors are not comparable.
    # The default model's fingerprint is only known once its folder exists; skip otherwise.
    if settings.model == DEFAULT_MODEL and not default_model_dir(settings).exists():
        return
    now = model_fingerprint(settings)
    if manifest.get("model_fingerprint") and manifest["model_fingerprint"] != now:
        raise IndexError_(
            f"モデル {built} の中身が索引作成時（{manifest['model_fingerprint']}）と異なります（{now}）。"
            f" / The model {built} differs from the one the index was built with"
            f" ({manifest['model_fingerprint']} vs {now}). {_rebuild_hint(settings)}"
        )


def _load_bm25(d: Path, manifest: dict, chunks: list[Chunk]) -> Any:
    from rag.chunk import keyword_texts
    from rag.keyword import BM25_TOKENIZER, build_bm25

    if manifest.get("bm25_tokenizer") == BM25_TOKENIZER and (d / "bm25").is_dir():
        import bm25s

        return bm25s.BM25.load(str(d / "bm25"), show_progress=False, verbosity=0)
    # Built with another tokenizer or keyword-text version: rebuilding the keyword part from
    # the stored chunks is enough (the vectors stay valid); the next `index` run stores it.
    return build_bm25(keyword_texts(chunks))


# --- build -----------------------------------------------------------------------------------


def build_index(
    paths: Iterable[str | Path],
    settings: Settings,
    progress: Progress | None = None,
    *,
    rebuild: bool = False,
    ann: bool | None = None,
    prune: bool = False,
) -> IndexReport:
    """Ingest ``paths``, chunk, embed what changed, and atomically replace the index.

    Incremental: files under ``paths`` are added or updated (and dropped when deleted from
    there); files indexed from elsewhere stay, unless ``prune`` (then the index holds exactly
    the files under ``paths``). ``rebuild`` ignores the previous vectors; ``ann`` forces HNSW
    (True) or exact search (False) instead of choosing by ``settings.ann_threshold``. Files
    that cannot be read are reported in ``errors`` (and leave the index); the others go in.
    """
    from rag.ingest import ingest_paths, parse_stamp

    def ingest_progress(i: int, n: int, file: str) -> None:
        if progress:
            progress(i, n, f"読み込み / reading {file}")

    paths = list(paths)
    with _build_lock(Path(settings.index_dir)):
        manifest, stored = ({}, []) if rebuild and prune else _stored(settings)
        reuse = {} if rebuild else _reusable(manifest, stored, settings)
        result = ingest_paths(paths, settings, progress=ingest_progress, reuse=reuse)
        meetings = list(result.meetings)
        stamps = dict.fromkeys((m.file for m in meetings), parse_stamp(settings))
        if not prune:
            kept = _kept_meetings(stored, paths, meetings)
            meetings += kept
            stamps.update(_stamps(manifest, kept))
        return _index_meetings(
            meetings,
            settings,
            progress,
            rebuild=rebuild,
            ann=ann,
            errors=tuple(result.errors),
            warnings=tuple(result.warnings),
            stamps=stamps,
        )


def _stored(settings: Settings) -> tuple[dict, list[Meeting]]:
    """The current index's manifest and meetings (empty when there is none or it is unreadable:
    then only the given files go in, all parsed)."""
    d = Path(settings.index_dir)
    _recover(d)
    if not _complete(d):
        return {}, []
    live = _live(d)
    try:
        manifest = _read_json(live / MANIFEST)
        return manifest, [meeting_from_dict(m) for m in _read_json(live / "meetings.json")]
    except (OSError, ValueError, KeyError, TypeError):
        return {}, []


def _reusable(
    manifest: dict, stored: list[Meeting], settings: Settings
) -> dict[tuple[str, str], list[Meeting]]:
    """Stored meetings by (file, sha256), for the files parsed under the current parse stamp:
    ``ingest_paths`` uses them for a file whose bytes are unchanged instead of parsing it."""
    from rag.ingest import parse_stamp

    if manifest.get("format_version") != FORMAT_VERSION:
        return {}
    stamp, files = parse_stamp(settings), manifest.get("files", {})
    out: dict[tuple[str, str], list[Meeting]] = {}
    for m in stored:
        entry = files.get(m.file) or {}
        if m.sha256 and entry.get("sha256") == m.sha256 and entry.get("parsed_by") == stamp:
            out.setdefault((m.file, m.sha256), []).append(m)
    return out


def _stamps(manifest: dict, kept: list[Meeting]) -> dict[str, str]:
    """The parse stamps the kept files were indexed with (they are not parsed again)."""
    files = manifest.get("files", {})
    return {
        m.file: files[m.file]["parsed_by"] for m in kept if "parsed_by" in files.get(m.file, {})
    }


def _kept_meetings(
    stored: list[Meeting], paths: list[str | Path], new: list[Meeting]
) -> list[Meeting]:
    """Stored meetings whose files lie outside ``paths`` (kept as they are)."""
    from rag.ingest import _with_id

    scope = [os.path.abspath(p) for p in paths]

    def in_scope(file: str) -> bool:
        f = os.path.abspath(file)
        return any(f == s or f.startswith(s.rstrip(os.sep) + os.sep) for s in scope)

    ids = {m.id for m in new}
    kept = []
    for m in stored:
        if in_scope(m.file):
            continue
        if m.id in ids:  # a new file took its id
            m = _with_id(m, f"{m.id}-kept")
        ids.add(m.id)
        kept.append(m)
    return kept


def index_meetings(
    meetings: Iterable[Meeting],
    settings: Settings,
    progress: Progress | None = None,
    *,
    rebuild: bool = False,
    ann: bool | None = None,
) -> IndexReport:
    """Like :func:`build_index` for already parsed meetings (tests, benchmarks, other readers)."""
    with _build_lock(Path(settings.index_dir)):
        return _index_meetings(list(meetings), settings, progress, rebuild=rebuild, ann=ann)


def _index_meetings(
    meetings: list[Meeting],
    settings: Settings,
    progress: Progress | None,
    *,
    rebuild: bool,
    ann: bool | None,
    errors: tuple[InputError, ...] = (),
    warnings: tuple[str, ...] = (),
    stamps: Mapping[str, str] | None = None,
) -> IndexReport:
    from rag.chunk import chunk_meetings
    from rag.embed import get_embedder

    d = Path(settings.index_dir)
    _recover(d)
    _check_replaceable(d)
    if d.is_symlink():
        _cleanup(d)  # leftovers of killed builds
    chunks = chunk_meetings(meetings, settings)
    if not chunks:
        # An empty index answers nothing and would replace a working one: refuse instead.
        why = "".join(f"\n  {e}" for e in errors)
        raise IndexError_(
            "索引に入れられる議事録がありません（対応形式: .txt .md .pdf .docx .html .json .csv）。"
            "以前の索引はそのまま残しています。"
            " / No minutes to index (supported: .txt .md .pdf .docx .html .json .csv);"
            " the previous index, if any, is unchanged." + why
        )
    embedder = get_embedder(settings)
    old = None if rebuild else _previous(settings, embedder.fingerprint)
    report = _compare_files(meetings, old, settings)
    report.errors, report.warnings = errors, warnings

    # Reuse stored vectors (and token vectors) by embedded-text hash; embed only the rest.
    keys = [_embed_key(embedder.fingerprint, c.index_text) for c in chunks]
    vectors = np.zeros((len(chunks), embedder.dim), dtype=np.float32)
    tokens: list[np.ndarray] = [np.zeros((0, 0), np.int8)] * len(chunks)
    todo: list[int] = []
    cache = old["cache"] if old else {}
    for i, key in enumerate(keys):
        row = cache.get(key)
        if row is None:
            todo.append(i)
        else:
            vectors[i], tokens[i] = row
    if todo:
        proj = projection(settings.model)
        vecs, toks = embedder.embed_passages_tokens(
            [chunks[i].index_text for i in todo], progress, keep=lambda t: compact(t, proj)
        )
        vectors[todo] = vecs
        for i, tok in zip(todo, toks, strict=True):
            tokens[i] = tok
    report.texts_embedded = len(todo)
    report.chunks_total = len(chunks)

    use_ann = (len(chunks) > settings.ann_threshold) if ann is None else ann
    report.ann = use_ann
    if progress:
        progress(0, 1, "索引を書き込んでいます / writing the index")
    write_index(
        d, settings, embedder, meetings, chunks, vectors, use_ann, stamps=stamps, tokens=tokens
    )
    if progress:
        progress(1, 1, "索引を書き込みました / index written")
    return report


def _previous(settings: Settings, fingerprint: str) -> dict | None:
    """The previous index's manifest and an embedded-text -> (vector, token vectors) cache (if
    compatible: same model, token vectors stored with today's projection)."""
    manifest = read_manifest(settings)
    if not manifest:
        return None
    cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    same_model = manifest.get("model") == settings.model
    if manifest.get("model_fingerprint") == fingerprint and same_model and _late_sha(manifest):
        # Only the embedded texts and their vectors are needed: not meetings.json, not BM25.
        d = _live(Path(settings.index_dir))
        try:
            texts = [c["index_text"] for c in _read_json(d / "chunks.json")]
            store = STORE.load(d, threads=settings.threads)
            if store.size != len(texts):
                raise ValueError(f"{store.size} vectors for {len(texts)} chunks")
            # A copy: store.vectors may point into memory freed with ``store``.
            vecs = np.array(store.vectors, dtype=np.float32, copy=True)
            toks = TokenStore.load(d, len(texts), _late_sha(manifest))
            if toks is None:
                raise ValueError("no token vectors")
            for i, text in enumerate(texts):
                cache[_embed_key(fingerprint, text)] = (vecs[i], toks.stored(i).copy())
        except (OSError, ValueError, KeyError, TypeError, RuntimeError):
            cache = {}  # corrupt previous index: everything is re-embedded
    return {"manifest": manifest, "cache": cache}


def _compare_files(meetings: list[Meeting], old: dict | None, settings: Settings) -> IndexReport:
    before: dict[str, dict] = (old or {}).get("manifest", {}).get("files", {})
    # Chunking parameters changed -> every file's chunks are new.
    same_chunking = old is not None and old["manifest"].get("chunking") == _chunking(settings)
    r = IndexReport()
    now = set()
    for m in meetings:
        if m.file in now:  # a file of records holds many meetings: count the file once
            continue
        now.add(m.file)
        prev = before.get(m.file)
        if prev is None:
            r.files_added += 1
        elif not m.sha256 or prev.get("sha256") != m.sha256 or not same_chunking:
            r.files_changed += 1
        else:
            r.files_unchanged += 1
    r.files_removed = sum(1 for f in before if f not in now)
    return r


def _chunking(settings: Settings) -> dict:
    return {
        "max_chars": settings.chunk_max_chars,
        "overlap_sentences": settings.chunk_overlap_sentences,
    }


def write_index(
    d: Path,
    settings: Settings,
    embedder: Any,
    meetings: list[Meeting],
    chunks: list[Chunk],
    vectors: np.ndarray,
    ann: bool,
    *,
    stamps: Mapping[str, str] | None = None,
    tokens: list[np.ndarray] | None = None,
) -> None:
    """Write a new version folder and switch the link to it. ``stamps`` (file -> the
    ``rag.ingest.parse_stamp`` it was parsed under) lets the next build reuse those files'
    meetings; files without one are parsed again. ``tokens``: each chunk's stored token
    vectors (rag.late.compact); without them the judge reads the candidates again."""
    from rag.chunk import keyword_texts
    from rag.keyword import BM25_TOKENIZER, build_bm25

    # Fixed-width time first: version folders sort by age (recovery picks the last one).
    tmp = d.parent / f".{d.name}.v-{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(3)}"
    tmp.mkdir(parents=True)
    try:
        store = STORE.build(vectors, ann=ann, threads=settings.threads)
        store.save(tmp)
        bm25 = build_bm25(keyword_texts(chunks))
        bm25.save(str(tmp / "bm25"), show_progress=False)
        if tokens is not None:
            TokenStore.save(tmp, tokens)
        _fault("write")
        _write_json(tmp / "chunks.json", [chunk_to_dict(c) for c in chunks])
        _write_json(tmp / "meetings.json", [meeting_to_dict(m) for m in meetings])
        per_meeting: dict[str, int] = {}
        for c in chunks:
            per_meeting[c.meeting_id] = per_meeting.get(c.meeting_id, 0) + 1
        manifest = {
            "format_version": FORMAT_VERSION,
            "package_version": rag.__version__,
            "model": settings.model,
            "model_fingerprint": embedder.fingerprint,
            "dimension": int(embedder.dim),
            "normalized": bool(embedder.normalized),
            "metric": "inner_product",
            "ann": bool(ann),
            "faiss": store.description,
            "chunking": _chunking(settings),
            "bm25_tokenizer": BM25_TOKENIZER,
            "late": {
                "projection": projection(settings.model).sha if tokens is not None else None,
                "dim": int(tokens[0].shape[1]) if tokens else None,
            },
            "n_chunks": len(chunks),
            "n_meetings": len(meetings),
            "files": _files_manifest(meetings, per_meeting, stamps),
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        }
        # The manifest is written last: a folder without it is never a complete index.
        _write_json(tmp / MANIFEST, manifest)
        _fsync_tree(tmp)
        _fault("written")
        _switch(d, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fault("switched")
    _cleanup(d)


def _files_manifest(
    meetings: list[Meeting],
    per_meeting: dict[str, int],
    stamps: Mapping[str, str] | None = None,
) -> dict[str, dict]:
    """file -> sha256, its (first) meeting id, chunk count and parse stamp (when known). A file
    of records (JSON/CSV) yields several meetings: all their ids are listed and chunks summed."""
    files: dict[str, dict] = {}
    stamps = stamps or {}
    for m in meetings:
        entry = files.get(m.file)
        if entry is None:
            files[m.file] = {
                "sha256": m.sha256,
                "meeting_id": m.id,
                "n_chunks": per_meeting.get(m.id, 0),
            }
            if m.file in stamps:
                files[m.file]["parsed_by"] = stamps[m.file]
            continue
        entry.setdefault("meeting_ids", [entry["meeting_id"]]).append(m.id)
        entry["n_chunks"] += per_meeting.get(m.id, 0)
    return files


def _check_replaceable(d: Path) -> None:
    """A build replaces the whole folder: refuse one that holds anything but an index."""
    if d.is_symlink():
        return  # the link is replaced, never what it points to
    if d.exists() and (not d.is_dir() or (any(d.iterdir()) and not (d / MANIFEST).is_file())):
        raise IndexError_(
            f"{d} は索引ではないファイルを含むため上書きできません。空のフォルダか"
            "新しいパスを MINUTES_RAG_INDEX_DIR（--index-dir）に指定してください。"
            f" / {d} holds files that are not an index and would be replaced: set"
            " MINUTES_RAG_INDEX_DIR (--index-dir) to an empty or new folder."
        )


def _switch(d: Path, version: Path) -> None:
    """Make ``d`` point at ``version``. An index in the old layout (a real folder at ``d``)
    is first moved aside as the oldest version; a kill in between is repaired by
    :func:`_recover`, which then finds ``version`` complete."""
    if d.is_dir() and not d.is_symlink():
        os.replace(d, d.parent / f".{d.name}.v-{0:020d}-legacy-{os.getpid()}")
        _fault("migrate")
    _point(d, version)


def _point(d: Path, version: Path) -> None:
    """The commit step: one rename of a fresh relative symlink over ``d``."""
    link = d.parent / f".{d.name}.link-{os.getpid()}-{secrets.token_hex(3)}"
    os.symlink(version.name, link)
    os.replace(link, d)
    _fsync_dir(d.parent)


def _fsync_tree(folder: Path) -> None:
    """Flush the new version's files and folders, so the switch never points at data still
    in the page cache when the machine loses power."""
    for root, _dirs, files in os.walk(folder):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(root))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
