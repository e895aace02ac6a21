"""``train.Saver``: save a session's Variables to a ``.npz`` file and restore them.

The file is NumPy's ``.npz`` (a zip of ``.npy`` arrays), one array per Variable, keyed by the Variable's name. It
is read with ``allow_pickle=False``: loading a file never runs code from it.

Saving is atomic: the arrays go to a temporary file in the same directory, which then replaces the target in one
``os.replace``; a crash mid-save leaves the previous file as it was. Restoring is all or nothing: every array is
read and checked (present, no extra, same shape and dtype) before any Variable changes.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from typing import Any, Mapping, Sequence

import numpy as np

from .errors import GraphMismatchError, InvalidArgumentError
from .graph import Variable, format_shape


class Saver:
    """Saves and restores Variables, TensorFlow 1's ``tf.train.Saver`` for ``.npz`` files.

    Args:
        var_list: the Variables to save and restore: a list, or a dict from the names to use in the file to
            Variables; ``None`` means every Variable of the session's graph (optimizer slots included).

    Example:
        >>> import os, tempfile, symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> w = tf.Variable([1.0, 2.0], name="w")
        >>> sess = tf.Session()
        >>> _ = sess.run(tf.assign(w, [3.0, 4.0]))
        >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
        >>> tf.train.Saver().save(sess, path) == path
        True
        >>> fresh = tf.Session()
        >>> fresh.run(w)
        array([1., 2.])
        >>> tf.train.Saver().restore(fresh, path)
        >>> fresh.run(w)
        array([3., 4.])
    """

    def __init__(self, var_list: Sequence[Variable] | Mapping[str, Variable] | None = None):
        if var_list is None:
            self._named = None
            return
        pairs = list(var_list.items()) if isinstance(var_list, Mapping) else [(None, v) for v in var_list]
        named: dict[str, Variable] = {}
        for key, variable in pairs:
            if not isinstance(variable, Variable):
                raise TypeError(f"Saver: var_list holds {variable!r}, which is not a Variable.")
            key = variable.name if key is None else key
            if not isinstance(key, str) or not key:
                raise InvalidArgumentError(f"Saver: the name of Variable {variable.name!r} in the file must be a "
                                           f"non-empty string, not {key!r}.")
            if key in named:
                raise InvalidArgumentError(f"Saver: two Variables are saved under the name {key!r}.")
            named[key] = variable
        self._named = named

    def _variables(self, session: Any) -> dict[str, Variable]:
        named = self._named if self._named is not None else {v.name: v for v in session.graph.variables}
        for key, variable in named.items():
            if variable.graph is not session.graph:
                raise GraphMismatchError(
                    f"Saver: Variable {variable.name!r} belongs to another graph than the session's."
                )
        return named

    def save(self, session: Any, save_path: str | os.PathLike) -> str:
        """Write the Variables' current values to ``save_path`` (``.npz`` is appended when missing); returns the path.

        The file is replaced atomically: until the new file is complete, the old one stays as it was.
        """
        path = os.fspath(save_path)
        if not path.endswith(".npz"):
            path += ".npz"
        named = self._variables(session)
        values = session.variable_values(list(named.values()))
        arrays = {key: values[variable] for key, variable in named.items()}
        directory = os.path.dirname(os.path.abspath(path))
        descriptor, temporary = tempfile.mkstemp(prefix=".saving-", suffix=".npz", dir=directory)
        try:
            with os.fdopen(descriptor, "wb") as file:
                np.savez(file, **arrays)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            if os.path.exists(temporary):
                os.remove(temporary)
            raise
        return path

    def restore(self, session: Any, save_path: str | os.PathLike) -> None:
        """Set the Variables to the values in ``save_path``; on any problem, raise naming it and change nothing.

        Raises:
            FileNotFoundError: there is no such file.
            InvalidArgumentError: the file is not a readable ``.npz`` file (truncated, corrupted, pickled data), or
                it misses Variables, holds extra ones, or holds arrays of another shape or dtype.
        """
        path = os.fspath(save_path)
        if not os.path.exists(path) and os.path.exists(path + ".npz"):
            path += ".npz"
        named = self._variables(session)
        stored = _read_npz(path)
        missing = sorted(set(named) - set(stored))
        extra = sorted(set(stored) - set(named))
        problems = []
        if missing:
            problems.append(f"it has no values for Variable(s) {', '.join(map(repr, missing))}")
        if extra:
            problems.append(f"it holds values for {', '.join(map(repr, extra))}, which this Saver does not restore")
        for key in sorted(set(named) & set(stored)):
            variable, array = named[key], stored[key]
            if array.shape != variable.shape:
                problems.append(f"Variable {variable.name!r} has shape {format_shape(variable.shape)} but the file "
                                f"holds shape {format_shape(array.shape)} for {key!r}")
            elif array.dtype != np.dtype(variable.dtype):
                problems.append(f"Variable {variable.name!r} has dtype {np.dtype(variable.dtype).name} but the file "
                                f"holds dtype {array.dtype.name} for {key!r}")
        if problems:
            raise InvalidArgumentError(f"Cannot restore from {path!r}: " + "; ".join(problems)
                                       + ". No Variable was changed.")
        session.load_variable_values({named[key]: stored[key] for key in named})


def _read_npz(path: str) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, read in full (so that a damaged member fails here, before any change)."""
    def damaged(error: Exception) -> InvalidArgumentError:
        return InvalidArgumentError(f"Cannot restore from {path!r}: the file is truncated or corrupted, or not an .npz "
                                    f"file ({type(error).__name__}: {error}). No Variable was changed.")

    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise FileNotFoundError(f"Cannot restore: there is no file {path!r}.") from None
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
        raise damaged(error) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise InvalidArgumentError(f"Cannot restore from {path!r}: it holds a single array, not an .npz file of "
                                   "named Variables. No Variable was changed.")
    with archive:
        try:
            return {key: np.array(archive[key]) for key in archive.files}
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as error:
            raise damaged(error) from None
