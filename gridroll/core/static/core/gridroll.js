// What used to sit in inline handlers: the Content-Security-Policy allows scripts from our static files
// only. Markup asks for behaviour with data attributes.
//   <select data-submit>      submits its form when changed
//   <select data-go>          goes to the chosen option's value (a URL) when changed
//   <button data-print>       prints the page
//   <form data-confirm="…">   asks before submitting
//   <table class="responsive"> each body cell gets its column's header as data-label, which the phone
//                             layout (gridroll.css) shows before the value: the header row is hidden
//                             there, and "48 / 154" alone says nothing (issue 18, item 7)
(function () {
  "use strict";
  function labelTable(table) {
    var head = table.tHead && table.tHead.rows[0];
    if (!head) return;
    var names = [];
    Array.prototype.forEach.call(head.cells, function (th) {
      for (var i = 0; i < (th.colSpan || 1); i++) names.push(th.textContent.trim());
    });
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        // A row of one cell in a table of several columns is a message ("nobody yet…"), not a record.
        if (row.cells.length === 1 && names.length > 1) return;
        var col = 0;
        Array.prototype.forEach.call(row.cells, function (cell) {
          if (!cell.hasAttribute("data-label") && (cell.colSpan || 1) === 1 && names[col]) {
            cell.setAttribute("data-label", names[col]);
          }
          col += cell.colSpan || 1;
        });
      });
    });
  }
  function labelAll(root) {
    if (!root.querySelectorAll) return;
    if (root.matches && root.matches("table.responsive")) labelTable(root);
    Array.prototype.forEach.call(root.querySelectorAll("table.responsive"), labelTable);
  }
  function start() {
    labelAll(document);
    // Parts of pages load later (a building's households, the next page of a list): label them too.
    new MutationObserver(function (changes) {
      changes.forEach(function (change) {
        Array.prototype.forEach.call(change.addedNodes, function (node) {
          if (node.nodeType === 1) labelAll(node.closest ? node.closest("table.responsive") || node : node);
        });
      });
    }).observe(document.body, { childList: true, subtree: true });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (!el.matches) return;
    if (el.matches("select[data-submit]") && el.form) el.form.submit();
    if (el.matches("select[data-go]") && el.value) window.location.assign(el.value);
  });
  document.addEventListener("click", function (event) {
    var el = event.target.closest ? event.target.closest("[data-print]") : null;
    if (el) {
      event.preventDefault();
      window.print();
    }
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });
})();
