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
    passage = quote.locator("mark").inner_text()  # the quoted span, marked in its passage
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
    page.get_by_label("Patient").check()
    page.get_by_role("button", name="Show for this reader").click()
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
        phone.keyboard.press("Enter")
        box = phone.get_by_role("dialog").bounding_box()
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


# -- reading an article: citations, the reader choice, the board's badges ----------------
IN_COLUMN = """(number) => {
  const ref = document.querySelector('#ref-' + number).getBoundingClientRect();
  const column = document.querySelector('.col-refs').getBoundingClientRect();
  return ref.top >= column.top - 1 && ref.bottom <= Math.min(column.bottom, innerHeight) + 1;
}"""


def test_pointing_at_a_citation_scrolls_the_reference_column_to_it(
    page: Any, served: Served
) -> None:
    ask(page, served)
    links = page.locator(".cite-link")
    column = page.locator(".col-refs")
    assert column.evaluate("e => e.scrollHeight > e.clientHeight")  # too long to see at once
    seen: set[str] = set()
    positions = set()
    for i in range(links.count()):
        link = links.nth(i)
        number = link.inner_text().strip("[]")
        if number in seen:
            continue
        seen.add(number)
        link.scroll_into_view_if_needed()
        if len(seen) % 2:  # with the mouse and with the keyboard
            link.hover()
        else:
            link.focus()
        expect(page.locator(f"#ref-{number}")).to_have_class(re.compile(r"\blit\b"))
        assert page.locator(".col-refs .lit").count() == 1  # only the one pointed at
        page.wait_for_function(IN_COLUMN, arg=number, timeout=5000)
        positions.add(column.evaluate("e => Math.round(e.scrollTop)"))
        link.blur()  # its passage would cover the next citation
    assert len(seen) >= 8 and len(positions) >= 2  # the column did have to move


def test_tapping_a_citation_on_a_phone_shows_its_source_and_keeps_the_place(
    browser: Any, served: Served
) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    phone = context.new_page()
    phone.set_default_timeout(60_000)
    ask(phone, served)
    link = phone.locator(".section .cite-link").nth(3)
    link.scroll_into_view_if_needed()
    phone.evaluate("window.scrollBy(0, -200)")
    number = link.inner_text().strip("[]")
    statement = link.locator("xpath=ancestor::li[1]").inner_text()
    title = phone.locator(f"#ref-{number} a").inner_text().split(". ")[0]
    place = phone.evaluate("window.scrollY")
    assert place > 1000  # well down the article, far from the reference list
    link.tap()
    sheet = phone.get_by_role("dialog")
    expect(sheet).to_be_visible()
    phone.wait_for_timeout(500)  # a jump would have happened by now
    assert phone.evaluate("window.scrollY") == place
    assert "#ref-" not in phone.url
    # The sheet names the source and quotes the cited passage, marked in its context.
    assert title[:60] in sheet.get_by_role("heading").inner_text()
    quoted = sheet.locator("mark").first.inner_text()
    assert len(quoted) > 20 and quoted in statement
    box = sheet.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert abs(box["y"] + box["height"] - 844) <= 1  # along the bottom of the screen
    to_list = sheet.get_by_role("link", name=f"Reference {number} in the list")
    assert to_list.get_attribute("href") == f"#ref-{number}"
    source = sheet.get_by_role("link", name="Open the source document")
    assert "/documents/" in (source.get_attribute("href") or "")
    sheet.get_by_role("button", name="Close").click()
    expect(sheet).to_be_hidden()
    assert phone.evaluate("window.scrollY") == place
    # Following the sheet's link to the reference list is still one tap away.
    link.tap()
    to_list.click()
    expect(phone).to_have_url(re.compile(rf"#ref-{number}$"))
    expect(sheet).to_be_hidden()
    context.close()


