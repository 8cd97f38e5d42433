// Sorting and filtering of the findings table. Reads values only from data-* attributes
// and form controls and compares them as strings or numbers: page text is never evaluated,
// never parsed as HTML and never built into code.
(function () {
  "use strict";
  var table = document.getElementById("findings-table");
  if (!table) { return; }
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);
  var controls = {
    kind: document.getElementById("f-kind"),
    severity: document.getElementById("f-severity"),
    account: document.getElementById("f-account"),
    principal: document.getElementById("f-principal")
  };
  var count = document.getElementById("f-count");

  function apply() {
    var p = controls.principal.value.toLowerCase();
    var shown = 0;
    rows.forEach(function (r) {
      var ok = (!controls.kind.value || r.getAttribute("data-kind") === controls.kind.value) &&
        (!controls.severity.value || r.getAttribute("data-severity") === controls.severity.value) &&
        (!controls.account.value || r.getAttribute("data-account") === controls.account.value) &&
        (!p || (r.getAttribute("data-principal") || "").toLowerCase().indexOf(p) !== -1);
      r.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = shown === rows.length ? rows.length + " findings" : shown + " of " + rows.length + " findings";
  }
  ["kind", "severity", "account"].forEach(function (k) { controls[k].addEventListener("change", apply); });
  controls.principal.addEventListener("input", apply);

  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  headers.forEach(function (th, col) {
    th.addEventListener("click", function () {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      var numeric = th.getAttribute("data-type") === "num";
      headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var key = function (r) {
        var v = r.cells[col].getAttribute("data-v") || "";
        return numeric ? parseFloat(v) || 0 : v.toLowerCase();
      };
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        var c = x < y ? -1 : x > y ? 1 : 0;
        return asc ? c : -c;
      });
      rows.forEach(function (r) { tbody.appendChild(r); });
    });
  });
})();
