// The grid worker's roll-call page:
// - a building's people are loaded when it is opened (the page itself carries only the buildings'
//   counts, so it stays light on mobile data);
// - one exemption dialog for everyone: a person's 免采 button fills it, and saving sends it with fetch
//   and swaps in that person's new row, so the page never reloads and the worker keeps their place;
// - every 1.5 s ask whether anything changed; if so, swap in the new counts and refresh the open
//   buildings in place.
(function () {
  "use strict";
  var roll = document.getElementById("roll");
  if (!roll) return;
  var url = roll.dataset.live;

  function load(details) {
    var box = details.querySelector(".people[data-src]");
    if (!box) return Promise.resolve();
    return fetch(box.dataset.src, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        box.innerHTML = html;
        box.dataset.loaded = "1";
      })
      .catch(function () {});
  }
  roll.addEventListener("toggle", function (event) {
    var d = event.target;
    if (d.matches && d.matches("details.building") && d.open) {
      var box = d.querySelector(".people");
      if (box && !box.dataset.loaded) load(d);
    }
  }, true);
  Array.prototype.forEach.call(roll.querySelectorAll("details.building[open]"), load);

  var dialog = document.getElementById("exempt-dialog");
  if (dialog) {
    var form = dialog.querySelector("form");
    var error = dialog.querySelector("[data-error]");
    document.addEventListener("click", function (event) {
      var button = event.target.closest ? event.target.closest("[data-exempt]") : null;
      if (button) {
        form.action = button.dataset.exempt;
        form.elements.reason.value = button.dataset.reason || form.elements.reason.options[0].value;
        form.elements.note.value = button.dataset.note || "";
        dialog.querySelector("[data-name]").textContent = button.dataset.name || "";
        dialog.querySelector("[data-clear]").hidden = !button.dataset.reason;
        error.textContent = "";
        dialog.showModal();
        return;
      }
      if (event.target.closest && event.target.closest("[data-close]")) dialog.close();
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var data = new FormData(form);
      if (event.submitter && event.submitter.name) data.append(event.submitter.name, event.submitter.value);
      var row = document.getElementById("p" + form.action.split("/").slice(-3)[0]);
      fetch(form.action, {
        method: "POST", body: data, credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" }
      })
        .then(function (r) { return r.text().then(function (text) { return { ok: r.ok, text: text }; }); })
        .then(function (answer) {
          if (!answer.ok) { error.textContent = answer.text; return; }
          if (row) row.outerHTML = answer.text;
          dialog.close();
        })
        .catch(function () { error.textContent = "⚠"; });
    });
  }

  function tick() {
    var since = roll.dataset.version || "";
    var sep = url.indexOf("?") < 0 ? "?" : "&";
    fetch(url + sep + "since=" + encodeURIComponent(since), { credentials: "same-origin" })
      .then(function (r) { return r.status === 200 ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.querySelector("#roll");
        if (!fresh) return;
        // Keep what is open and already loaded (so the page does not shrink under the worker's thumb),
        // then refresh those buildings in place.
        var kept = {};
        Array.prototype.forEach.call(roll.querySelectorAll("details.building"), function (d) {
          var box = d.querySelector(".people");
          kept[d.id] = { open: d.open, html: box && box.dataset.loaded ? box.innerHTML : null };
        });
        roll.innerHTML = fresh.innerHTML;
        roll.dataset.version = fresh.dataset.version;
        var refresh = [];
        Array.prototype.forEach.call(roll.querySelectorAll("details.building"), function (d) {
          var k = kept[d.id];
          if (!k) return;
          if (k.html !== null) {
            var box = d.querySelector(".people");
            box.innerHTML = k.html;
            box.dataset.loaded = "1";
            refresh.push(d);
          }
          d.open = k.open;
        });
        return Promise.all(refresh.map(load));
      })
      .catch(function () {})
      .finally(function () { setTimeout(tick, 1500); });
  }
  setTimeout(tick, 1500);
})();
