"""The Gradio app over real HTTP (gradio_client): /ask, /search, filters and uploads.

The server runs the real model and index, built on first use from a copy of corpus/ in a
temporary folder (the app's "no index yet" path). Fast tests of the pure rendering helpers
come first and need no server.
"""

from __future__ import annotations

import re
import shutil
import socket
from pathlib import Path

import pytest

from rag.errors import ConfigError
from rag.text import squash
from rag.types import Chunk
from rag.ui import format_date, highlight, make_filters, parse_auth, query_terms, source_card

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"

# A small minutes file in the format of the real ones: the term ドローン配送 appears nowhere
# in corpus/, so finding it after the upload proves the file went into the index.
GOOD_MINUTES = """\
令和６年度 第１回 石狩市スマートシティ推進懇談会 議事要旨

１ 日  時
  令和６年５月１５日（水）10：00 ～ 11：30

２ 場  所
  石狩市役所 ３階 会議室

【議題１】ドローン活用の実証について

・過疎地でのドローン配送の実証実験は、買い物が難しい高齢者にとって有効だろう。
運航の安全基準を市民に分かりやすく示していただきたい。

・ドローン配送を本格導入する際には、地元の物流事業者との連携が欠かせない。
"""


# ---------------------------------------------------------------- fast: pure helpers


def test_highlight_marks_quote_and_terms_across_width_and_wraps() -> None:
    text = "ＦＩＷＡＲＥを活用した データ連携基盤の 整備を進めるべきだ。"
    out = highlight(text, quote="データ連携基盤の整備", terms=["fiware"])
    assert "<mark>データ連携基盤の 整備</mark>" in out
    assert "<strong>ＦＩＷＡＲＥ</strong>" in out
    # Text is escaped, never injected.
    assert "&lt;b&gt;" in highlight("<b>太字</b>")


def test_query_terms_drop_question_words() -> None:
    assert query_terms("What did members say about FIWARE?") == ["fiware"]
    terms = query_terms("テレワーク実施率について委員の意見は？")
    assert "テレワーク" in terms and "実施率" in terms and "委員" not in terms


def test_make_filters_validates_roles_and_dates() -> None:
    f = make_filters(["m1"], ["member", "事務局"], "２０２３/０２/０１", "")
    assert f.roles == ("委員", "議員", "事務局") and f.since == "2023-02-01" and f.until is None
    with pytest.raises(ConfigError, match="Unknown role"):
        make_filters(roles=["宇宙人"])
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        make_filters(since="昨日")
    with pytest.raises(ConfigError, match="after the until"):
        make_filters(since="2023-03-01", until="2023-01-01")


def test_parse_auth() -> None:
    assert parse_auth("") is None
    assert parse_auth("staff:p:w") == ("staff", "p:w")
    with pytest.raises(ConfigError, match="user:password"):
        parse_auth("nopassword")


def test_source_card_shows_citation_facts() -> None:
    chunk = Chunk(
        id="m:3:0",
        meeting_id="m",
        file="minutes/a.txt",
        title="第２回 推進会議",
        text="人材育成が重要だ。",
        index_text="人材育成が重要だ。",
        role="委員",
        start_line=12,
        end_line=14,
        order=3,
        date="2023-02-08",
        agenda="議事５ 意見交換",
    )
    html = source_card(1, chunk, quote="人材育成", src_index=0)
    for needle in (
        "第２回 推進会議",
        "2023年2月8日",
        "議事５ 意見交換",
        "role-member",
        "a.txt : L12–14",
        'title="minutes/a.txt"',
        "<mark>人材育成</mark>",
        'data-src="0"',
    ):
        assert needle in html
    assert format_date(None).startswith("日付なし")


def test_complete_answers_show_the_first_cards_and_the_rest_behind_show_all() -> None:
    from dataclasses import replace

    from rag.types import Answer, Citation
    from rag.ui import SHOWN_CARDS, render_answer_sources

    base = Chunk(
        id="m:0:0",
        meeting_id="m",
        file="a.txt",
        title="会議",
        text="データ連携基盤は重要だ。",
        index_text="",
        role="委員",
        start_line=1,
        end_line=1,
        order=0,
    )
    n = SHOWN_CARDS + 3
    cites = tuple(
        Citation(
            n=i + 1,
            chunk=replace(base, id=f"m:{i}:0", order=i, start_line=i + 1, end_line=i + 1),
            quote="データ連携基盤",
            relevance=0.9 - i / 100,
        )
        for i in range(n)
    )
    ans = Answer("データ連携基盤について", "…", cites, True, "extractive")
    html, refs = render_answer_sources(ans)
    assert len(refs) == n  # every citation can open the full minutes
    shown, _, hidden = html.partition('<details class="more-sources">')
    assert shown.count('class="src-card') == SHOWN_CARDS
    assert hidden.count('class="src-card') == n - SHOWN_CARDS
    assert f"Show all {n} sources" in hidden
    assert "関連度 0.90" in shown  # the judge's probability is on the card


# ---------------------------------------------------------------- slow: the real server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, settings):
    from gradio_client import Client

    from rag.index import index_exists
    from rag.ui import start

    root = tmp_path_factory.mktemp("ui-api")
    corpus = root / "corpus"
    shutil.copytree(CORPUS, corpus)
    # Own corpus copy and index (uploads change them); conftest's settings give the model cache.
    settings = settings.with_overrides(
        corpus_dir=corpus, index_dir=root / "index", port=_free_port()
    )
    assert not index_exists(settings)  # the app must build it on first use
    demo, url = start(settings)
    try:
        yield Client(url, verbose=False), settings
    finally:
        demo.close()


