// Search of the feature catalog's index page, offline: every group's text is in the page (data-search), so
// nothing is fetched. `?q=words` in the address prefills the search (shareable links; the browser test uses it).
(function () {
  "use strict";
  var input = document.getElementById("search");
  var cards = Array.prototype.slice.call(document.querySelectorAll("[data-search]"));
  var count = document.getElementById("count");

  function apply(text) {
    var words = text.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    cards.forEach(function (card) {
      var haystack = card.getAttribute("data-search");
      var match = words.every(function (word) { return haystack.indexOf(word) !== -1; });
      card.classList.toggle("hidden", !match);
      if (match) { shown += 1; }
      // Within a shown group, list the features that match, when the words name some.
      var features = Array.prototype.slice.call(card.querySelectorAll("[data-feature]"));
      features.forEach(function (feature) {
        var hit = words.length > 0 && words.every(function (word) {
          return feature.getAttribute("data-feature").indexOf(word) !== -1;
        });
        feature.classList.toggle("matched", hit);
      });
    });
    count.textContent = shown + " of " + cards.length + " feature group" + (cards.length === 1 ? "" : "s") +
      (words.length ? " match \u201c" + text.trim() + "\u201d" : "");
    document.getElementById("none").classList.toggle("hidden", shown > 0);
    document.body.setAttribute("data-shown", String(shown));
  }

  var query = new URLSearchParams(window.location.search).get("q") || "";
  input.value = query;
  input.addEventListener("input", function () { apply(input.value); });
  apply(query);
  document.body.setAttribute("data-ready", "true");
})();