def test_a_citation_names_its_source_and_quotes_the_passage(page: Any, served: Served) -> None:
    ask(page, served)
    tips = page.locator(".cite-quote")
    with_context = 0
    for i in range(min(tips.count(), 12)):
        link, tip = page.locator(".cite-link").nth(i), tips.nth(i)
        number = link.inner_text().strip("[]")
        statement = link.locator("xpath=ancestor::*[self::li or self::p][1]").inner_text()
        link.focus()
        expect(tip).to_be_visible()
        text = tip.inner_text()
        title = page.locator(f"#ref-{number} a").inner_text().split(". ")[0]
        head = tip.locator(".cite-head").inner_text()
        assert head.startswith(f"[{number}] ") and title[:60] in head, (head, title)
        quoted = tip.locator("mark").first.inner_text()
        assert quoted and quoted in statement  # the passage that supports the statement
        passage = tip.locator(".cite-passage").first.inner_text().strip("“”…")
        if len(passage) > len(quoted) + 20:
            with_context += 1  # ... read in its context, not the statement over again
        assert text.strip() != f"Reference {number} says: “{quoted}”"
    assert with_context >= 1


def test_the_reader_choice_changes_only_when_asked(page: Any, browser: Any, served: Served) -> None:
    first = ask(page, served)
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.url) if r.method == "POST" else None)
    page.get_by_label("Physician").focus()
    page.keyboard.press("ArrowRight")  # moving through the choices (WCAG 3.2.2) ...
    page.keyboard.press("ArrowRight")
    assert page.get_by_label("Student").is_checked()
    page.wait_for_timeout(1000)
    assert posted == [] and page.url == first  # ... loads nothing
    assert page.locator("[data-audience]").inner_text() == "physicians"
    page.keyboard.press("Tab")  # the explicit action, by keyboard
    assert page.evaluate("document.activeElement.textContent") == "Show for this reader"
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: url != first and "/articles/" in url)
    assert page.locator("[data-audience]").inner_text() == "students"
    # Without JavaScript the choice and the button work the same way.
    context = browser.new_context(java_script_enabled=False)
    plain = context.new_page()
    plain.goto(first)
    plain.get_by_label("Patient").check()
    plain.get_by_role("button", name="Show for this reader").click()
    plain.wait_for_url(lambda url: url != first and "/articles/" in url)
    assert plain.locator("[data-audience]").inner_text() == "patients"
    context.close()


ONE_LINE = """(e) => {
  const range = document.createRange();
  range.selectNodeContents(e);
  const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
  const style = getComputedStyle(e);
  const frame = ['paddingTop', 'paddingBottom', 'borderTopWidth', 'borderBottomWidth']
    .reduce((sum, k) => sum + parseFloat(style[k]), 0);
  return { lines: tops.size, height: e.getBoundingClientRect().height - frame,
           lineHeight: parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.55 };
}"""


@pytest.mark.parametrize("width", [1280, 390])
def test_status_badges_on_the_review_board_stay_on_one_line(
    browser: Any, served: Served, width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900}, is_mobile=width < 600)
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    sign_in(tab, served, "ed")
    # A draft with a long question, so the status column is squeezed on a phone.
    ask(tab, served, "How is calcific periarthritis of the forefoot treated in a young woman?")
    tab.goto(served.base + "/review")
    drafts = tab.get_by_role("region", name="Drafts and changes requested")
    expect(drafts.locator(".badge", has_text="draft").first).to_be_visible()
    badges = tab.locator(".board .badge")
    assert badges.count() >= 1
    for i in range(badges.count()):
        badge = badges.nth(i)
        shape = badge.evaluate(ONE_LINE)
        label = badge.inner_text()
        assert shape["lines"] == 1, f"{label!r} wraps onto {shape['lines']} lines at {width}px"
        assert shape["height"] <= shape["lineHeight"] + 1, (label, shape)
    assert tab.evaluate("document.documentElement.scrollWidth") <= width
    context.close()
