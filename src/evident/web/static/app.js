// evident web: a few lines of progressive enhancement; every page works without them.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Show progress while the server composes an article, and stop double submits.
  for (const form of document.querySelectorAll("form[data-progress]")) {
    form.addEventListener("submit", () => {
      const note = form.querySelector(".progress");
      if (note) note.hidden = false;
      for (const b of form.querySelectorAll("button")) b.disabled = true;
      form.setAttribute("aria-busy", "true");
    });
  }
  // Forms with data-stream show each statement as soon as it has passed verification
  // (server-sent events from POST /ask/stream), then open the saved article. Without
  // fetch streaming, or if the stream cannot start, the form posts as usual.
  for (const form of document.querySelectorAll("form[data-stream]")) {
    form.addEventListener("submit", async (e) => {
      if (!window.ReadableStream || !window.TextDecoder) return;
      e.preventDefault();
      const note = form.querySelector(".progress");
      const live = form.querySelector(".live") ||
        form.appendChild(Object.assign(document.createElement("ol"), { className: "live" }));
      live.setAttribute("aria-live", "polite");
      live.replaceChildren();
      const fail = (message) => {
        if (note) note.textContent = message;
        for (const b of form.querySelectorAll("button")) b.disabled = false;
        form.removeAttribute("aria-busy");
      };
      let response;
      try {
        response = await fetch(form.dataset.stream, { method: "POST", body: new FormData(form) });
      } catch {
        return form.submit();
      }
      if (!response.ok || !response.body) return form.submit();
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const kind = /^event: (.*)$/m.exec(block)?.[1];
          const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] || "{}");
          if (kind === "statement") {
            live.append(Object.assign(document.createElement("li"), { textContent: data.statement.text }));
          } else if (kind === "fallback") {
            live.replaceChildren();
          } else if (kind === "done") {
            return location.assign(data.url);
          } else if (kind === "error") {
            return fail(data.error);
          }
        }
      }
      fail("The answer stopped before it was finished; please try again.");
    });
  }
  const said = document.querySelector(".copied");
  const copy = async (text, what) => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const area = Object.assign(document.createElement("textarea"), { value: text });
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    if (said) said.textContent = what + " copied";
  };
  document.querySelector("[data-copy-link]")?.addEventListener("click", () =>
    copy(location.origin + location.pathname, "Link"));
  // "Copy text" copies the Markdown rendering: statements, citation numbers and references.
  const asText = document.querySelector("[data-copy-text]");
  asText?.addEventListener("click", async () =>
    copy(await (await fetch(asText.dataset.copyText)).text(), "Text"));
  document.querySelector("[data-print]")?.addEventListener("click", () => window.print());
  // Pointing at a citation lights up its reference; in the side column it scrolls into view.
  const refs = document.querySelector(".col-refs");
  const beside = matchMedia("(min-width: 64rem)"); // the references sit beside the text
  const calm = matchMedia("(prefers-reduced-motion: reduce)");
  const light = (link) => {
    const ref = document.querySelector(link.getAttribute("href"));
    if (!ref || !refs) return;
    for (const old of refs.querySelectorAll(".lit")) old.classList.remove("lit");
    ref.classList.add("lit");
    if (!beside.matches || refs.scrollHeight <= refs.clientHeight) return;
    const column = refs.getBoundingClientRect();
    const at = ref.getBoundingClientRect();
    if (at.top >= column.top && at.bottom <= Math.min(column.bottom, innerHeight)) return;
    refs.scrollTo({
      top: refs.scrollTop + at.top - column.top - 40,
      behavior: calm.matches ? "auto" : "smooth",
    });
  };
  // Where the references are not beside the text (phones, tablets), a citation opens its
  // source in a sheet and the reader keeps their place; without it the link jumps to the list.
  const sheet = document.querySelector("dialog.sheet");
  const open = (link) => {
    const tip = link.parentElement.querySelector(".cite-quote");
    const ref = document.querySelector(link.getAttribute("href"));
    sheet.querySelector("h2").textContent = tip.querySelector(".cite-head").textContent;
    sheet.querySelector(".sheet-origin").textContent =
      tip.querySelector(".cite-origin")?.textContent || "";
    sheet.querySelector(".sheet-passages").replaceChildren(
      ...[...tip.querySelectorAll(".cite-passage")].map((p) => p.cloneNode(true)));
    const inList = sheet.querySelector(".sheet-ref");
    inList.href = link.getAttribute("href");
    inList.textContent = `Reference ${link.textContent.replace(/[[\]]/g, "")} in the list`;
    const source = ref?.querySelector("a");
    if (source) sheet.querySelector(".sheet-doc").href = source.href;
    link.parentElement.classList.add("dismissed"); // the sheet replaces the tooltip
    sheet.showModal();
  };
  if (sheet?.showModal) {
    document.documentElement.classList.add("has-sheet");
    sheet.querySelector(".sheet-close").addEventListener("click", () => sheet.close());
    sheet.addEventListener("click", (e) => {
      if (e.target === sheet || e.target.closest("a")) sheet.close(); // the backdrop, a link
    });
  }
  // Beside the references, a tooltip that would reach over them opens further left.
  const text = document.querySelector(".col-main");
  const place = (link) => {
    const tip = link.parentElement.querySelector(".cite-quote");
    if (!tip || !text || !beside.matches) return;
    const rem = parseFloat(getComputedStyle(document.documentElement).fontSize);
    const width = Math.min(24 * rem, innerWidth * 0.8);
    const column = text.getBoundingClientRect();
    const from = link.parentElement.getBoundingClientRect().left;
    const over = from + width - column.right;
    tip.style.left = over > 0 ? `${-Math.min(over, from - column.left)}px` : "";
  };
  for (const link of document.querySelectorAll(".cite-link")) {
    for (const kind of ["mouseenter", "focus"]) {
      link.addEventListener(kind, () => {
        place(link);
        light(link);
      });
    }
    link.addEventListener("click", (e) => {
      if (!sheet || beside.matches || !sheet.showModal) return;
      e.preventDefault();
      open(link);
    });
    // Escape hides the passage without moving focus (WCAG 1.4.13).
    link.addEventListener("keydown", (e) => {
      if (e.key === "Escape") link.parentElement.classList.add("dismissed");
    });
    link.addEventListener("blur", () => {
      if (!sheet?.open) link.parentElement.classList.remove("dismissed");
    });
  }
  // Pages with running jobs refresh themselves.
  const refresh = document.querySelector("[data-refresh]");
  if (refresh) setTimeout(() => location.reload(), 1000 * Number(refresh.dataset.refresh));
});
