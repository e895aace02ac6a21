"""One layout for several diagrams of the same graph, so that the steps of backpropagation keep every node in place.

:func:`layout_of` runs Graphviz's ``dot`` once on a diagram and reads where it put each node and edge (its JSON
output). A diagram built on that layout is a :class:`PinnedDigraph`: each node and edge carries its position and
size, and Graphviz draws it as placed (``neato -n2``) instead of laying it out anew. Only colours and texts then
change from one diagram to the next; for that, every label must fit the size the layout gave its node.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import graphviz

from .render import render


class Layout:
    """Positions and sizes from one ``dot`` layout: per Graphviz node id, and per edge (tail, head, k-th such edge).

    Sizes are in inches and positions in points, as Graphviz writes them.
    """

    def __init__(self, laid: dict[str, Any]):
        objects = laid.get("objects", [])
        self.bb: str = laid["bb"]
        self.nodes: dict[str, dict[str, str]] = {
            o["name"]: {"pos": o["pos"], "width": o["width"], "height": o["height"]} for o in objects if "pos" in o
        }
        self.edges: dict[tuple[str, str, int], dict[str, str]] = {}
        seen: Counter = Counter()
        for edge in laid.get("edges", []):
            ends = (objects[edge["tail"]]["name"], objects[edge["head"]]["name"])
            self.edges[(*ends, seen[ends])] = {key: edge[key] for key in ("pos", "lp") if key in edge}
            seen[ends] += 1

    def size(self, ident: str) -> tuple[float, float]:
        """The (width, height) of a node, in inches."""
        node = self.nodes[ident]
        return float(node["width"]), float(node["height"])

    def digraph(self, **kwargs: Any) -> "PinnedDigraph":
        """A new, empty diagram whose nodes and edges will be put where this layout has them."""
        return PinnedDigraph(self, **kwargs)


def layout_of(diagram: graphviz.Digraph) -> Layout:
    """Lay the diagram out once with ``dot`` (needs the Graphviz binaries) and keep where everything went."""
    return Layout(json.loads(render(diagram, "json")))


class PinnedDigraph(graphviz.Digraph):
    """A ``graphviz.Digraph`` drawn at the positions of a :class:`Layout`: ``node`` and ``edge`` add them.

    A node the layout does not know, or an edge beyond the layout's, is an error: Graphviz would otherwise place it
    anywhere.
    """

    def __init__(self, layout: Layout, **kwargs: Any):
        kwargs.setdefault("engine", "neato")
        super().__init__(**kwargs)
        self.layout = layout
        self._edges_seen: Counter = Counter()
        if kwargs.get("body") is not None:  # a copy: its body has all it needs
            return
        # Graphviz sizes the picture to what it draws; two invisible points at the layout's corners give every
        # diagram of the layout the same size, so that a page scaling them to fit scales them all alike
        left, bottom, right, top = layout.bb.split(",")
        for corner, pos in (("layout_lower_left", f"{left},{bottom}"), ("layout_upper_right", f"{right},{top}")):
            super().node(corner, label="", shape="point", style="invis", width="0", height="0", fixedsize="true",
                         pos=pos)

    def _copy_kwargs(self, **kwargs: Any) -> dict:
        return {**super()._copy_kwargs(**kwargs), "layout": self.layout}

    def copy(self) -> "PinnedDigraph":
        twin = super().copy()
        twin._edges_seen = Counter(self._edges_seen)
        return twin

    def node(self, name: str, label: str | None = None, _attributes=None, **attrs: Any) -> None:
        if name not in self.layout.nodes:
            raise KeyError(f"the layout has no node {name!r}")
        placed = {**self.layout.nodes[name], "fixedsize": "true"}
        super().node(name, label, _attributes=_attributes, **{**attrs, **placed})

    def edge(self, tail_name: str, head_name: str, label: str | None = None, _attributes=None, **attrs: Any) -> None:
        ends = (tail_name, head_name)
        key = (*ends, self._edges_seen[ends])
        self._edges_seen[ends] += 1
        if key not in self.layout.edges:
            raise KeyError(f"the layout has no edge {tail_name} -> {head_name} (number {key[2] + 1})")
        super().edge(tail_name, head_name, label, _attributes=_attributes, **{**attrs, **self.layout.edges[key]})

    def pipe(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("neato_no_op", 2)  # use the positions given, nodes and edges alike
        return super().pipe(*args, **kwargs)

    def render(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("neato_no_op", 2)
        return super().render(*args, **kwargs)