def _corpus_lines(settings, file: str) -> list[str]:
    path = Path(file)
    if not path.is_absolute() and not path.exists():
        path = settings.corpus_dir / Path(file).name
        if not path.exists():
            path = next(settings.corpus_dir.rglob(Path(file).name))
    return path.read_text(encoding="utf-8").splitlines()


@pytest.mark.slow
def test_ask_fiware_cites_hokkaido_meeting(server) -> None:
    client, settings = server
    result = client.predict("What did members say about FIWARE?", api_name="/ask")
    assert result["found"] is True, result["text"]
    assert result["citations"], result
    assert any("hokkaido" in c["file"] for c in result["citations"])
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", result["text"])}
    assert markers == {c["n"] for c in result["citations"]}
    for c in result["citations"]:
        # The quote really is in the cited lines of the original file.
        lines = _corpus_lines(settings, c["file"])
        span = "".join(lines[c["start_line"] - 1 : c["end_line"]])
        assert squash(c["quote"]) in squash(span).replace("\uf06c", "")
    from rag.index import index_exists

    assert index_exists(settings)


@pytest.mark.slow
def test_ask_follow_up_uses_the_history(server) -> None:
    client, _settings = server
    first = "人材育成についての委員の意見は？"
    alone = client.predict("札幌では？", api_name="/ask")
    follow = client.predict("札幌では？", history=[first], api_name="/ask")
    # Alone, 「札幌では？」 has no topic; after the first question it asks about talent
    # development in the Sapporo meeting only.
    assert follow["found"] is True, follow["text"]
    assert follow["citations"]
    assert all("sapporo" in c["file"] for c in follow["citations"]), follow["citations"]
    assert follow["citations"] != alone["citations"]


@pytest.mark.slow
def test_search_returns_hits_and_role_filter_restricts(server) -> None:
    client, _ = server
    hits = client.predict("人材育成", k=8, api_name="/search")
    assert hits and {"rank", "score", "text", "file", "start_line", "role"} <= set(hits[0])
    assert [h["rank"] for h in hits] == list(range(1, len(hits) + 1))
    assert {h["role"] for h in hits} != {"事務局"}  # otherwise the filter below proves nothing
    only = client.predict("人材育成", k=8, roles=["secretariat"], api_name="/search")
    assert only and {h["role"] for h in only} == {"事務局"}


@pytest.mark.slow
def test_ask_with_role_filter_cites_only_that_role(server) -> None:
    client, _ = server
    result = client.predict("人材育成についての意見は？", roles=["委員"], api_name="/ask")
    assert result["found"] is True
    assert {c["role"] for c in result["citations"]} == {"委員"}


@pytest.mark.slow
def test_bad_filter_reaches_client_as_sentence(server) -> None:
    client, _ = server
    with pytest.raises(Exception, match="Unknown role") as info:
        client.predict("人材育成", roles=["宇宙人"], api_name="/search")
    assert "Traceback" not in str(info.value)


@pytest.mark.slow
def test_upload_adds_good_file_and_names_bad_one(server, tmp_path: Path) -> None:
    from gradio_client import handle_file

    client, settings = server
    before = client.predict("ドローン配送の実証実験", k=3, api_name="/search")
    assert not any("ishikari" in h["file"] for h in before)

    good = tmp_path / "ishikari-smartcity-2024-1.txt"
    good.write_text(GOOD_MINUTES, encoding="utf-8")
    bad = tmp_path / "scan-broken.pdf"
    bad.write_bytes(b"%PDF-1.4\n this is not really a pdf \x00\x01\x02")
    summary, report = client.predict(
        [handle_file(str(good)), handle_file(str(bad))], api_name="/add_minutes"
    )
    assert report["added"] == [good.name]
    assert [r["file"] for r in report["rejected"]] == [bad.name]
    assert bad.name in summary and report["rejected"][0]["reason"]
    assert (settings.corpus_dir / "uploads" / good.name).is_file()
    assert not (settings.corpus_dir / "uploads" / bad.name).exists()

    after = client.predict("ドローン配送の実証実験", k=3, api_name="/search")
    assert after and "ishikari" in after[0]["file"]
    # The original minutes are still searchable after the update.
    assert client.predict("FIWARE", k=3, api_name="/search")


def test_upload_with_a_taken_name_gets_a_new_one(tmp_path: Path) -> None:
    from rag.ui import _free_name

    corpus = tmp_path / "uploads"
    corpus.mkdir()
    (corpus / "議事録.txt").write_text("第1回の議事録", encoding="utf-8")
    same = tmp_path / "same.txt"
    same.write_text("第1回の議事録", encoding="utf-8")
    other = tmp_path / "other.txt"
    other.write_text("第2回の議事録", encoding="utf-8")
    assert _free_name(corpus / "議事録.txt", same) == corpus / "議事録.txt"
    assert _free_name(corpus / "議事録.txt", other) == corpus / "議事録-2.txt"


@pytest.mark.slow
def test_speaker_filter_reaches_search_and_ask(server) -> None:
    client, _ = server
    hits = client.predict("人材育成", k=8, api_name="/search")
    assert {h["role_label"] for h in hits} != {"事務局"}  # otherwise the filter proves nothing
    only = client.predict("人材育成", k=8, speakers=["事務局"], api_name="/search")
    assert only and all("事務局" in (h["role_label"] or "") for h in only)
    result = client.predict("人材育成についての説明は？", speakers=["事務局"], api_name="/ask")
    assert all("事務局" in (c["role_label"] or "") for c in result["citations"])
