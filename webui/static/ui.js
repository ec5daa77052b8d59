// Facteur web UI: copy buttons and confirmations. Everything works
// without it, except copying to the clipboard.
document.addEventListener("click", function (e) {
  var b = e.target.closest("[data-copy]");
  if (!b) return;
  var el = document.getElementById(b.getAttribute("data-copy"));
  if (!el || !navigator.clipboard) return;
  navigator.clipboard.writeText(el.textContent).then(function () {
    b.textContent = "Copied";
  });
});
document.addEventListener("submit", function (e) {
  var msg = e.target.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) e.preventDefault();
});
// A page with a running task (an update) reloads itself every few seconds.
(function () {
  var el = document.querySelector("[data-refresh]");
  if (el) setTimeout(function () { location.reload(); }, 1000 * Number(el.getAttribute("data-refresh")));
})();
