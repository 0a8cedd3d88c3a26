/* Behaviour the templates ask for with data-* attributes, since the Content-Security-Policy
   runs no inline script or on*= handler:
   data-confirm="问题" on a form asks before sending it; data-autosubmit on a field sends its
   form when it changes; data-history-back on a link goes back when there is a page to go to. */
document.addEventListener("submit", function (e) {
  var question = e.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    e.preventDefault();
    e.stopImmediatePropagation();
  }
}, true);
document.addEventListener("change", function (e) {
  if (e.target.hasAttribute && e.target.hasAttribute("data-autosubmit") && e.target.form) {
    e.target.form.submit();
  }
});
document.addEventListener("click", function (e) {
  var link = e.target.closest && e.target.closest("a[data-history-back]");
  if (link && history.length > 1) {
    e.preventDefault();
    history.back();
  }
});
