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
  document.querySelector("[data-copy-text]")?.addEventListener("click", () =>
    copy(document.getElementById("article-text").innerText, "Text"));
  document.querySelector("[data-print]")?.addEventListener("click", () => window.print());
  // Pages with running jobs refresh themselves.
  const refresh = document.querySelector("[data-refresh]");
  if (refresh) setTimeout(() => location.reload(), 1000 * Number(refresh.dataset.refresh));
});
