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
  // The audience choice re-renders the article as soon as it changes.
  for (const form of document.querySelectorAll("form[data-autosubmit]")) {
    form.addEventListener("change", () => form.requestSubmit());
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
  const light = (link) => {
    const ref = document.querySelector(link.getAttribute("href"));
    if (!ref || !refs) return;
    for (const old of refs.querySelectorAll(".lit")) old.classList.remove("lit");
    ref.classList.add("lit");
    if (refs.scrollHeight > refs.clientHeight) {
      refs.scrollTo({ top: ref.offsetTop - refs.offsetTop - 40, behavior: "smooth" });
    }
  };
  for (const link of document.querySelectorAll(".cite-link")) {
    link.addEventListener("mouseenter", () => light(link));
    link.addEventListener("focus", () => light(link));
    // Escape hides the passage without moving focus (WCAG 1.4.13).
    link.addEventListener("keydown", (e) => {
      if (e.key === "Escape") link.parentElement.classList.add("dismissed");
    });
    link.addEventListener("blur", () => link.parentElement.classList.remove("dismissed"));
  }
  // Pages with running jobs refresh themselves.
  const refresh = document.querySelector("[data-refresh]");
  if (refresh) setTimeout(() => location.reload(), 1000 * Number(refresh.dataset.refresh));
});
