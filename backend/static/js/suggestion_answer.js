/* The picked answer class (A/B/C) shows only the fields that class needs. */
(function () {
  var box = document.querySelector('[data-testid="answer"]');
  if (!box) return;
  function show() {
    var picked = box.querySelector('input[name="resolution"]:checked');
    box.querySelectorAll('[data-when]').forEach(function (el) {
      el.hidden = !picked || picked.value !== el.getAttribute('data-when');
    });
  }
  box.querySelectorAll('input[name="resolution"]').forEach(function (r) { r.addEventListener('change', show); });
  show();
})();
