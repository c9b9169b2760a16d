// Keyboard for the review pages. Every key acts on an element the server rendered, so the pages
// work without this script and the server still checks every decision.
//   - an element with data-key="x": a form is submitted, a link followed, a <details> opened
//     with its first field focused;
//   - the queue (data-page="queue"): j/k move between rows, Enter or o opens, x selects;
//   - everywhere: ? shows the help overlay (#key-help), Esc closes it or leaves a field,
//     Ctrl+Enter in a field submits its form.
(function () {
  "use strict";

  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable]") !== null;
  }

  function toggleHelp() {
    var help = document.getElementById("key-help");
    if (!help) return;
    if (help.open) help.close();
    else help.showModal();
  }

  function firstField(container) {
    return container.querySelector("textarea, input:not([type=hidden]), select");
  }

  function act(element) {
    if (element.tagName === "FORM") {
      element.requestSubmit();
    } else if (element.tagName === "A") {
      window.location.href = element.href;
    } else if (element.tagName === "DETAILS") {
      element.open = true;
      var field = firstField(element);
      if (field) field.focus();
      element.scrollIntoView({ block: "nearest" });
    } else {
      element.focus();
    }
  }

  // --- the queue ------------------------------------------------------------------------------
  var cursor = -1;

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-queue-row]"));
  }

  function moveCursor(step) {
    var all = rows();
    if (!all.length) return;
    cursor = Math.max(0, Math.min(all.length - 1, cursor + step));
    all.forEach(function (row, index) {
      row.classList.toggle("cursor", index === cursor);
      row.setAttribute("aria-current", index === cursor ? "true" : "false");
    });
    all[cursor].scrollIntoView({ block: "nearest" });
  }

  function currentRow() {
    var all = rows();
    return cursor >= 0 && cursor < all.length ? all[cursor] : null;
  }

  function queueKey(key) {
    var row = currentRow();
    if (key === "j") moveCursor(1);
    else if (key === "k") moveCursor(-1);
    else if ((key === "Enter" || key === "o") && row) act(row.querySelector("[data-open]"));
    else if (key === "x" && row) {
      var box = row.querySelector("input[type=checkbox]");
      if (box) box.checked = !box.checked;
    } else if (key === "/") {
      var filter = document.querySelector("[data-filter-skill]");
      if (filter) filter.focus();
    } else return false;
    return true;
  }

  // htmx replaces the results when filters change: start the cursor again.
  document.addEventListener("htmx:afterSwap", function () {
    cursor = -1;
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-help]")) toggleHelp();
  });

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.metaKey) return;
    var target = event.target;
    if (typing(target)) {
      if (event.key === "Escape") target.blur();
      else if (event.key === "Enter" && event.ctrlKey && target.form) {
        event.preventDefault();
        target.form.requestSubmit();
      }
      return;
    }
    if (event.ctrlKey) return;
    if (event.key === "?") {
      event.preventDefault();
      toggleHelp();
      return;
    }
    var page = document.querySelector("[data-page]");
    if (page && page.dataset.page === "queue" && queueKey(event.key)) {
      event.preventDefault();
      return;
    }
    if (event.key.length !== 1) return;
    var element = document.querySelector('[data-key="' + event.key + '"]');
    if (element) {
      event.preventDefault();
      act(element);
    }
  });
})();
