/* As the title is typed, offer proposals already there: supporting one beats writing it again. */
(function () {
  var title = document.querySelector("[name=title]"), box = document.getElementById("similar");
  var timer = null, last = "";
  function look() {
    var q = title.value.trim();
    if (q === last) { return; }
    last = q;
    if (q.length < 2) { box.innerHTML = ""; return; }
    fetch(box.getAttribute("data-url") + "?q=" + encodeURIComponent(q))
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) { if (q === last) { box.innerHTML = html; } });
  }
  title.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(look, 300); });
  look();
})();
