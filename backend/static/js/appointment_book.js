/* A full slot can only be waited for: the button says so before it is pressed. */
(function () {
  var button = document.getElementById("book-submit"), hint = document.getElementById("book-hint");
  if (!button) return;
  var hintText = hint.textContent;
  function update() {
    var picked = document.querySelector("input[name=slot_id]:checked");
    var full = picked && picked.hasAttribute("data-full");
    button.value = full ? "waitlist" : "book";
    button.textContent = full ? "登记候补" : "确认预约";
    hint.textContent = full ? "这个时段已约满。登记候补后，有人取消时会按先后自动为您预约，并通知您。" : hintText;
  }
  document.querySelectorAll("input[name=slot_id]").forEach(function (r) { r.addEventListener("change", update); });
  update();
})();
