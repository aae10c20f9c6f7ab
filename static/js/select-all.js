// The select-all checkbox at the top left of a list (seed guide: "selecting the checkbox on the
// top left of the individual seat holder listing"). It ticks or clears every row checkbox named
// in its data-select-all attribute, and shows "some ticked" as indeterminate. It stays hidden
// without JavaScript, where rows are ticked one by one.
(function () {
  "use strict";

  function rows(master) {
    var form = master.form || master.closest("form");
    return form.querySelectorAll('input[type="checkbox"][name="' + master.dataset.selectAll + '"]');
  }

  function reflect(master) {
    var boxes = Array.prototype.slice.call(rows(master));
    var ticked = boxes.filter(function (box) { return box.checked; }).length;
    master.checked = boxes.length > 0 && ticked === boxes.length;
    master.indeterminate = ticked > 0 && ticked < boxes.length;
  }

  document.querySelectorAll("input[data-select-all]").forEach(function (master) {
    master.hidden = false;
    master.addEventListener("change", function () {
      rows(master).forEach(function (box) { box.checked = master.checked; });
    });
    rows(master).forEach(function (box) {
      box.addEventListener("change", function () { reflect(master); });
    });
    reflect(master);
  });
})();
