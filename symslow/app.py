"""TensorFlow 1's ``tf.app.run`` and ``tf.app.flags`` (also ``tf.flags``): command-line flags for a program.

As in TensorFlow 1, a program defines its flags at module level, reads them as ``FLAGS.name``, and starts with
``tf.app.run()``, which parses the command line and calls ``main(argv)``::

    import symslow as tf
    flags = tf.app.flags
    flags.DEFINE_integer("steps", 1000, "Training steps.")
    flags.DEFINE_boolean("verbose", False, "Print the loss.")
    FLAGS = flags.FLAGS

    def main(argv):
        print(FLAGS.steps, FLAGS.verbose)

    if __name__ == "__main__":
        tf.app.run()

The command line takes ``--steps=10``, ``--steps 10``, ``--verbose``, ``--noverbose`` and ``--verbose=false``;
``--help`` lists the flags. Flags that are not defined are left to the program (TensorFlow 1's ``tf.app.run``
tolerates them), so a notebook kernel's own arguments do no harm. Python's ``argparse`` does the parsing.
Reading ``FLAGS.name`` before ``tf.app.run()`` parses ``sys.argv`` on first use.
"""

from __future__ import annotations

import argparse
import os
import sys
import types
from typing import Any, Callable, Sequence


class FlagsError(ValueError):
    """A flag is defined twice, given a value it cannot take, or unknown (absl's ``flags.Error``)."""


class DuplicateFlagError(FlagsError):
    """A flag of this name is already defined."""


class IllegalFlagValueError(FlagsError):
    """A flag's value (on the command line or as its default) cannot be parsed or is out of bounds."""


