"""The chat page in a real browser: Debian's Chromium driven by Playwright.

Never `playwright install`: the browser is /usr/bin/chromium. Screenshots go to
test-artifacts/ (git-ignored) so people can look at what the tests saw.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
WAIT_MS = 240_000  # first use loads the model and builds the index on a 2-core machine

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="/usr/bin/chromium is not installed (scripts/install.sh --test installs it)",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(settings, corpus_index):
    """The app over conftest's session index of corpus/ (read only: nothing is uploaded here)."""
    from rag.ui import start

    demo, url = start(settings.with_overrides(port=_free_port()))
    try:
        yield url
    finally:
        demo.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _open(browser, app_url: str):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(app_url)
    # The page is usable before the index is ready; the status line says when it is.
    expect(page.locator("#status")).to_contain_text("索引:", timeout=WAIT_MS)
    return page


def _ask(page, question: str) -> None:
    page.locator("#question textarea").fill(question)
    page.locator("#ask-btn").click()
    page.wait_for_selector("#sources .src-card, #sources .not-found", timeout=WAIT_MS)


def test_question_shows_cited_answer_sources_and_viewer(app_url: str, browser) -> None:
    from playwright.sync_api import expect

    page = _open(browser, app_url)

    # The README's promise: an English question over Japanese minutes gets a cited answer.
    _ask(page, "What did members say about FIWARE?")
    cards = page.locator("#sources .src-card:not(.related)")
    expect(cards.first).to_be_visible()
    assert page.locator("#sources .not-found").count() == 0
    card_texts = cards.all_inner_texts()
    assert any("北海道" in t and "hokkaido" in t for t in card_texts), card_texts
    answer = page.locator("#chat .message").last.inner_text()
    assert "[1]" in answer, answer
    assert cards.first.locator("mark").count() >= 1  # the quoted part is highlighted

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-chat.png"), full_page=True)

    # "全文を見る" opens the meeting with that statement highlighted and in view.
    cards.first.locator(".open-full").click()
    target = page.locator("#viewer .stmt.target")
    expect(target).to_be_visible(timeout=30_000)
    expect(target).to_be_in_viewport()
    quoted = cards.first.locator("mark").first.inner_text()
    assert quoted[:10] in target.inner_text()
    page.screenshot(path=str(ARTIFACTS / "ui-viewer.png"))
    page.close()


def test_role_filter_restricts_sources(app_url: str, browser) -> None:
    from playwright.sync_api import expect

    page = _open(browser, app_url)

    page.locator("#role-filter label", has_text="事務局").click()
    expect(page.locator("#role-filter input[type=checkbox]:checked")).to_have_count(1)
    _ask(page, "人材育成について")
    badges = page.locator("#sources .src-card .role-badge")
    assert badges.count() >= 1
    classes = [badges.nth(i).get_attribute("class") for i in range(badges.count())]
    assert all("role-secretariat" in c for c in classes), classes

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-role-filter.png"), full_page=True)
    page.close()


def test_briefing_downloads_markdown(app_url: str, browser) -> None:
    from playwright.sync_api import expect

    page = _open(browser, app_url)

    page.get_by_role("tab", name="ブリーフィング / Briefing").click()
    page.locator("#topic textarea, #topic input").first.fill("人材育成")
    page.get_by_role("button", name="まとめる / Build briefing").click()
    items = page.locator("#briefing .brief-item")
    expect(items.first).to_be_visible(timeout=WAIT_MS)
    # Grouped by meeting: both minutes discuss 人材育成.
    assert page.locator("#briefing .brief-meeting").count() == 2

    with page.expect_download() as info:
        page.get_by_role("button", name="Markdown をダウンロード / Download Markdown").click()
    md = Path(info.value.path()).read_text(encoding="utf-8")
    assert md.startswith("# ブリーフィング / Briefing: 人材育成")
    assert md.count("\n## ") == 2 and "hokkaido-society5-promotion-2022-2.txt L" in md
    assert md.count("\n- 「") == items.count()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-briefing.png"), full_page=True)
    page.close()


def test_speaker_filter_restricts_sources(app_url: str, browser) -> None:
    """The sidebar's speaker box scopes answers to that speaker (name or title part)."""
    from playwright.sync_api import expect

    page = _open(browser, app_url)
    box = page.locator("#speaker-filter textarea, #speaker-filter input").first
    box.fill("事務局")
    expect(box).to_have_value("事務局")
    _ask(page, "データ連携基盤について")
    badges = page.locator("#sources .src-card:not(.related) .role-badge")
    assert badges.count() >= 1
    classes = [badges.nth(i).get_attribute("class") for i in range(badges.count())]
    assert all("role-secretariat" in c for c in classes), classes
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-speaker-filter.png"), full_page=True)
    page.close()
