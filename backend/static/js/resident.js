/* A second tap on a slow network must not send a form twice: disable its button once sent,
   and enable it again if the resident comes back to the page with the back button. */
document.addEventListener("submit", function (e) {
  var b = e.target.querySelector("button[type=submit]");
  if (!b) return;
  b.setAttribute("data-label", b.textContent);
  setTimeout(function () { b.disabled = true; b.textContent = "正在提交…"; }, 0);
});
window.addEventListener("pageshow", function () {
  document.querySelectorAll("button[data-label]").forEach(function (b) {
    b.disabled = false; b.textContent = b.getAttribute("data-label");
  });
});
