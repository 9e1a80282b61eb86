/* The search box: suggestions from /search (JSON) as an ARIA combobox. Without
   JavaScript the form submits to the /search page. */
(function () {
  "use strict";
  var input = document.getElementById("site-search");
  var list = document.getElementById("site-search-list");
  if (!input || !list) { return; }
  var active = -1;
  var items = [];
  var pending = null;
  var base = input.getAttribute("data-endpoint");

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }
  function highlight(index) {
    items.forEach(function (li, i) { li.setAttribute("aria-selected", i === index ? "true" : "false"); });
    active = index;
    if (index >= 0) { input.setAttribute("aria-activedescendant", items[index].id); }
  }
  function show(results) {
    list.textContent = "";
    items = results.map(function (hit, i) {
      var li = document.createElement("li");
      li.id = "site-search-option-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("data-href", hit.href);
      var name = document.createElement("span");
      name.textContent = hit.label;
      li.appendChild(name);
      if (hit.typeLabels.length) {
        var kind = document.createElement("span");
        kind.className = "kind";
        kind.textContent = hit.typeLabels.join(", ");
        li.appendChild(kind);
      }
      li.addEventListener("mousedown", function (event) { event.preventDefault(); window.location.href = hit.href; });
      list.appendChild(li);
      return li;
    });
    list.hidden = items.length === 0;
    input.setAttribute("aria-expanded", items.length ? "true" : "false");
    active = -1;
  }
  function pageOf(iri) {
    var root = base.replace(/\/search$/, "");
    var res = "https://w3id.org/medkg/resource/";
    var graph = "https://w3id.org/medkg/graph/";
    var onto = "https://w3id.org/medkg/ontology#";
    if (iri.indexOf(res) === 0) { return root + "/resource/" + iri.slice(res.length) + ".html"; }
    if (iri.indexOf(graph) === 0) { return root + "/graph/" + iri.slice(graph.length) + ".html"; }
    if (iri.indexOf(onto) === 0) { return root + "/ontology#" + iri.slice(onto.length); }
    return root + "/search?q=" + encodeURIComponent(iri);
  }
  input.addEventListener("input", function () {
    var q = input.value.trim();
    if (pending) { pending.abort(); }
    if (!q) { close(); return; }
    pending = new AbortController();
    fetch(base + "?limit=8&q=" + encodeURIComponent(q), { headers: { Accept: "application/json" }, signal: pending.signal })
      .then(function (r) { return r.ok ? r.json() : { results: [] }; })
      .then(function (data) {
        show(data.results.map(function (hit) { hit.href = pageOf(hit.iri); return hit; }));
      })
      .catch(function () { /* aborted or offline: keep the plain form */ });
  });
  input.addEventListener("keydown", function (event) {
    if (list.hidden) { return; }
    if (event.key === "ArrowDown") { event.preventDefault(); highlight(Math.min(active + 1, items.length - 1)); }
    else if (event.key === "ArrowUp") { event.preventDefault(); highlight(Math.max(active - 1, 0)); }
    else if (event.key === "Enter" && active >= 0) { event.preventDefault(); window.location.href = items[active].getAttribute("data-href"); }
    else if (event.key === "Escape") { close(); }
  });
  input.addEventListener("blur", function () { window.setTimeout(close, 100); });
})();
