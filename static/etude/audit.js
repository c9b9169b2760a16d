// Audit exports with progress: the export streams; this fetches it, shows how much has
// arrived (events for JSON Lines, one per line; megabytes for CSV), then saves the file.
// Without JavaScript (or fetch streams) the links download the file directly.
(function () {
  "use strict";

  function filename(response, fallback) {
    const header = response.headers.get("Content-Disposition") || "";
    const match = header.match(/filename="([^"]+)"/);
    return match ? match[1] : fallback;
  }

  function countLines(bytes) {
    let lines = 0;
    for (let at = bytes.indexOf(10); at !== -1; at = bytes.indexOf(10, at + 1)) lines += 1;
    return lines;
  }

  async function download(link) {
    const status = document.getElementById(link.dataset.status);
    const total = Number(link.dataset.events);
    const byLine = link.pathname.endsWith(".jsonl");
    const show = (text) => { if (status) status.textContent = text; };
    show(`Preparing ${total.toLocaleString()} events…`);
    const response = await fetch(link.href, { credentials: "same-origin" });
    if (!response.ok) {
      show(`The export failed (HTTP ${response.status}).`);
      return;
    }
    const reader = response.body.getReader();
    const parts = [];
    let received = 0;
    let events = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      received += value.length;
      const megabytes = (received / 1e6).toFixed(1);
      if (byLine) {
        events += countLines(value);
        show(`${events.toLocaleString()} of ${total.toLocaleString()} events (${megabytes} MB)…`);
      } else {
        show(`${megabytes} MB received of ${total.toLocaleString()} events…`);
      }
    }
    const url = URL.createObjectURL(new Blob(parts, { type: response.headers.get("Content-Type") }));
    const save = document.createElement("a");
    save.href = url;
    save.download = filename(response, "audit-export");
    document.body.appendChild(save);
    save.click();
    save.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    show(`Done: ${total.toLocaleString()} events, ${(received / 1e6).toFixed(1)} MB.`);
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-export]");
    if (!link || !window.fetch || !window.ReadableStream || event.ctrlKey || event.metaKey) return;
    event.preventDefault();
    download(link).catch((error) => {
      const status = document.getElementById(link.dataset.status);
      if (status) status.textContent = `The export failed: ${error.message}`;
    });
  });
})();