class UnrecognizedFlagError(FlagsError, AttributeError):
    """No flag of this name is defined."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would print and exit; a program reading FLAGS gets an exception
        raise FlagsError(message)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "t", "1"):
        return True
    if text in ("false", "f", "0"):
        return False
    raise ValueError(f"expected true or false (or t/f, 1/0), not {value!r}")


def _integer(value: Any) -> int:
    if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
        raise ValueError(f"expected an integer, not {value!r}")
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            return int(text, 0)  # 0x10, 0o17, 0b101
    return int(value)


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, not {value!r}")
    return float(value)


class _Flag:
    def __init__(self, kind: str, name: str, default: Any, help: str | None, parse: Callable[[Any], Any]):
        self.kind, self.name, self.help, self.parse = kind, name, help or "", parse
        self.default = None if default is None else self.convert(default, "default value")
        self.value = self.default

    def convert(self, raw: Any, what: str = "value") -> Any:
        try:
            return self.parse(raw)
        except (TypeError, ValueError) as error:
            raise IllegalFlagValueError(
                f"flag --{self.name}: {what} {raw!r} is not a valid {self.kind}: {error}"
            ) from None


class FlagValues:
    """The defined flags and their values: ``FLAGS.name`` reads one, ``FLAGS(argv)`` parses a command line.

    Example:
        >>> import symslow as tf
        >>> flags = tf.app.flags
        >>> fv = flags.FlagValues()  # a registry of its own; programs use flags.FLAGS
        >>> flags.DEFINE_integer("batch_size", 32, "Examples per step.", flag_values=fv)
        >>> flags.DEFINE_boolean("shuffle", True, "Shuffle the data.", flag_values=fv)
        >>> fv(["train.py", "--batch_size", "64", "--noshuffle", "data.csv"])
        ['train.py', 'data.csv']
        >>> fv.batch_size, fv.shuffle
        (64, False)
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_flags", {})
        object.__setattr__(self, "_parsed", False)

    # defining ------------------------------------------------------------------------------------------------
    def _define(self, flag: _Flag) -> None:
        if not isinstance(flag.name, str) or not flag.name.isidentifier():
            raise FlagsError(f"A flag's name is an identifier (letters, digits, _), not {flag.name!r}.")
        if flag.name in self._flags:
            raise DuplicateFlagError(f"The flag {flag.name!r} is defined twice (del FLAGS.{flag.name} removes it).")
        self._flags[flag.name] = flag

    # reading and setting -------------------------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name in ("_flags", "_parsed"):  # not set up yet (copying, unpickling)
            raise AttributeError(name)
        if name == "__flags":  # old TensorFlow programs list FLAGS.__flags.items()
            return self.flag_values_dict()
        flag = self._flags.get(name)
        if flag is None:
            raise UnrecognizedFlagError(f"Unknown flag {name!r}: define it with tf.app.flags.DEFINE_...(...).")
        if not self._parsed:
            self(sys.argv, known_only=True)
        return flag.value

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._flags:
            raise UnrecognizedFlagError(f"Unknown flag {name!r}: define it before setting it.")
        self._flags[name].value = value

    def __delattr__(self, name: str) -> None:
        if self._flags.pop(name, None) is None:
            raise UnrecognizedFlagError(f"Unknown flag {name!r}.")

    def __contains__(self, name: str) -> bool:
        return name in self._flags

    def __iter__(self):
        return iter(list(self._flags))

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._flags))

    def flag_values_dict(self) -> dict[str, Any]:
        """Every flag's name and value."""
        return {name: flag.value for name, flag in self._flags.items()}

    def is_parsed(self) -> bool:
        return self._parsed

    def mark_as_parsed(self) -> None:
        """Take the values as they are: reading a flag no longer parses ``sys.argv``."""
        object.__setattr__(self, "_parsed", True)

    def unparse_flags(self) -> None:
        """Give every flag its default again; the next read parses ``sys.argv`` anew."""
        for flag in self._flags.values():
            flag.value = flag.default
        object.__setattr__(self, "_parsed", False)

    def _parse_flags(self, args: Sequence[str] | None = None) -> list[str]:  # TensorFlow 1.0-1.4's spelling
        return self([sys.argv[0] if sys.argv else "", *args] if args is not None else sys.argv, known_only=True)

    # parsing -------------------------------------------------------------------------------------------------
    def __call__(self, argv: Sequence[str], known_only: bool = False) -> list[str]:
        """Parse ``argv`` (the program's name, then its arguments); return the name and the arguments left.

        Only the flags given change. With ``known_only``, unknown flags are left in what is returned (as
        ``tf.app.run`` does); otherwise they are an error. ``--help`` prints the flags and exits.
        """
        if isinstance(argv, str) or not all(isinstance(a, str) for a in argv):
            raise TypeError(f"FLAGS(argv) takes a list of strings, not {argv!r}.")
        argv = list(argv)
        program, args = (argv[0], argv[1:]) if argv else ("", [])
        namespace, rest = self._parser(program).parse_known_args(self._rewrite_booleans(args))
        unknown = [a for a in rest if a.startswith("-") and a != "-"]
        if unknown and not known_only:
            raise UnrecognizedFlagError(f"Unknown command-line flag {unknown[0].split('=')[0]!r}.")
        for name, raw in vars(namespace).items():
            flag = self._flags[name]
            flag.value = raw if flag.kind == "bool" else flag.convert(raw)
        self.mark_as_parsed()
        return [program, *rest] if argv else rest

    def _rewrite_booleans(self, args: list[str]) -> list[str]:
        """``--flag=false`` -> ``--noflag`` (a boolean takes its value only after ``=``, as in absl)."""
        out = []
        for arg in args:
            name, equals, value = arg[2:].partition("=")
            flag = self._flags.get(name) if arg.startswith("--") and equals else None
            if flag is not None and flag.kind == "bool":
                arg = f"--{name}" if flag.convert(value) else f"--no{name}"
            out.append(arg)
        return out

    def _parser(self, program: str) -> argparse.ArgumentParser:
        parser = _Parser(prog=os.path.basename(program) or None, allow_abbrev=False)
        for flag in self._flags.values():
            text = f"{flag.help} (default: {flag.default!r})"
            if flag.kind == "bool":
                parser.add_argument(f"--{flag.name}", dest=flag.name, action="store_const", const=True,
                                    default=argparse.SUPPRESS, help=text)
                parser.add_argument(f"--no{flag.name}", dest=flag.name, action="store_const", const=False,
                                    default=argparse.SUPPRESS, help=argparse.SUPPRESS)
            else:
                parser.add_argument(f"--{flag.name}", dest=flag.name, default=argparse.SUPPRESS, help=text,
                                    metavar=flag.kind.upper())
        return parser


FLAGS = FlagValues()


def _bounded(parse: Callable, lower: Any, upper: Any) -> Callable:
    def bounded(value):
        number = parse(value)
        if lower is not None and number < lower or upper is not None and number > upper:
            raise ValueError(f"{number} is outside [{'-inf' if lower is None else lower}, "
                             f"{'inf' if upper is None else upper}]")
        return number

    return bounded


