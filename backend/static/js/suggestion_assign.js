// The lead cannot also assist: untick and disable its box (the operation refuses it too).
(function () {
  var lead = document.getElementById("assign-lead");
  lead.addEventListener("change", function () {
    lead.form.querySelectorAll("input[name=assisting_ids]").forEach(function (box) {
      box.disabled = box.value === lead.value;
      if (box.disabled) { box.checked = false; }
    });
  });
})();
