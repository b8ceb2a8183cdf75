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

from engine.bpmn import links
from engine.bpmn.model import NS

COLLECTION = "{http://camunda.org/schema/1.0/bpmn}collection"
_ASSOCIATIONS = ("dataInputAssociation", "dataOutputAssociation")
_STORES = ("dataStoreReference", "dataStore")


def prepared(root: Any) -> Any:
    return links.joined(_bare_collections(_without_data_stores(root)))


def _bare_collections(root: Any) -> Any:
    """Camunda writes a multi-instance collection as `${sites}`; SpiffWorkflow wants the name."""
    loops = [loop for loop in root.iterfind(".//bpmn:multiInstanceLoopCharacteristics", NS)
             if (loop.get(COLLECTION) or "").strip().startswith("${")]
    if not loops:
        return root
    root = copy.deepcopy(root)
    for loop in root.iterfind(".//bpmn:multiInstanceLoopCharacteristics", NS):
        text = (loop.get(COLLECTION) or "").strip()
        if text.startswith("${") and text.endswith("}"):
            loop.set(COLLECTION, text[2:-1].strip())
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
