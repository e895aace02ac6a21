"""Name scopes in diagrams: which nodes share a box, and which scopes are drawn closed (one box) or open (a cluster).

A node's name scope is its name up to the last ``/``, read as TensorBoard reads names: ``conv2d/BiasAdd`` is in
``conv2d``, and ``a/b/c`` in ``a/b``, itself inside ``a``. In a gradient diagram the gradient nodes are grouped by
the forward node they belong to, not by their own names: ∂J/∂x goes with x, a node computed on the way to a gradient
goes with the gradient it is computed from, and one computed from forward nodes only (``Wᵀ``) with the gradient that
uses it. So each layer's gradients share a box of their own, ``∂J/∂conv2d``, beside the layer's box.

A closed scope is drawn as one box; an open one as a Graphviz cluster around its nodes and inner scopes. A scope that
would make data flow in a circle between boxes (a path leaving it and coming back in) is drawn open, so the boxes
follow one another as the nodes do and backpropagation can visit them one after the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from ..graph import Node
from . import style


@dataclass(frozen=True)
class Scope:
    """A name scope of a diagram: its path (``("a", "b")`` for ``a/b``) and whether it holds gradient nodes."""

    path: tuple[str, ...]
    gradient: bool = False

    @property
    def name(self) -> str:
        """``a/b``."""
        return "/".join(self.path)

    @property
    def chain(self) -> list["Scope"]:
        """The scopes it is in, from the outermost, and itself last."""
        return [Scope(self.path[:k], self.gradient) for k in range(1, len(self.path) + 1)]

    @property
    def title(self) -> str:
        """Its label as plain text: the last part of its path, after ``∂J/∂`` for gradients."""
        return ("∂J/∂" if self.gradient else "") + self.path[-1]


def scope_path(name: str) -> tuple[str, ...]:
    """The name scope a node's name is in, as a path.

    Example:
        >>> scope_path("conv2d/BiasAdd"), scope_path("a/b/c"), scope_path("x")
        (('conv2d',), ('a', 'b'), ())
    """
    return tuple(part for part in name.split("/")[:-1] if part)


def gradient_owners(nodes: Sequence[Node], forward_ids: set, table: Mapping[Node, Node]) -> dict[int, Node]:
    """The forward node each gradient node belongs to (see the module's docstring), keyed by ``id`` of the gradient
    node. A gradient that several nodes share (``add`` passes its own on) goes with the one nearest the loss. Where no
    gradient of the table comes before a node (the gradients of a few Variables only), it goes with the forward node
    it differentiates: the newest of its forward inputs (a layer's own Variable rather than the layer's input)."""
    position = {id(n): k for k, n in enumerate(nodes)}
    upstream: dict[int, Node] = {}  # from a gradient of the table, directly or through the nodes computed from it
    for x, g in table.items():
        if id(g) in position and id(g) not in forward_ids and id(x) in position:
            if id(g) not in upstream or position[id(x)] > position[id(upstream[id(g)])]:
                upstream[id(g)] = x
    owners: dict[int, Node] = {}
    for node in nodes:  # inputs first
        if id(node) in forward_ids or id(node) in upstream:
            continue
        found = [upstream[id(i)] for i in node.input_nodes if id(i) in upstream]
        forward = [i for i in node.input_nodes if id(i) in forward_ids]
        if found:
            upstream[id(node)] = found[0]
        elif forward and len(forward) < len(node.input_nodes):
            owners[id(node)] = max(forward, key=lambda i: i.id)
    owners.update(upstream)
    for node in reversed(nodes):  # consumers first: Wᵀ and constants go where they are used
        if id(node) not in forward_ids and id(node) not in owners:
            candidates = [owners[id(c)] for c in node.consumers if id(c) in owners]
            candidates += [i for i in node.input_nodes if id(i) in forward_ids]
            candidates += [owners[id(i)] for i in node.input_nodes if id(i) in owners]
            if candidates:
                owners[id(node)] = candidates[0]
    return owners


class Grouping:
    """Where each node of a diagram is drawn: inside which scopes, and which closed scope's box stands for it.

    Attributes:
        nodes: the diagram's nodes, in topological order.
        scopes: every scope, in the order of its first node (outer scopes before the scopes inside them).
        members: scope -> the nodes inside it, inner scopes' included, in order.
        opened: the scopes drawn open, as clusters.
    """

    def __init__(self, nodes: Sequence[Node], inner: Mapping[int, Scope | None], opened: Iterable[Scope]):
        self.nodes = list(nodes)
        self._inner = dict(inner)
        self.members: dict[Scope, list[Node]] = {}
        for node in self.nodes:
            scope = self._inner.get(id(node))
            for s in scope.chain if scope is not None else ():
                self.members.setdefault(s, []).append(node)
        self.scopes = list(self.members)
        self._ids = {s: f"s{k}" for k, s in enumerate(self.scopes)}
        self.opened = set(opened) & set(self.scopes)
        self._open_cycles()

    def box(self, node: Node) -> Scope | None:
        """The closed scope whose box stands for the node, or ``None`` when the node is drawn itself."""
        scope = self._inner.get(id(node))
        for s in scope.chain if scope is not None else ():
            if s not in self.opened:
                return s
        return None

    def shown(self, node: Node) -> Node | Scope:
        """What the diagram draws for the node: itself, or the box of its closed scope."""
        return self.box(node) or node

    def ident(self, item: Node | Scope) -> str:
        """The DOT id of a node (``n12``) or of a scope's box and cluster (``s3``)."""
        return self._ids[item] if isinstance(item, Scope) else style.node_id(item)

    def contents(self, scope: Scope | None) -> list[Node | Scope]:
        """What is drawn directly inside an open scope (``None``: the top of the diagram): its nodes that are in no
        inner scope and its inner scopes, in the order of their first node."""
        depth = 0 if scope is None else len(scope.path)
        items: dict = {}
        for node in self.nodes if scope is None else self.members[scope]:
            inner = self._inner.get(id(node))
            if inner is None or len(inner.path) == depth:
                items[id(node)] = node
            else:
                child = inner.chain[depth]
                items.setdefault(child, child)
        return list(items.values())

    def _open_cycles(self) -> None:
        """Open closed scopes until the boxes and the nodes drawn outside them form a graph without cycles."""
        drawn = {id(n) for n in self.nodes}
        while True:
            edges: dict[str, set[str]] = {}
            for node in self.nodes:
                head = self.ident(self.shown(node))
                edges.setdefault(head, set())
                for source in node.input_nodes:
                    tail = self.ident(self.shown(source))
                    if id(source) in drawn and tail != head:
                        edges.setdefault(tail, set()).add(head)
            core = _on_cycles(edges)
            if not core:
                return
            # only boxes can close a cycle (the nodes themselves have none): open the first one on it
            self.opened.add(next(s for s in self.scopes if self._ids[s] in core and s not in self.opened))


def _on_cycles(edges: Mapping[str, set[str]]) -> set[str]:
    """What is left of a graph after taking away, again and again, the vertices with no edge in, then those with no
    edge out: nothing for a graph without cycles, else its cycles and what runs between them."""
    left = set(edges)
    into: dict[str, set[str]] = {v: set() for v in edges}
    for tail, heads in edges.items():
        for head in heads:
            into[head].add(tail)
    for before, after in ((into, edges), (edges, into)):
        count = {v: len(before[v] & left) for v in left}
        ready = [v for v in left if count[v] == 0]
        while ready:
            vertex = ready.pop()
            left.discard(vertex)
            for other in after[vertex]:
                if other in left:
                    count[other] -= 1
                    if count[other] == 0:
                        ready.append(other)
    return left


def group_by_scope(nodes: Sequence[Node], *, collapse: bool, expand: Iterable[str] | str = (), who: str = "draw",
          forward_ids: set | None = None, table: Mapping[Node, Node] | None = None) -> Grouping | None:
    """How to draw the nodes' name scopes, or ``None`` when no node is in one (the diagram is drawn node by node).

    Args:
        collapse: ``True``: every scope closed but those in ``expand``; ``False``: every scope open.
        expand: names of scopes to draw open (``"conv2d_1"``, ``"outer/inner"``); the scopes around them open too.
            In a gradient diagram, a scope's gradients open with it.
        forward_ids, table: for gradient diagrams, the ids of the forward nodes and ``{x: ∂J/∂x}``; the other nodes
            are grouped with the forward nodes they belong to.
    """
    if not isinstance(collapse, bool):
        raise TypeError(f"{who}(): collapse must be True or False, not {collapse!r}.")
    expand = [expand] if isinstance(expand, str) else list(expand)
    for name in expand:
        if not isinstance(name, str):
            raise TypeError(f"{who}(): expand takes names of name scopes, not {name!r}.")
    owners = gradient_owners(nodes, forward_ids, table or {}) if forward_ids is not None else {}
    inner: dict[int, Scope | None] = {}
    for node in nodes:
        if forward_ids is None or id(node) in forward_ids:
            path, gradient = scope_path(node.name), False
        else:
            owner = owners.get(id(node))
            path, gradient = (scope_path(owner.name) if owner is not None else ()), True
        inner[id(node)] = Scope(path, gradient) if path else None
    if not any(inner.values()):
        if expand:
            raise ValueError(f"{who}(): expand names {expand[0]!r}, but no node drawn is in a name scope.")
        return None
    scopes = {s for scope in inner.values() if scope is not None for s in scope.chain}
    known = {s.name for s in scopes}
    opened = set() if collapse else scopes
    for name in expand:
        path = tuple(part for part in name.split("/") if part)
        if "/".join(path) not in known:
            shown = ", ".join(sorted(known)[:12]) + (", …" if len(known) > 12 else "")
            raise ValueError(f"{who}(): expand names {name!r}, which is not a name scope of the nodes drawn; "
                             f"their name scopes are: {shown}.")
        for gradient in (False, True):
            opened.update(Scope(path, gradient).chain)
    return Grouping(nodes, inner, opened)
