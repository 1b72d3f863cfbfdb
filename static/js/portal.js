// Small progressive enhancements. Every page works without them: forms post, links link.
(function () {
  "use strict";

  // Ask before a button's POST changes something (<button data-confirm="Question?">).
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  // Copy buttons (<button data-copy="element-id" hidden>, or data-copy="" for the element just
  // before the button), shown only where the clipboard API exists (HTTPS or localhost).
  if (navigator.clipboard) {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      var label = button.textContent;
      button.hidden = false;
      button.addEventListener("click", function () {
        var id = button.getAttribute("data-copy");
        var source = id ? document.getElementById(id) : button.previousElementSibling;
        navigator.clipboard.writeText(source.textContent.trim()).then(
          function () { button.textContent = "Copied"; },
          function () { button.textContent = "Copy failed"; }
        );
        window.setTimeout(function () { button.textContent = label; }, 2000);
      });
    });
  }

  // A "select all" checkbox for bulk actions (<input type=checkbox data-select-all="name">).
  document.querySelectorAll("[data-select-all]").forEach(function (selectAll) {
    var boxes = document.querySelectorAll(
      'input[type=checkbox][name="' + selectAll.getAttribute("data-select-all") + '"]'
    );
    selectAll.hidden = false;
    selectAll.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = selectAll.checked; });
    });
  });
})();
