"""``train.Saver``: save a session's Variables to checkpoint files, restore them, and keep the last few.

A checkpoint is NumPy's ``.npz`` file (a zip of ``.npy`` arrays), one array per Variable, keyed by the Variable's
name, each in its Variable's dtype. A key is any name a node can have (printable text: no NUL or other control
character, which zip files would cut or change), so two Variables never share a key. ``save(sess, "model.ckpt", global_step=100)`` writes ``model.ckpt-100.npz``
and returns the checkpoint's prefix ``"model.ckpt-100"``, as TensorFlow 1 returns its prefix; ``restore`` takes
that prefix (or the file's own path). The file is read with ``allow_pickle=False``: loading a file never runs code
from it.

As in TensorFlow 1, each save records the directory's latest checkpoints in a text file named ``checkpoint`` next
to them (``model_checkpoint_path: "model.ckpt-100"``), which :func:`latest_checkpoint` reads, and the Saver deletes
its oldest checkpoint files beyond ``max_to_keep``.

Saving is atomic: the arrays go to a temporary file in the same directory, which then replaces the target in one
``os.replace``; a crash mid-save leaves the previous file as it was. Restoring is all or nothing: every array is
read and checked (present, no extra, same shape and dtype) before any Variable changes.
"""

from __future__ import annotations

import numbers
import os
import re
import tempfile
import zipfile
from typing import Any, Mapping, Sequence

import numpy as np

from .errors import GraphMismatchError, InvalidArgumentError
from .graph import Node, format_shape
from .names import check_name
from .leaves import Variable

CHECKPOINT_STATE = "checkpoint"  # TensorFlow's name for the file listing a directory's checkpoints


def _dtype(variable: Variable) -> np.dtype:
    return np.dtype(getattr(variable.dtype, "as_numpy_dtype", variable.dtype))


