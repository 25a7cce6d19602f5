// A background job's page: polls its status every two seconds, moves the progress bar, and shows the
// download link (or why it failed) once the job is finished. Without JavaScript the page still says
// where the job is; reloading it shows the link.
(function () {
  "use strict";
  var box = document.querySelector("[data-job-status]");
  if (!box) return;
  function el(name) { return box.querySelector("[data-job-" + name + "]"); }
  function show(state) {
    el("label").textContent = state.label;
    el("count").textContent = state.total ? state.done + " / " + state.total : "";
    var bar = el("bar");
    bar.value = state.percent;
    bar.textContent = state.percent + "%";
    var finished = state.status === "done" || state.status === "failed";
    bar.hidden = finished;
    el("wait").hidden = finished;
    if (state.status === "done") {
      el("download").href = state.download;
      el("ready").hidden = false;
    }
    if (state.status === "failed") {
      el("error-text").textContent = state.error;
      el("error").hidden = false;
    }
    return finished;
  }
  function poll() {
    fetch(box.dataset.jobStatus, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (state) {
        if (!state || !show(state)) window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  if (el("ready").hidden && el("error").hidden) window.setTimeout(poll, 1000);
})();
