/* The deputy's answer form: hints on the draft as it is typed (advice only, sending is never
   held back), and 用作开头 copying an earlier answer into the reply box. */
(function () {
  var form = document.querySelector('[data-testid="reply-form"]');
  if (!form) return;
  var box = form.querySelector('textarea[name="body"]');
  var panel = form.querySelector('[data-testid="answer-hints"]');
  var list = panel.querySelector('ul');
  var ok = form.querySelector('[data-testid="answer-hints-ok"]');
  var timer = null, asked = 0;

  function show(hints) {
    list.textContent = '';
    hints.forEach(function (h) {
      var li = document.createElement('li');
      li.textContent = h.message;
      li.setAttribute('data-code', h.code);
      list.appendChild(li);
    });
    panel.hidden = hints.length === 0;
    if (ok) ok.hidden = true;
  }

  function check() {
    var mine = ++asked;
    if (!box.value.trim()) { show([]); return; }
    fetch(form.getAttribute('data-hints-url'), {
      method: 'POST', body: new FormData(form), credentials: 'same-origin',
      headers: {'Accept': 'application/json'}
    }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data && mine === asked) show(data.hints); })
      .catch(function () { /* hints are advice: without them the form works as before */ });
  }

  // Searching earlier answers reloads the page: the draft is kept in this tab until sent.
  var key = 'lx-draft:' + location.pathname;
  try {
    if (!box.value && sessionStorage.getItem(key)) { box.value = sessionStorage.getItem(key); check(); }
  } catch (e) { /* storage off: nothing kept */ }
  form.addEventListener('submit', function (event) {
    var button = event.submitter;
    if (!button || !button.hasAttribute('formaction')) {
      try { sessionStorage.removeItem(key); } catch (e) { /* storage off */ }
    }
  });

  box.addEventListener('input', function () {
    try { sessionStorage.setItem(key, box.value); } catch (e) { /* storage off */ }
    clearTimeout(timer);
    timer = setTimeout(check, 600);
  });

  document.querySelectorAll('[data-use-answer]').forEach(function (button) {
    button.addEventListener('click', function () {
      var source = document.getElementById(button.getAttribute('data-use-answer'));
      if (!source) return;
      if (box.value.trim() && !window.confirm('用这条以往答复替换已经写好的内容吗？')) return;
      box.value = source.textContent;
      try { sessionStorage.setItem(key, box.value); } catch (e) { /* storage off */ }
      box.focus();
      box.scrollIntoView({block: 'center'});
      check();
    });
  });
})();
