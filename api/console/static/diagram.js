// Draws the case's diagram with bpmn-js and marks the path taken and the open tasks. The marks come
// from the page (a JSON script tag); the container's data-state tells tests and scripts when it is done.
(function () {
  var box = document.getElementById("diagram");
  if (!box || typeof BpmnJS === "undefined") { if (box) box.dataset.state = "unavailable"; return; }
  var marks = JSON.parse(document.getElementById("diagram-marks").textContent);
  var viewer = new BpmnJS({ container: box });
  fetch(box.dataset.xml, { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.text(); })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get("canvas"), registry = viewer.get("elementRegistry");
      var done = new Set(marks.done), open = new Set(marks.open);
      // A step inside a collapsed subprocess is drawn on the subprocess's own plane: mark the collapsed
      // shape on the plane above too (open if a step inside is open), so the main plane shows where the
      // case is and the drill-down shows which step.
      var shown = function (id) {
        var el = registry.get(id), parent = el && el.businessObject.$parent, outer = el;
        for (; parent && parent.$type !== "bpmn:Process"; parent = parent.$parent) {
          var shape = registry.get(parent.id);
          if (shape && shape.collapsed) outer = shape;
        }
        return outer;
      };
      marks.open.slice().forEach(function (id) {
        var outer = shown(id);
        if (outer && outer.id !== id && !open.has(outer.id)) { open.add(outer.id); marks.open.push(outer.id); }
      });
      marks.done.slice().forEach(function (id) {
        var outer = shown(id);
        if (outer && outer.id !== id && !open.has(outer.id) && !done.has(outer.id)) {
          done.add(outer.id); marks.done.push(outer.id);
        }
      });
      // Gateways write no events: one was passed when a step before it and a step after it were reached.
      var reached = function (id) { return done.has(id) || open.has(id); };
      for (var round = 0; round < 3; round++) {
        registry.filter(function (e) { return /Gateway$/.test(e.type); }).forEach(function (gw) {
          var bo = gw.businessObject;
          var before = (bo.incoming || []).some(function (f) { return done.has(f.sourceRef.id); });
          var after = (bo.outgoing || []).some(function (f) { return reached(f.targetRef.id); });
          if (before && after && !done.has(gw.id)) { done.add(gw.id); marks.done.push(gw.id); }
        });
      }
      marks.done.forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, "wb-done"); });
      marks.open.forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, "wb-open"); });
      registry.filter(function (e) { return e.type === "bpmn:SequenceFlow"; }).forEach(function (flow) {
        var from = flow.businessObject.sourceRef.id, to = flow.businessObject.targetRef.id;
        if (done.has(from) && (done.has(to) || open.has(to))) canvas.addMarker(flow.id, "wb-done");
      });
      // A whole fault process fitted into a phone's width is too small to read: show the open task
      // (or the last step taken) on the plane in view at a readable scale instead; the diagram can be
      // dragged and zoomed.
      var frame = function (root) {
        canvas.zoom("fit-viewport");
        var onPlane = function (id) {
          var el = registry.get(id), outer = shown(id);
          if (el && canvas.findRoot(el) === root) return el;
          return outer && canvas.findRoot(outer) === root ? outer : null;
        };
        var focus = marks.open.map(onPlane).filter(Boolean)[0] || marks.done.map(onPlane).filter(Boolean).pop();
        if (focus && canvas.viewbox().scale < 0.6) {
          canvas.zoom(0.9);
          canvas.scrollToElement(focus);
        }
      };
      frame(canvas.getRootElement());
      // A subprocess's plane, drilled down into, is framed the same way the first time it is shown.
      var framed = new Set([canvas.getRootElement().id]);
      viewer.get("eventBus").on("root.set", function (event) {
        if (framed.has(event.element.id)) return;
        framed.add(event.element.id);
        frame(event.element);
      });
      box.dataset.state = "ready";
    })
    .catch(function (err) { box.dataset.state = "failed"; box.textContent = String(err); });
})();
