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
      marks.done.forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, "wb-done"); });
      marks.open.forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, "wb-open"); });
      registry.filter(function (e) { return e.type === "bpmn:SequenceFlow"; }).forEach(function (flow) {
        var from = flow.businessObject.sourceRef.id, to = flow.businessObject.targetRef.id;
        if (done.has(from) && (done.has(to) || open.has(to))) canvas.addMarker(flow.id, "wb-done");
      });
      canvas.zoom("fit-viewport");
      box.dataset.state = "ready";
    })
    .catch(function (err) { box.dataset.state = "failed"; box.textContent = String(err); });
})();
