// What used to sit in inline handlers: the Content-Security-Policy allows scripts from our static files
// only. Markup asks for behaviour with data attributes.
//   <select data-submit>      submits its form when changed
//   <select data-go>          goes to the chosen option's value (a URL) when changed
//   <button data-print>       prints the page
//   <form data-confirm="…">   asks before submitting
(function () {
  "use strict";
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
