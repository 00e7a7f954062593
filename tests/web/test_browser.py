"""The web app in a real browser: headless Chromium against a real `evident serve`."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from serving import Served

pytestmark = pytest.mark.browser

QUESTION = "What is the treatment for soft tissue calcifications near the metatarsal head?"
SCREENSHOTS = os.environ.get("EVIDENT_SCREENSHOTS", "")


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    yield tab
    context.close()


def ask(page: Any, served: Served, question: str = QUESTION) -> str:
    """Ask on the Ask page; return the article URL it lands on."""
    page.goto(served.base + "/")
    page.get_by_label("Your question").fill(question)
    page.get_by_role("button", name="Ask").click()
    page.wait_for_url(re.compile(r"/articles/[0-9a-f]+"))
    return str(page.url)


def sign_in(page: Any, served: Served, name: str) -> None:
    page.goto(served.base + "/signin")
    page.get_by_label("API token").fill(served.tokens[name])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(served.base + "/")
    assert page.get_by_text(f"{name} (").is_visible()


def test_ask_a_question_and_see_a_cited_article(page: Any, served: Served) -> None:
    page.goto(served.base + "/")
    assert page.get_by_text("Documents").first.is_visible()
    assert "85" in page.locator("dl").inner_text()  # the library's size
    url = ask(page, served)
    assert "Calcification" in page.locator("h1").inner_text()
    bottom = page.locator(".bottom-line p")
    assert bottom.is_visible()
    assert bottom.locator(".cite-link").count() >= 1  # the bottom line is cited
    numbers = {int(t.strip("[]")) for t in page.locator(".cite-link").all_inner_texts()}
    for n in numbers:  # every citation number has an entry in the reference list
        assert page.locator(f"#ref-{n}").count() == 1
    groups = page.locator(".references h3").all_text_contents()
    assert groups[0] == "Guideline" and set(groups) <= {
        "Guideline", "Research", "Textbook", "Patient information"}  # fmt: skip
    assert page.locator(".badge").inner_text() == "Pending human review"
    assert page.get_by_text("Pending human review.").is_visible()
    assert page.get_by_text("Last updated").is_visible()
    assert "not examined the patient" in page.locator(".disclaimer").inner_text()
    # The URL is stable: opening it again shows the same article.
    title = page.locator("h1").inner_text()
    page.goto(url)
    assert page.locator("h1").inner_text() == title
    # Export gives the Markdown rendering with a download name.
    with page.expect_download() as download:
        page.get_by_role("link", name="Markdown").click()
    assert download.value.suggested_filename.endswith(".md")
    text = Path(download.value.path()).read_text("utf-8")
    assert text.startswith(f"# {title}")
    # Copy link puts the article's address on the clipboard; print hides the page chrome.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy link").click()
    expect(page.locator(".copied")).to_have_text("Link copied")
    assert page.evaluate("navigator.clipboard.readText()") == url.split("?")[0]
    page.emulate_media(media="print")
    assert not page.locator("header.site").is_visible()
    assert not page.locator("form.followup").is_visible()
    assert page.locator(".references").is_visible() and page.locator(".disclaimer").is_visible()


def test_the_answer_appears_statement_by_statement_then_opens_the_article(
    page: Any, served: Served
) -> None:
    page.goto(served.base + "/")
    # Keep each statement the page shows while it streams (sessionStorage survives the
    # navigation to the article).
    page.evaluate(
        """() => new MutationObserver((changes) => {
          for (const change of changes) for (const node of change.addedNodes) {
            if (node.nodeName === "LI" && node.parentElement?.classList.contains("live")) {
              const seen = JSON.parse(sessionStorage.getItem("seen") || "[]");
              sessionStorage.setItem("seen", JSON.stringify([...seen, node.textContent]));
            }
          }
        }).observe(document.body, { childList: true, subtree: true })"""
    )
    page.get_by_label("Your question").fill(QUESTION)
    with page.expect_response(lambda r: r.url.endswith("/ask/stream")) as streamed:
        page.get_by_role("button", name="Ask").click()
    assert streamed.value.status == 200
    page.wait_for_url(re.compile(r"/articles/[0-9a-f]+"))
    seen = json.loads(page.evaluate("() => sessionStorage.getItem('seen') || '[]'"))
    assert len(seen) >= 2
    text = page.locator("main").inner_text()
    assert all(statement in text for statement in seen)


def test_follow_a_citation_and_read_the_cited_passage(page: Any, served: Served) -> None:
    ask(page, served)
    first = page.locator(".bottom-line .cite-link").first
    quote = page.locator(".bottom-line .cite-quote").first
    assert not quote.is_visible()
    first.focus()  # keyboard focus shows the passage, not only a mouse hover
    assert quote.is_visible()
    page.keyboard.press("Escape")  # and Escape hides it again
    assert not quote.is_visible()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    assert quote.is_visible()
    passage = quote.inner_text().split("says:", 1)[1].strip().strip("“”")
    number = first.inner_text().strip("[]")
    page.keyboard.press("Enter")  # follow it
    # The hash changes after the key press is handled: wait for it rather than race it.
    expect(page).to_have_url(re.compile(rf"#ref-{number}$"))
    reference = page.locator(f"#ref-{number}")
    assert reference.is_visible()
    assert reference.evaluate("e => e.matches(':target')")  # highlighted
    # The reference links to the source document, which holds the quoted passage.
    reference.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/documents/"))
    assert passage[:80] in page.locator(".passages").inner_text()


def test_switch_audience_re_renders_for_that_reader(page: Any, served: Served) -> None:
    first = ask(page, served)
    assert page.locator("[data-audience]").inner_text() == "physicians"
    page.get_by_label("Patient").check()  # the choice submits itself
    page.wait_for_url(lambda url: url != first and "/articles/" in url)
    assert page.locator("[data-audience]").inner_text() == "patients"
    assert page.get_by_label("Patient").is_checked()
    # The patient's rendering: plain headings and lead-ins, the same cited quotations.
    assert page.locator("#bl-h").text_content() == "In short"
    assert page.locator(".bottom-line .lead").first.inner_text() == "The main point:"
    assert "What guidelines say" in page.locator("h2.group").all_inner_texts()
    assert page.locator(".cite-link").count() >= 1


def test_a_follow_up_is_answered_in_the_thread_with_suggestions(page: Any, served: Served) -> None:
    ask(page, served)
    first = page.url
    assert "?thread=" in first
    suggestions = page.get_by_role("region", name="The library can also answer")
    assert suggestions.get_by_role("button").count() >= 1
    page.get_by_label("Ask a follow-up question").fill("When is surgery considered?")
    page.get_by_role("button", name="Ask", exact=True).click()
    page.wait_for_url(lambda url: url != first and "turn=2" in url)
    notice = page.locator(".notice").inner_text()
    assert "You asked “When is surgery considered?”" in notice
    assert "metatarsal head" in notice  # resolved against the thread's question
    assert page.locator(".cite-link").count() >= 1
    offered = suggestions.get_by_role("button").first
    question = offered.inner_text()
    offered.click()
    page.wait_for_url(lambda url: "turn=3" in url)
    assert page.locator(".eyebrow").inner_text() == f"Question: {question}"


def test_reviewer_approves_and_the_badge_changes(browser: Any, served: Served) -> None:
    people = {}
    for name in ("visitor", "ed", "rosa"):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        people[name] = context.new_page()
        people[name].set_default_timeout(60_000)
        if name != "visitor":
            sign_in(people[name], served, name)
    visitor, editor, reviewer = people["visitor"], people["ed"], people["rosa"]
    url = ask(visitor, served, "How is hallux rigidus treated?")
    article_id = url.split("?")[0].rsplit("/", 1)[1]
    assert visitor.locator(".badge").inner_text() == "Pending human review"
    assert visitor.get_by_role("link", name="Review board").count() == 0  # not for visitors

    editor.goto(f"{served.base}/review/{article_id}")
    editor.get_by_role("button", name="Submit for review").click()
    expect(editor.locator("[data-status]")).to_have_attribute("data-status", "submitted")

    reviewer.get_by_role("link", name="Review board").click()
    queue = reviewer.get_by_role("region", name="Review queue")
    queue.get_by_role("link", name="How is hallux rigidus").click()
    reviewer.get_by_role("button", name="Claim for review").click()
    expect(reviewer.locator("[data-status]")).to_have_attribute("data-status", "under_review")
    # Comment on a statement, then approve.
    reviewer.get_by_text("Comment on b1").click()
    reviewer.get_by_label("Comment", exact=True).first.fill("Checked against the guideline.")
    reviewer.get_by_role("button", name="Add comment").first.click()
    expect(reviewer.locator(".audit")).to_contain_text("Checked against the guideline.")
    reviewer.get_by_role("button", name="Approve").click()
    expect(reviewer.locator("[data-status]")).to_have_attribute("data-status", "approved")
    trail = reviewer.locator(".audit").inner_text()
    assert "claim → under review" in trail and "approve → approved" in trail

    visitor.reload()
    assert visitor.locator(".badge").inner_text() == "Approved by a reviewer"
    assert visitor.get_by_text("Reviewed by a clinician.").is_visible()
    assert "rosa approved this article" in visitor.locator(".banner").inner_text()
    assert visitor.get_by_text("Pending human review").count() == 0

    editor.goto(f"{served.base}/review/{article_id}")
    editor.get_by_role("button", name="Publish").click()
    expect(editor.locator("[data-status]")).to_have_attribute("data-status", "published")
    visitor.goto(served.base + "/")
    visitor.get_by_role("link", name="How is hallux rigidus treated?").click()
    assert visitor.locator(".badge").inner_text() == "Approved and published"
    for p in people.values():
        p.context.close()


def test_an_edit_the_citations_do_not_support_is_refused(browser: Any, served: Served) -> None:
    context = browser.new_context()
    editor = context.new_page()
    sign_in(editor, served, "ed")
    ask(editor, served, "How is calcific periarthritis of the forefoot treated?")
    editor.get_by_role("link", name="Open on the review board").click()
    editor.get_by_text("Edit b1").click()
    editor.get_by_label("New text").first.fill("Amputation is the first-line treatment.")
    editor.get_by_role("button", name="Save edit").first.click()
    refusal = editor.locator("#refusal")
    expect(refusal).to_be_visible()
    assert "support" in refusal.inner_text()
    assert editor.locator("#st-b1").inner_text().find("Amputation") == -1
    context.close()


def test_upload_a_document_and_find_it_in_search(browser: Any, served: Served) -> None:
    context = browser.new_context()
    editor = context.new_page()
    editor.set_default_timeout(60_000)
    sign_in(editor, served, "ed")
    editor.get_by_role("link", name="Sources").click()
    editor.get_by_label("Document", exact=True).set_input_files(
        files=[{
            "name": "freiberg-note.md",
            "mimeType": "text/markdown",
            "buffer": (
                b"---\ntitle: \"Freiberg infraction <script>window.pwned=1</script> note\"\n"
                b"kind: textbook\nyear: 2024\n---\n# Freiberg infraction\n\n"
                b"Freiberg infraction is osteonecrosis of the second metatarsal head, "
                b"seen mostly in adolescent girls. <script>window.pwned=2</script>\n"
            ),
        }]
    )  # fmt: skip
    editor.get_by_role("button", name="Upload").click()
    row = editor.locator("tr", has_text="freiberg-note.md")
    # The page refreshes itself while the job runs.
    expect(row).to_have_attribute("data-job-status", re.compile("done|failed"), timeout=60_000)
    assert row.get_attribute("data-job-status") == "done", row.inner_text()
    editor.get_by_role("link", name="Library").click()
    editor.get_by_label("Search articles and source documents").fill("Freiberg infraction")
    editor.get_by_role("button", name="Search").click()
    hit = editor.locator(".hits li").first
    assert "Freiberg infraction" in hit.inner_text()
    hit.get_by_role("link").click()
    # The document's markup is shown as text and never runs.
    assert "<script>window.pwned=1</script>" in editor.locator("h1").inner_text()
    assert "<script>window.pwned=2</script>" in editor.locator(".passages").inner_text()
    assert editor.evaluate("window.pwned") is None
    context.close()


@pytest.mark.parametrize("path", ["/", "article", "/library", "/review"])
def test_phone_width_has_no_horizontal_scroll(browser: Any, served: Served, path: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    phone.set_default_timeout(60_000)
    if path == "/review":
        sign_in(phone, served, "rosa")
    if path == "article":
        ask(phone, served)
    else:
        phone.goto(served.base + path)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{path} is {width}px wide on a 390px screen"
    if path == "article":  # an open citation stays on the screen
        phone.locator(".cite-link").last.focus()
        box = phone.locator(".cite-quote").last.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    context.close()


def test_screenshots(browser: Any, served: Served, tmp_path: Path) -> None:
    """Ask page, article (desktop with a citation open, its reference list, phone) and the
    review board; written to docs/screenshots/ when EVIDENT_SCREENSHOTS names that folder."""
    out = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    sign_in(tab, served, "rosa")
    tab.get_by_label("Your question").fill(QUESTION)
    tab.screenshot(path=str(out / "ask.png"))
    ask(tab, served)
    cite = tab.locator(".bottom-line .cite-link").first
    cite.hover()
    # Its reference lights up in the side column, which scrolls to it.
    expect(tab.locator("#ref-1")).to_have_class(re.compile("lit"))
    tab.wait_for_timeout(1000)
    tab.screenshot(path=str(out / "article-desktop.png"))
    cite.click()
    tab.screenshot(path=str(out / "article-references.png"))
    # The review board for an article under review, after an edit and a comment.
    editor = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    editor.set_default_timeout(60_000)
    sign_in(editor, served, "ed")
    url = ask(editor, served, "How is calcific tendinitis of the forefoot treated?")
    article_id = url.split("?")[0].rsplit("/", 1)[1]
    editor.goto(f"{served.base}/review/{article_id}")
    editor.get_by_role("button", name="Submit for review").click()
    expect(editor.locator("[data-status]")).to_have_attribute("data-status", "submitted")
    editor.context.close()
    tab.goto(f"{served.base}/review/{article_id}")
    tab.get_by_role("button", name="Claim for review").click()
    expect(tab.locator("[data-status]")).to_have_attribute("data-status", "under_review")
    tab.get_by_text("Edit s1.1").click()
    tab.locator("#st-s1\\.1").get_by_label("Delete this statement instead").check()
    tab.locator("#nt-s1\\.1").fill("trimmed: detail not needed here")
    tab.locator("#st-s1\\.1").get_by_role("button", name="Save edit").click()
    expect(tab.locator(".diff")).to_be_visible()
    tab.get_by_text("Comment on b1").click()
    tab.locator("#cm-b1").fill("Matches the guideline; fine for physicians.")
    tab.locator("#st-b1").get_by_role("button", name="Add comment").click()
    expect(tab.locator(".audit")).to_contain_text("Matches the guideline")
    tab.evaluate("window.scrollTo(0, 0)")
    # Tall enough to show the decision, the two revisions side by side and the audit trail.
    bottom = tab.locator(".audit").bounding_box()
    assert bottom is not None
    tab.screenshot(
        path=str(out / "review-board.png"),
        clip={"x": 0, "y": 0, "width": 1280, "height": bottom["y"] + bottom["height"] + 24},
        full_page=True,
    )
    tab.goto(served.base + "/review")
    tab.screenshot(path=str(out / "review-queue.png"))
    context.close()
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    tab = phone.new_page()
    tab.set_default_timeout(60_000)
    ask(tab, served)
    tab.screenshot(path=str(out / "article-phone.png"))
    phone.close()
    for name in (
        "ask",
        "article-desktop",
        "article-references",
        "article-phone",
        "review-board",
        "review-queue",
    ):
        assert (out / f"{name}.png").stat().st_size > 10_000


UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(e => e.type !== 'hidden' && e.labels.length === 0 && !e.getAttribute('aria-label'))
  .map(e => e.name || e.id)"""


