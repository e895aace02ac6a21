"""The fetches of a run: the nodes of a fetch structure (a node, or lists, tuples and dicts of them) and how to
rebuild the structure from their values, a key for a run's fetches and fed values, and the compiled program a run
of that key calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .graph import Node


@dataclass
class _Call:
    """A compiled program, with what a run of it needs beyond the fed values: the fetched nodes, how to rebuild the
    fetch structure from their values, and where each of the program's placeholders is in the feed_dict."""

    program: Any
    nodes: list[Node]
    rebuild: Callable[[list], Any]
    feed_order: list[int]
    run: Callable[[list], Any] | None = None  # a later run with the fed values in the feed_dict's order


def _call_key(fetches: Any, feed_dict: dict | None) -> tuple[tuple | None, list]:
    """A key for a run's fetches and the types, shapes and dtypes of its fed values (None where they have none),
    and the fed values in the feed_dict's order."""
    if isinstance(fetches, Node):
        key: tuple = (fetches,)
    elif (type(fetches) is list or type(fetches) is tuple) and all(isinstance(f, Node) for f in fetches):
        key = (type(fetches), *fetches)
    else:  # a dict or a nested structure: flattened on every run
        return None, []
    if not feed_dict:
        return key, []
    fed = list(feed_dict.values())
    try:
        return (*key, *feed_dict, *[(type(v), v.shape, v.dtype) for v in fed]), fed
    except AttributeError:  # a number or a list: converted on every run
        return None, fed


def _flatten(fetches: Any) -> tuple[list[Node], Callable[[list], Any]]:
    """The nodes of a fetch structure, and a function rebuilding the structure from their values."""
    if isinstance(fetches, Node):
        return [fetches], lambda values: values[0]
    if type(fetches) in (list, tuple) and all(isinstance(f, Node) for f in fetches):  # the common case, flat
        return list(fetches), list if type(fetches) is list else tuple
    if isinstance(fetches, (list, tuple)):
        parts = [_flatten(f) for f in fetches]
        nodes = [n for p, _ in parts for n in p]
        kind = type(fetches)

        def rebuild(values):
            out, start = [], 0
            for (p, build) in parts:
                out.append(build(values[start : start + len(p)]))
                start += len(p)
            return out if kind is list else tuple(out) if kind is tuple else kind(*out)

        return nodes, rebuild
    if isinstance(fetches, dict):
        keys = list(fetches)
        inner, build = _flatten([fetches[k] for k in keys])
        return inner, lambda values: dict(zip(keys, build(values)))
    raise TypeError(f"A fetch must be a node, or a list, tuple or dict of nodes, not {fetches!r}.")
