// The desk's only script: refresh the board when the store changes (server-sent
// events), and go to the sign-in page, then back here, when the session has ended.
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board || !window.EventSource) { return; }
  var live = document.getElementById("live");
  var status = document.getElementById("board-status");
  var signIn = function () {
    window.location.href = "/desk/?next=" + encodeURIComponent(window.location.pathname);
  };
  var refresh = function () {
    fetch(board.dataset.source, { credentials: "same-origin" }).then(function (r) {
      if (r.status === 401) { signIn(); return null; }
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (html !== null && html !== undefined) {
        board.innerHTML = html;
        // One short sentence for screen readers, not the whole list again.
        if (status) {
          status.textContent = status.dataset.words.replace(
            "{n}", String(board.querySelectorAll(".case").length));
        }
      }
    });
  };
  var events = new EventSource(board.dataset.events);
  events.addEventListener("change", refresh);
  events.onopen = function () { if (live) { live.hidden = false; } };
  events.onerror = function () {
    if (live) { live.hidden = true; }
    fetch(board.dataset.source, { credentials: "same-origin" }).then(function (r) {
      if (r.status === 401) { events.close(); signIn(); }
    });
  };
}());