def DEFINE_string(name: str, default: str | None, help: str, flag_values: FlagValues = FLAGS) -> None:
    """Define a string flag: ``--name=text``."""
    flag_values._define(_Flag("string", name, default, help, lambda v: v if isinstance(v, str) else str(v)))


def DEFINE_integer(name: str, default: int | None, help: str, lower_bound: int | None = None,
                   upper_bound: int | None = None, flag_values: FlagValues = FLAGS) -> None:
    """Define an integer flag (``--name=10``), optionally bounded."""
    flag_values._define(_Flag("int", name, default, help, _bounded(_integer, lower_bound, upper_bound)))


def DEFINE_float(name: str, default: float | None, help: str, lower_bound: float | None = None,
                 upper_bound: float | None = None, flag_values: FlagValues = FLAGS) -> None:
    """Define a floating-point flag (``--name=0.01``), optionally bounded."""
    flag_values._define(_Flag("float", name, default, help, _bounded(_float, lower_bound, upper_bound)))


def DEFINE_boolean(name: str, default: bool | None, help: str, flag_values: FlagValues = FLAGS) -> None:
    """Define a boolean flag: ``--name``, ``--noname``, ``--name=true`` or ``--name=false``."""
    flag_values._define(_Flag("bool", name, default, help, _bool))


DEFINE_bool = DEFINE_boolean


def DEFINE_enum(name: str, default: str | None, enum_values: Sequence[str], help: str,
                flag_values: FlagValues = FLAGS) -> None:
    """Define a string flag that takes one of ``enum_values``."""
    allowed = list(enum_values)

    def parse(value):
        if value not in allowed:
            raise ValueError(f"expected one of {allowed}")
        return value

    flag_values._define(_Flag("enum", name, default, help, parse))


def DEFINE_list(name: str, default: Any, help: str, flag_values: FlagValues = FLAGS) -> None:
    """Define a flag holding a list of strings, given comma-separated: ``--name=a,b,c``."""
    def parse(value):
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return [str(v) for v in value]

    flag_values._define(_Flag("list", name, default, help, parse))


flags = types.SimpleNamespace(
    FLAGS=FLAGS, FlagValues=FlagValues, DEFINE_string=DEFINE_string, DEFINE_integer=DEFINE_integer,
    DEFINE_float=DEFINE_float, DEFINE_boolean=DEFINE_boolean, DEFINE_bool=DEFINE_bool, DEFINE_enum=DEFINE_enum,
    DEFINE_list=DEFINE_list, Error=FlagsError, DuplicateFlagError=DuplicateFlagError,
    IllegalFlagValueError=IllegalFlagValueError, UnrecognizedFlagError=UnrecognizedFlagError,
)
flags.__doc__ = "TensorFlow 1's tf.app.flags (also tf.flags): DEFINE_string/integer/float/boolean/bool and FLAGS."


def run(main: Callable[[list[str]], Any] | None = None, argv: Sequence[str] | None = None) -> None:
    """Parse the command line into ``FLAGS``, call ``main(argv)``, and exit with what it returns (``sys.exit``).

    Args:
        main: the program's main function; by default the ``main`` of the ``__main__`` module.
        argv: the command line (the program's name first); by default ``sys.argv``.

    ``main`` gets the program's name and the arguments that are not defined flags. A flag given a value it cannot
    take stops the program with a message and status 1.

    Example:
        >>> import symslow as tf
        >>> def main(argv):
        ...     print("arguments:", argv)
        ...     return 0
        >>> try:
        ...     tf.app.run(main, ["prog.py", "input.txt"])
        ... except SystemExit as exit:
        ...     print("exit status", exit.code)
        arguments: ['prog.py', 'input.txt']
        exit status 0
    """
    argv = sys.argv if argv is None else argv
    try:
        rest = FLAGS(argv, known_only=True)
    except FlagsError as error:
        print(f"FATAL Flags parsing error: {error}\nPass --help to see the flags.", file=sys.stderr)
        sys.exit(1)
    if main is None:
        main = getattr(sys.modules.get("__main__"), "main", None)
        if main is None:
            raise AttributeError("tf.app.run() calls main(argv) of the __main__ module, which defines none: "
                                 "define main(argv), or pass tf.app.run(main=...).")
    sys.exit(main(rest))


__all__ = ["run", "flags", "FLAGS", "FlagValues", "FlagsError"]