class Saver:
    """Saves and restores Variables, TensorFlow 1's ``tf.train.Saver`` for ``.npz`` checkpoint files.

    Args:
        var_list: the Variables to save and restore: a list, or a dict from the names to use in the file to
            Variables; ``None`` means every Variable of the session's graph (optimizer slots included).
        max_to_keep: how many of this Saver's most recent checkpoints to keep (5, as TensorFlow); older ones are
            deleted when a new one is saved. ``None`` or 0 keeps every file.
        reshape, sharded, keep_checkpoint_every_n_hours, name: TensorFlow 1's, accepted and ignored (so are its
            other keyword arguments).

    Example:
        >>> import os, tempfile, symslow as tf
        >>> _ = tf.Graph().as_default()
        >>> w = tf.Variable([1.0, 2.0], name="w")
        >>> sess = tf.Session()
        >>> _ = sess.run(tf.assign(w, [3.0, 4.0]))
        >>> directory = tempfile.mkdtemp()
        >>> saver = tf.train.Saver()
        >>> prefix = saver.save(sess, os.path.join(directory, "model.ckpt"), global_step=7)
        >>> os.path.basename(prefix), sorted(os.listdir(directory))
        ('model.ckpt-7', ['checkpoint', 'model.ckpt-7.npz'])
        >>> tf.train.latest_checkpoint(directory) == prefix
        True
        >>> fresh = tf.Session()
        >>> saver.restore(fresh, prefix)
        >>> fresh.run(w).tolist()
        [3.0, 4.0]
    """

    def __init__(self, var_list: Sequence[Variable] | Mapping[str, Variable] | None = None, reshape: bool = False,
                 sharded: bool = False, max_to_keep: int | None = 5, keep_checkpoint_every_n_hours: float = 10000.0,
                 name: str | None = None, **ignored: Any):
        if max_to_keep is not None and (isinstance(max_to_keep, bool) or not isinstance(max_to_keep, numbers.Integral)
                                        or max_to_keep < 0):
            raise InvalidArgumentError(f"Saver: max_to_keep must be an int >= 0 or None, not {max_to_keep!r}.")
        self.max_to_keep = int(max_to_keep or 0)
        self._last: list[str] = []  # this Saver's checkpoint prefixes, oldest first
        self._named = None if var_list is None else _named_variables(var_list)

    @property
    def last_checkpoints(self) -> list[str]:
        """This Saver's checkpoints not deleted yet, oldest first (TensorFlow's ``Saver.last_checkpoints``)."""
        return list(self._last)

    def _variables(self, session: Any) -> dict[str, Variable]:
        named = self._named if self._named is not None else {v.name: v for v in session.graph.variables}
        for key, variable in named.items():
            if variable.graph is not session.graph:
                raise GraphMismatchError(
                    f"Saver: Variable {variable.name!r} belongs to another graph than the session's."
                )
        return named

    def save(self, sess: Any, save_path: str | os.PathLike, global_step: Any = None,
             latest_filename: str | None = None, meta_graph_suffix: str = "meta", write_meta_graph: bool = True,
             write_state: bool = True, **ignored: Any) -> str:
        """Write the Variables' current values; returns the checkpoint's prefix, which ``restore`` takes.

        Args:
            sess: the session whose Variable values to save.
            save_path: the checkpoint's prefix, e.g. ``"checkpoints/model.ckpt"``; the file is the prefix with
                ``.npz`` appended (unless the prefix already ends in ``.npz``).
            global_step: an int, or a node (the global step Variable) whose value is run: ``-<step>`` is appended
                to the prefix, as TensorFlow does.
            latest_filename: the name of the state file listing the directory's checkpoints (``"checkpoint"``).
            write_state: whether to update that file. ``meta_graph_suffix`` and ``write_meta_graph`` are
                accepted and ignored (no graph file is written: the program rebuilds its graph).

        The file is replaced atomically: until the new file is complete, the old one stays as it was.
        """
        prefix = os.fspath(save_path)
        if global_step is not None:
            prefix = f"{prefix}-{_step_number(sess, global_step)}"
        path = _file_of(prefix)
        named = self._variables(sess)
        values = sess.variable_values(list(named.values()))
        arrays = {key: np.asarray(values[variable]).astype(_dtype(variable), copy=False)
                  for key, variable in named.items()}
        _write_atomically(path, lambda file: _write_npz(file, arrays))
        if prefix in self._last:
            self._last.remove(prefix)
        self._last.append(prefix)
        while self.max_to_keep and len(self._last) > self.max_to_keep:
            old = self._last.pop(0)
            if os.path.exists(_file_of(old)):
                os.remove(_file_of(old))
        if write_state:
            listed = self._last if self.max_to_keep else [prefix]
            update_checkpoint_state(os.path.dirname(prefix), prefix, listed, latest_filename)
        return prefix

    def restore(self, sess: Any, save_path: str | os.PathLike | None) -> None:
        """Set the Variables to the values in checkpoint ``save_path``; on any problem, raise naming it and change
        nothing.

        Raises:
            ValueError: ``save_path`` is None (as TensorFlow; ``latest_checkpoint`` gives None for an empty
                directory).
            FileNotFoundError: there is no such checkpoint.
            InvalidArgumentError: the file is not a readable ``.npz`` file (truncated, corrupted, pickled data), or
                it misses Variables, holds extra ones, or holds arrays of another shape or dtype.
        """
        if save_path is None:
            raise ValueError("Saver.restore: can't load save_path when it is None (no checkpoint was found?).")
        path = os.fspath(save_path)
        if not os.path.exists(path) and os.path.exists(path + ".npz"):
            path += ".npz"
        named = self._variables(sess)
        stored = _read_npz(path)
        problems = _mismatches(named, stored)
        if problems:
            raise InvalidArgumentError(f"Cannot restore from {path!r}: " + "; ".join(problems)
                                       + ". No Variable was changed.")
        sess.load_variable_values({named[key]: stored[key] for key in named})


