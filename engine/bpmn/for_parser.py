"""The diagram as SpiffWorkflow's parser is given it: what the BPMN specification and Camunda 7 treat
as drawing only is taken out, and link events are joined (links.py). The stored file, its hash and
the element model keep everything as drawn.

Data stores are documentation in Camunda 7: a data store reference and the associations to and from
it carry nothing at run time. SpiffWorkflow instead looks for a registered implementation of each and
fails on the association without naming the element.
"""

from __future__ import annotations

import copy
from typing import Any

from lxml import etree

from engine.bpmn import links
from engine.bpmn.links import q
from engine.bpmn.model import NS, C
from engine.bpmn.spiff import strip_wrapper

COLLECTION = f"{C}collection"
_ASSOCIATIONS = ("dataInputAssociation", "dataOutputAssociation")
_STORES = ("dataStoreReference", "dataStore")


def prepared(root: Any) -> Any:
    return links.joined(_implicit_splits(_bare_collections(_without_data_stores(root))))


def splitting(root: Any) -> list[tuple[Any, list[Any]]]:
    """(element, its outgoing flows) for every element that is not a gateway and has several."""
    outgoing: dict[str, list[Any]] = {}
    for flow in root.iterfind(".//bpmn:sequenceFlow", NS):
        outgoing.setdefault(flow.get("sourceRef") or "", []).append(flow)
    return [(node, outgoing[node.get("id")]) for node in root.iter()
            if isinstance(node.tag, str) and not node.tag.endswith("Gateway")
            and len(outgoing.get(node.get("id") or "", ())) > 1]


def conditional(flows: list[Any]) -> bool:
    return any(f.find("bpmn:conditionExpression", NS) is not None for f in flows)


def _implicit_splits(root: Any) -> Any:
    """BPMN takes every outgoing flow of an activity or event that has several without conditions (an
    uncontrolled split, as a parallel gateway would); SpiffWorkflow refuses them, so the parser is given
    that gateway. Conditional ones are refused at deploy (unsupported.py)."""
    if not any(not conditional(flows) for _, flows in splitting(root)):
        return root
    root = copy.deepcopy(root)
    for node, flows in splitting(root):
        if conditional(flows):
            continue
        split_id = f"{node.get('id')}__split"
        etree.SubElement(flows[0].getparent(), q("parallelGateway"), id=split_id)
        etree.SubElement(flows[0].getparent(), q("sequenceFlow"), id=f"{split_id}__in",
                         sourceRef=node.get("id"), targetRef=split_id)
        for flow in flows:
            flow.set("sourceRef", split_id)
        for out in node.iterfind("bpmn:outgoing", NS):
            node.remove(out)
    return root


def _bare_collections(root: Any) -> Any:
    """Camunda writes a multi-instance collection as `${sites}`; SpiffWorkflow wants the name."""
    def wrapped(loop: Any) -> bool:
        return (loop.get(COLLECTION) or "").strip()[:2] in ("${", "#{")

    if not any(wrapped(loop) for loop in root.iterfind(".//bpmn:multiInstanceLoopCharacteristics", NS)):
        return root
    root = copy.deepcopy(root)
    for loop in root.iterfind(".//bpmn:multiInstanceLoopCharacteristics", NS):
        if wrapped(loop):
            loop.set(COLLECTION, strip_wrapper(loop.get(COLLECTION) or ""))
    return root


def _without_data_stores(root: Any) -> Any:
    if root.find(".//bpmn:dataStoreReference", NS) is None and root.find(".//bpmn:dataStore", NS) is None:
        return root
    root = copy.deepcopy(root)
    stores = {s.get("id") for tag in _STORES for s in root.iterfind(f".//bpmn:{tag}", NS)}
    for tag in _ASSOCIATIONS:
        for association in list(root.iterfind(f".//bpmn:{tag}", NS)):
            ends = {(e.text or "").strip() for e in association if isinstance(e.tag, str)}
            if ends & stores:
                association.getparent().remove(association)
    for tag in _STORES:
        for store in list(root.iterfind(f".//bpmn:{tag}", NS)):
            store.getparent().remove(store)
    return root

