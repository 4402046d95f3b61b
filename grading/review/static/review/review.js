// Keyboard shortcuts for the review page (progressive enhancement: every action is also a
// plain form button or link). a: accept, o: override (focus the score), j/n: next, k/p: previous.
(function () {
  "use strict";
  function typing(target) {
    var tag = (target && target.tagName) || "";
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) { return; }
    var key = event.key;
    if (key === "a") {
      var accept = document.getElementById("accept-button");
      if (accept) { event.preventDefault(); accept.click(); }
    } else if (key === "o") {
      var score = document.getElementById("id_score");
      if (score) { event.preventDefault(); score.focus(); score.select(); }
    } else if (key === "j" || key === "n") {
      var next = document.getElementById("next-link");
      if (next) { event.preventDefault(); window.location.href = next.href; }
    } else if (key === "k" || key === "p") {
      var previous = document.getElementById("previous-link");
      if (previous) { event.preventDefault(); window.location.href = previous.href; }
    }
  });
})();