def _named_variables(var_list: Sequence[Variable] | Mapping[str, Variable]) -> dict[str, Variable]:
    """The Variables of a Saver's ``var_list`` under the names they have in the file."""
    pairs = list(var_list.items()) if isinstance(var_list, Mapping) else [(None, v) for v in var_list]
    named: dict[str, Variable] = {}
    for key, variable in pairs:
        if not isinstance(variable, Variable):
            raise TypeError(f"Saver: var_list holds {variable!r}, which is not a Variable.")
        key = variable.name if key is None else key
        if not isinstance(key, str) or not key:
            raise InvalidArgumentError(f"Saver: the name of Variable {variable.name!r} in the file must be a "
                                       f"non-empty string, not {key!r}.")
        check_name(key, f"Saver: the name of Variable {variable.name!r} in the file")
        if key in named:
            raise InvalidArgumentError(f"Saver: two Variables are saved under the name {key!r}.")
        named[key] = variable
    return named


def _mismatches(named: dict[str, Variable], stored: dict[str, np.ndarray]) -> list[str]:
    """What keeps a file's arrays from restoring these Variables (nothing: an empty list)."""
    missing = sorted(set(named) - set(stored))
    extra = sorted(set(stored) - set(named))
    problems = []
    if missing:
        problems.append(f"it has no values for Variable(s) {', '.join(map(repr, missing))}")
    if extra:
        problems.append(f"it holds values for {', '.join(map(repr, extra))}, which this Saver does not restore")
    for key in sorted(set(named) & set(stored)):
        variable, array = named[key], stored[key]
        if array.shape != tuple(variable.shape):
            problems.append(f"Variable {variable.name!r} has shape {format_shape(variable.shape)} but the file "
                            f"holds shape {format_shape(array.shape)} for {key!r}")
        elif array.dtype != _dtype(variable):
            problems.append(f"Variable {variable.name!r} has dtype {_dtype(variable).name} but the file "
                            f"holds dtype {array.dtype.name} for {key!r}")
    return problems


def _step_number(sess: Any, global_step: Any) -> int:
    """The number a checkpoint's name ends with: ``global_step`` itself, or the value of the node it is."""
    value = sess.run(global_step) if isinstance(global_step, Node) else global_step
    array = np.asarray(value)
    if isinstance(value, bool) or array.shape != () or array.dtype.kind not in "iuf" or not np.isfinite(array) \
            or array != np.round(array):
        raise InvalidArgumentError(f"Saver.save: global_step must be an integer (or a node holding one), not {value!r}.")
    return int(array)


