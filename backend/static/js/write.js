/* Counts characters as a person does (and as the server does), and previews the photos. */
(function () {
  var body = document.getElementById("body"), out = document.getElementById("body-count");
  var min = Number(body.getAttribute("data-min")), max = Number(body.getAttribute("data-max"));
  var seg = window.Intl && Intl.Segmenter ? new Intl.Segmenter("zh", {granularity: "grapheme"}) : null;
  function count() {
    var text = body.value.trim();
    var n = seg ? Array.from(seg.segment(text)).length : Array.from(text).length;
    out.textContent = "已写 " + n + " 字";
    out.className = "lx-counter" + ((n && n < min) || n > max ? " lx-counter--bad" : "");
  }
  body.addEventListener("input", count);
  count();

  var input = document.getElementById("photos"), box = document.getElementById("previews");
  var status = document.getElementById("photos-status");
  input.addEventListener("change", function () {
    var files = Array.from(input.files), total = 0;
    box.innerHTML = "";
    status.textContent = files.length ? "已选 " + files.length + " 张照片，再点“添加照片”可以重新选择" : "";
    files.forEach(function (f, i) {
      total += f.size;
      var img = document.createElement("img");
      img.className = "lx-previews__img";
      img.alt = "第 " + (i + 1) + " 张照片";
      img.src = URL.createObjectURL(f);
      box.appendChild(img);
    });
    var warn = "", maxBytes = Number(input.getAttribute("data-max-bytes")) || 0;
    if (files.length > Number(input.getAttribute("data-max"))) {
      warn = "最多只能选 " + input.getAttribute("data-max") + " 张，请重新选择。";
    } else if (maxBytes && total > maxBytes) {
      warn = "照片加起来太大了，请少选几张。";
    }
    input.setCustomValidity(warn);
    if (warn) {
      var p = document.createElement("p");
      p.className = "lx-entry__error";
      p.textContent = warn;
      box.appendChild(p);
    }
  });
})();
