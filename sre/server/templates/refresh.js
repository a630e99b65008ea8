// Live refresh of the grid: the page works without this; with it the grid follows each probe run.
(function () {
  var section = document.getElementById("status");
  if (!section) return;
  var every = (parseInt(section.getAttribute("data-refresh"), 10) || 5) * 1000;
  function refresh() {
    fetch("/?part=status", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) section.innerHTML = html; })
      .catch(function () {})
      .then(function () { setTimeout(refresh, every); });
  }
  setTimeout(refresh, every);
})();