def _write_npz(file: Any, arrays: Mapping[str, np.ndarray]) -> None:
    """What ``np.savez(file, **arrays)`` writes, a zip holding ``<key>.npy`` per array, for any key (``savez``'s
    own arguments, ``file`` and ``allow_pickle``, are keys like any other here)."""
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for key, array in arrays.items():
            with archive.open(key + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def _file_of(prefix: str) -> str:
    """The file a checkpoint prefix names: ``prefix.npz`` (the prefix itself if it ends in ``.npz``)."""
    return prefix if prefix.endswith(".npz") else prefix + ".npz"


def _write_atomically(path: str, write) -> None:
    """Run ``write(file)`` on a temporary file next to ``path``, then move it into place in one ``os.replace``."""
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(prefix=".saving-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(descriptor, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


class CheckpointState:
    """The contents of a directory's ``checkpoint`` file, as TensorFlow's ``get_checkpoint_state`` gives them.

    Attributes:
        model_checkpoint_path: the prefix of the latest checkpoint.
        all_model_checkpoint_paths: the prefixes of the checkpoints kept, oldest first.
    """

    def __init__(self, model_checkpoint_path: str, all_model_checkpoint_paths: Sequence[str] | None = None):
        self.model_checkpoint_path = model_checkpoint_path
        self.all_model_checkpoint_paths = list(all_model_checkpoint_paths or [])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CheckpointState) and vars(self) == vars(other)

    def __repr__(self) -> str:
        return f"CheckpointState({self.model_checkpoint_path!r}, {self.all_model_checkpoint_paths!r})"


def update_checkpoint_state(save_dir: str, model_checkpoint_path: str,
                            all_model_checkpoint_paths: Sequence[str] | None = None,
                            latest_filename: str | None = None) -> None:
    """Write the ``checkpoint`` file of ``save_dir`` in TensorFlow's text format (paths relative to the directory
    when the checkpoints are in it)."""
    directory = save_dir or "."
    paths = list(all_model_checkpoint_paths or [])
    if model_checkpoint_path not in paths:
        paths.append(model_checkpoint_path)

    def written(path: str) -> str:
        if os.path.dirname(os.path.abspath(path)) == os.path.abspath(directory):
            path = os.path.basename(path)
        return '"' + path.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

    lines = [f"model_checkpoint_path: {written(model_checkpoint_path)}"]
    lines += [f"all_model_checkpoint_paths: {written(p)}" for p in paths]
    text = "\n".join(lines) + "\n"
    state = os.path.join(directory, latest_filename or CHECKPOINT_STATE)
    _write_atomically(state, lambda file: file.write(text.encode("utf-8")))


_LINE = re.compile(r'^\s*(model_checkpoint_path|all_model_checkpoint_paths)\s*:\s*"((?:[^"\\]|\\.)*)"\s*$')


def get_checkpoint_state(checkpoint_dir: str | os.PathLike, latest_filename: str | None = None
                         ) -> CheckpointState | None:
    """The directory's checkpoint state (its latest checkpoint and the ones kept), or None without a ``checkpoint``
    file. Relative paths in the file are taken relative to the directory, as TensorFlow does."""
    directory = os.fspath(checkpoint_dir)
    state = os.path.join(directory, latest_filename or CHECKPOINT_STATE)
    try:
        with open(state, encoding="utf-8") as file:
            text = file.read()
    except (FileNotFoundError, NotADirectoryError):
        return None
    latest, kept = None, []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _LINE.match(line)
        if match is None:
            raise InvalidArgumentError(f"The checkpoint state file {state!r} cannot be read: line {number} is "
                                       f"{line!r}.")
        value = re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), match.group(2))
        value = value if os.path.isabs(value) else os.path.join(directory, value)
        if match.group(1) == "model_checkpoint_path":
            latest = value
        else:
            kept.append(value)
    if latest is None:
        return None
    return CheckpointState(latest, kept)


def latest_checkpoint(checkpoint_dir: str | os.PathLike, latest_filename: str | None = None) -> str | None:
    """The prefix of the newest checkpoint saved in ``checkpoint_dir`` (TensorFlow 1's ``tf.train.latest_checkpoint``),
    or None when the directory has no ``checkpoint`` file or its checkpoint is gone.

    Example:
        >>> import tempfile, symslow as tf
        >>> tf.train.latest_checkpoint(tempfile.mkdtemp()) is None
        True
    """
    state = get_checkpoint_state(checkpoint_dir, latest_filename)
    if state is None or not checkpoint_exists(state.model_checkpoint_path):
        return None
    return state.model_checkpoint_path


def checkpoint_exists(checkpoint_prefix: str | os.PathLike) -> bool:
    """Whether a checkpoint with this prefix (or file path) exists."""
    prefix = os.fspath(checkpoint_prefix)
    return os.path.isfile(_file_of(prefix)) or os.path.isfile(prefix)


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
        try:  # member by member: NumPy's archive["a.npy"] would find the member of key "a" (a.npy) first
            return {name.removesuffix(".npy"): _read_member(archive.zip, name) for name in archive.zip.namelist()}
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as error:
            raise damaged(error) from None


def _read_member(archive: zipfile.ZipFile, name: str) -> np.ndarray:
    with archive.open(name) as member:
        return np.lib.format.read_array(member, allow_pickle=False)
