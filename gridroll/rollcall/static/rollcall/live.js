// Keeps a roll-call page current: every 1.5 s ask whether anything changed; if so, swap in the new roll.
(function () {
  var roll = document.getElementById("roll");
  if (!roll) return;
  var url = roll.dataset.live;
  function tick() {
    var since = roll.dataset.version || "";
    var sep = url.indexOf("?") < 0 ? "?" : "&";
    fetch(url + sep + "since=" + encodeURIComponent(since), { credentials: "same-origin" })
      .then(function (r) { return r.status === 200 ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var open = Array.prototype.map.call(roll.querySelectorAll("details[open]"), function (d) { return d.id; });
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.querySelector("#roll");
        if (!fresh) return;
        roll.innerHTML = fresh.innerHTML;
        roll.dataset.version = fresh.dataset.version;
        open.forEach(function (id) { var d = document.getElementById(id); if (d) d.open = true; });
      })
      .catch(function () {})
      .finally(function () { setTimeout(tick, 1500); });
  }
  setTimeout(tick, 1500);
})();
