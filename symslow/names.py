"""What can name a node: a non-empty string of printable characters, not too long, checked where a name is given
(:func:`check_name`), and how a refused value is quoted in the error."""

from __future__ import annotations

import unicodedata
from typing import Any

from .errors import InvalidArgumentError


# A longer full name (name scopes included) is refused: a checkpoint holds any name up to it (a zip file's names
# have at most 65535 bytes). The names symslow derives count too: a gradient's adds its node's name to "gradients/".
MAX_NAME_LENGTH = 10000

# Unicode categories refused in names: controls (NUL, newline, tab), format characters (bidirectional overrides,
# zero-width spaces), lone surrogates (not encodable) and line or paragraph separators. Names are printed into
# comments, diagrams, LaTeX and file formats, where each of these changes what the text shows or means.
_REFUSED_CATEGORIES = {"Cc": "a control character", "Cf": "a format character", "Cs": "a lone surrogate",
                       "Zl": "a line separator", "Zp": "a paragraph separator"}


def check_name(name: Any, what: str = "A node name") -> str:
    """``name`` if it can name a node (a non-empty string of printable characters, not too long), else a clear error.

    Example:
        >>> check_name("layer1/W")
        'layer1/W'
        >>> check_name("a\\nb")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        symslow.errors.InvalidArgumentError: A node name cannot hold a control character: 'a\\nb' has '\\n' at ...
    """
    if not isinstance(name, str) or not name:
        raise InvalidArgumentError(f"{what} is a non-empty string, not {_short(name)}.")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidArgumentError(f"{what} has at most {MAX_NAME_LENGTH} characters; {_short(name)} has {len(name)}.")
    if not name.isprintable():  # the rare case: find the character and say what it is
        for index, character in enumerate(name):
            refused = _REFUSED_CATEGORIES.get(unicodedata.category(character))
            if refused is not None:
                raise InvalidArgumentError(
                    f"{what} cannot hold {refused}: {_short(name)} has {character!r} at index {index}."
                )
    return name


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."
