"""The default session of each thread (``with sess:``, ``sess.as_default()``, an ``InteractiveSession``), kept
beside the default graph so that ``node.eval()`` and ``op.run()`` find it without the graph knowing sessions;
:mod:`symslow.session` pushes and pops them."""

from __future__ import annotations

import threading
from typing import Any

from .errors import GraphMismatchError


class _DefaultSessions(threading.local):
    """The stack of default sessions of the current thread (the innermost ``with`` last)."""

    def __init__(self) -> None:
        self.stack: list[Any] = []


default_sessions = _DefaultSessions()


def get_default_session() -> "Any | None":
    """The current thread's default session: the innermost ``with session:`` or ``session.as_default()``, or the
    last ``InteractiveSession``; ``None`` when there is none."""
    return default_sessions.stack[-1] if default_sessions.stack else None


def default_session_for(node: Any, what: str, session: Any) -> Any:
    """The session that ``node.eval()`` or ``node.run()`` runs in, or a clear error when there is none."""
    session = session or get_default_session()
    if session is None:
        raise ValueError(
            f"Cannot {what} node {node.name!r}: no default session is registered. Use `with tf.Session() as sess:` "
            f"or `with sess.as_default():`, or pass the session: {node.name}.{what}(session=sess)."
        )
    if node.graph is not session.graph:
        raise GraphMismatchError(f"Cannot {what} node {node.name!r}: the default session runs another graph.")
    return session


class AsDefault:
    """``session.as_default()``: the session is the default one inside the ``with`` block."""

    def __init__(self, session: Any):
        self.session = session

    def __enter__(self) -> Any:
        default_sessions.stack.append(self.session)
        return self.session

    def __exit__(self, *exc) -> None:
        leave(self.session)


def leave(session: Any) -> None:
    """Take ``session`` off the default stack (its innermost place)."""
    stack = default_sessions.stack
    for k in range(len(stack) - 1, -1, -1):
        if stack[k] is session:
            del stack[k]
            break
