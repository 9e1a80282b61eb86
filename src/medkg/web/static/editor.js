/* The query editor: YASGUI (served from this server) with one tab per example query,
   and a "Graph" results view for CONSTRUCT / DESCRIBE answers drawn with cytoscape.js. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("editor-config").textContent);
  var endpoint = new URL(config.endpoint, window.location.href).href;

  function shortName(iri) {
    var best = "";
    var bestPrefix = "";
    Object.keys(config.prefixes).forEach(function (prefix) {
      var ns = config.prefixes[prefix];
      if (iri.indexOf(ns) === 0 && ns.length > best.length) { best = ns; bestPrefix = prefix; }
    });
    return best ? bestPrefix + ":" + iri.slice(best.length) : iri;
  }

  /* A YASR plugin: the triples of a CONSTRUCT / DESCRIBE answer as a network. */
  function GraphPlugin(yasr) { this.yasr = yasr; this.priority = 5; this.label = "Graph"; }
  GraphPlugin.prototype.canHandleResults = function () {
    var results = this.yasr.results;
    if (!results || !results.getVariables) { return false; }
    var vars = results.getVariables() || [];
    return vars.length === 3 && vars[0] === "subject" && vars[1] === "predicate" && vars[2] === "object";
  };
  GraphPlugin.prototype.getIcon = function () {
    var icon = document.createElement("span");
    icon.textContent = "◉";
    icon.setAttribute("aria-hidden", "true");
    return icon;
  };
  GraphPlugin.prototype.draw = function () {
    var container = document.createElement("div");
    container.className = "yasr-graph";
    container.setAttribute("role", "img");
    container.setAttribute("aria-label", "The answer's triples as a network");
    this.yasr.resultsEl.appendChild(container);
    var nodes = {};
    var elements = [];
    function node(term) {
      var id = term.type === "literal" ? "lit:" + elements.length + ":" + term.value : term.value;
      if (!nodes[id]) {
        nodes[id] = true;
        elements.push({ data: { id: id, label: term.type === "uri" ? shortName(term.value) : term.value,
                                literal: term.type === "literal" ? 1 : 0 } });
      }
      return id;
    }
    (this.yasr.results.getBindings() || []).slice(0, 1500).forEach(function (row, index) {
      var source = node(row.subject);
      var target = node(row.object);
      elements.push({ data: { id: "e" + index, source: source, target: target, label: shortName(row.predicate.value) } });
    });
    window.cytoscape({
      container: container,
      elements: elements,
      layout: { name: "cose", animate: false },
      style: [
        { selector: "node", style: { label: "data(label)", "font-size": 9, "background-color": "#2f6f9f",
                                     "text-wrap": "ellipsis", "text-max-width": 140 } },
        { selector: "node[literal = 1]", style: { shape: "round-rectangle", "background-color": "#b08400" } },
        { selector: "edge", style: { label: "data(label)", "font-size": 7, width: 1, "curve-style": "bezier",
                                     "target-arrow-shape": "triangle", "line-color": "#888",
                                     "target-arrow-color": "#888" } }
      ]
    });
  };

  var Yasgui = window.Yasgui;
  Yasgui.Yasr.registerPlugin("graph", GraphPlugin);
  /* Only completers that work offline (the class and property ones ask a remote service). */
  Yasgui.Yasqe.defaults.autocompleters = ["variables", "prefixes"];
  var requestConfig = { endpoint: endpoint, method: "POST" };
  var yasgui = new Yasgui(document.getElementById("yasgui"), {
    requestConfig: requestConfig,
    copyEndpointOnNewTab: true,
    persistenceId: null,
    populateFromUrl: false,
    autoAddOnInit: false,
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: endpoint }]; } },
    yasqe: { autocompleters: ["variables", "prefixes"] },
    yasr: { pluginOrder: ["table", "graph", "response"], defaultPlugin: "table", prefixes: config.prefixes }
  });
  config.examples.forEach(function (example, index) {
    var defaults = Yasgui.Tab.getDefaults();
    yasgui.addTab(index === 0, Object.assign({}, defaults, {
      name: example.title,
      yasqe: Object.assign({}, defaults.yasqe, { value: example.query }),
      requestConfig: Object.assign({}, requestConfig)
    }));
  });
  window.medkgEditor = yasgui;
})();
