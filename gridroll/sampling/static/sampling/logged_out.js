// The logged-out page: the roster, keys and cached scanner files leave the phone; queued scans stay for
// their user. A file of its own, not inline: the pages' Content-Security-Policy allows no inline script.
(function () {
  var box = document.getElementById("logged-out");
  if (!box || !window.gridrollForget) return;
  window.gridrollForget.forget().then(function (queued) {
    document.getElementById("forgotten").textContent = box.dataset.cleared;
    if (queued.total > 0) {
      var note = document.getElementById("still-queued");
      note.textContent = box.dataset.queued + " " + queued.total + ". " + box.dataset.kept;
      note.hidden = false;
    }
  });
})();