def test_every_form_field_has_a_label_and_the_skip_link_works(page: Any, served: Served) -> None:
    sign_in(page, served, "ed")
    url = ask(page, served, "How is calcific periarthritis of the forefoot treated?")
    article_id = url.split("?")[0].rsplit("/", 1)[1]
    for path in ["/", url, "/library?q=gout", f"/review/{article_id}", "/review", "/sources"]:
        page.goto(path if path.startswith("http") else served.base + path)
        assert page.evaluate(UNLABELLED) == [], path
        assert page.locator("h1").count() == 1, path
    page.keyboard.press("Tab")  # the first Tab reaches the skip link
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_no_page_breaks_the_content_security_policy(page: Any, served: Served) -> None:
    """Every response carries a strict CSP; the pages, their script and the streamed
    answer must run under it without a single violation."""
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    page.add_init_script(
        """document.addEventListener("securitypolicyviolation",
             (e) => console.error("Content Security violation: " + e.violatedDirective))"""
    )
    url = ask(page, served)  # the streamed answer (fetch, live list) then the article
    assert "default-src 'self'" in _csp(page, url)
    page.get_by_role("button", name="Copy link").click()
    sign_in(page, served, "ed")
    for path in ("/", "/library", "/review", "/sources", url.split(served.base, 1)[1]):
        page.goto(served.base + path)
        page.wait_for_load_state("networkidle")

    assert refused == []


def _csp(page: Any, url: str) -> str:
    response = page.request.get(url)
    return str(response.headers.get("content-security-policy", ""))
