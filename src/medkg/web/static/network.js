/* The neighbourhood of an entity as a network (cytoscape.js): nodes coloured by class,
   click to add a node's neighbours, double-click to open its page. */
(function () {
  "use strict";
  var container = document.getElementById("network");
  if (!container || !window.cytoscape) { return; }
  var source = container.getAttribute("data-src");
  var centre = container.getAttribute("data-iri");
  var base = container.getAttribute("data-base");
  var status = document.getElementById("network-status");
  var legend = document.getElementById("network-legend");
  var depthSelect = document.getElementById("network-depth");
  var palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#393b79", "#637939"];
  var colours = {};
  var classNames = {};
  function colour(cls) {
    var key = cls || "none";
    if (!colours[key]) { colours[key] = palette[Object.keys(colours).length % palette.length]; }
    return colours[key];
  }
  function pageOf(iri) {
    var res = "https://w3id.org/medkg/resource/";
    var graph = "https://w3id.org/medkg/graph/";
    if (iri.indexOf(res) === 0) { return base + "/resource/" + iri.slice(res.length) + ".html"; }
    if (iri.indexOf(graph) === 0) { return base + "/graph/" + iri.slice(graph.length) + ".html"; }
    return null;
  }
  var cy = window.cytoscape({
    container: container,
    style: [
      { selector: "node", style: { label: "data(label)", "background-color": "data(colour)", "font-size": 10,
                                   "text-wrap": "ellipsis", "text-max-width": 150, "text-valign": "bottom" } },
      { selector: "node[?centre]", style: { "border-width": 3, "border-color": "#000", width: 38, height: 38 } },
      { selector: "edge", style: { label: "data(label)", "font-size": 8, width: 1.5, "curve-style": "bezier",
                                   "target-arrow-shape": "triangle", "line-color": "#9aa", "target-arrow-color": "#9aa",
                                   color: "#444", "text-rotation": "autorotate" } },
      { selector: "edge[?inferred]", style: { "line-style": "dashed" } }
    ]
  });
  function updateLegend() {
    legend.textContent = "";
    Object.keys(classNames).sort().forEach(function (name) {
      var li = document.createElement("li");
      var swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.backgroundColor = colour(classNames[name]);
      swatch.setAttribute("aria-hidden", "true");
      li.appendChild(swatch);
      li.appendChild(document.createTextNode(name));
      legend.appendChild(li);
    });
  }
  function add(iri, depth) {
    status.textContent = "Loading…";
    return fetch(source + "?depth=" + depth + "&iri=" + encodeURIComponent(iri), { headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.statusText); } return r.json(); })
      .then(function (net) {
        var added = [];
        net.nodes.forEach(function (n) {
          if (cy.getElementById(n.iri).length === 0) {
            classNames[n.classLabel || "other"] = n["class"];
            added.push({ group: "nodes", data: { id: n.iri, label: n.label, colour: colour(n["class"]), centre: n.iri === centre } });
          }
        });
        net.edges.forEach(function (e) {
          var id = e.source + " " + e.target;
          var reverse = e.target + " " + e.source;
          if (cy.getElementById(id).length === 0 && cy.getElementById(reverse).length === 0) {
            added.push({ group: "edges", data: { id: id, source: e.source, target: e.target, label: e.label, inferred: e.inferred } });
          }
        });
        cy.add(added);
        cy.layout({ name: "cose", animate: false, nodeRepulsion: 9000, idealEdgeLength: 90 }).run();
        updateLegend();
        status.textContent = cy.nodes().length + " entities" + (net.truncated ? " (cut at the size limit)" : "");
      })
      .catch(function () { status.textContent = "The network could not be loaded."; });
  }
  cy.on("tap", "node", function (event) { add(event.target.id(), 1); });
  cy.on("dbltap", "node", function (event) {
    var page = pageOf(event.target.id());
    if (page) { window.location.href = page; }
  });
  depthSelect.addEventListener("change", function () { cy.elements().remove(); add(centre, depthSelect.value); });
  window.medkgNetwork = cy;
  add(centre, 1);
})();
