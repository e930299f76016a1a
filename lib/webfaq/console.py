"""How every ``webfaq`` command talks to a person: short grouped help, one-line errors, exit codes.

Exit codes: 0 done, 1 the run failed (its manifest says why), 2 a usage error (a flag, a config
value, an input or lake path that cannot work), found before any work starts. No traceback
reaches the user for an expected failure; ``--debug`` or ``WEBFAQ_DEBUG=1`` shows it.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
import sys
import textwrap
import traceback
from typing import Callable

from webfaq.errors import UsageError, describe_error  # noqa: F401 - re-exported for the jobs

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_REFUSED = 75  # EX_TEMPFAIL: another run holds the lake; a scheduler may retry later
REFERENCE_HINT = "All settings with their full text: README.md, section 'Settings reference'."


def debug_enabled(argv: list[str] | None = None) -> bool:
    """``--debug`` anywhere on the command line (also when parsing failed), or WEBFAQ_DEBUG set."""
    return "--debug" in (argv or []) or os.environ.get("WEBFAQ_DEBUG", "") not in ("", "0")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """One line per flag where the terminal allows: the short alias only (the long form is in
    the README), ``--[no-]x`` for switches, help text from column 34, at most 110 columns."""

    def __init__(self, prog: str):
        width = min(shutil.get_terminal_size((100, 24)).columns, 112) - 2
        super().__init__(prog, max_help_position=30, width=width)

    def _format_action(self, action: argparse.Action) -> str:
        """A flag longer than the flag column keeps its help on the same line (one line saved
        per long flag, which keeps each settings group under a page)."""
        if isinstance(action, argparse._SubParsersAction):  # the commands, without a "COMMAND" row above
            return "".join(self._format_action(a) for a in action._get_subactions())
        header = self._format_action_invocation(action)
        help_position = min(self._action_max_length + 2, self._max_help_position)
        room = self._width - self._current_indent - len(header) - 2
        if not action.help or len(header) <= help_position - self._current_indent - 2 or room < 24:
            return super()._format_action(action)
        lines = textwrap.wrap(" ".join(self._expand_help(action).split()), room)
        out = [f"{' ' * self._current_indent}{header}  {lines[0]}\n"]
        rest = " ".join(lines[1:])
        out += [f"{' ' * help_position}{line}\n" for line in textwrap.wrap(rest, self._width - help_position)]
        return "".join(out)

    def _format_action_invocation(self, action: argparse.Action) -> str:
        if not action.option_strings:
            return super()._format_action_invocation(action)
        first = action.option_strings[0]
        if action.nargs == 0 and any(o.startswith("--no-") for o in action.option_strings):
            return "--[no-]" + first[2:]
        if action.nargs == 0:
            return ", ".join(action.option_strings)
        return f"{first} {self._format_args(action, self._get_default_metavar_for_optional(action))}"


class Parser(argparse.ArgumentParser):
    """No abbreviated flags (``--align-min-pair`` is not ``--align-min-pairs``), the compact help,
    and usage errors in one line with a suggestion and a pointer to ``--help``, exit 2."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        """As argparse's, except that arguments left over after a subcommand are reported by that
        subcommand's parser: the error then names ``webfaq extract-file``, points to its help,
        and suggests from its flags (the top-level parser knows none of them)."""
        namespace, extras = self.parse_known_args(args, namespace)
        if extras:
            self._chosen(namespace).error("unrecognized arguments: " + " ".join(extras))
        return namespace

    def _chosen(self, namespace: argparse.Namespace) -> argparse.ArgumentParser:
        """The subcommand parser ``namespace`` was parsed by, or this parser if none."""
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                chosen = action.choices.get(getattr(namespace, action.dest, None) or "")
                if chosen is not None:
                    return chosen
        return self

    def error(self, message: str):  # type: ignore[override]
        message = " ".join(message.split())
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}{self._suggestion(message)} "
                              f"(see '{self.prog} --help')\n")

    def _suggestion(self, message: str) -> str:
        """'did you mean --x?' for an unknown flag or a mistyped choice."""
        known = [o for a in self._actions for o in a.option_strings]
        if "unrecognized arguments" in message:
            for word in re.findall(r"(--?[\w-]+)", message.split(":", 1)[1]):
                close = difflib.get_close_matches(word.split("=")[0], known, n=1, cutoff=0.75)
                if close:
                    return f"; did you mean {close[0]}?"
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if choice:
            options = [c.strip(" '") for c in choice.group(2).split(",")]
            close = difflib.get_close_matches(choice.group(1), options, n=1, cutoff=0.6)
            if close:
                return f"; did you mean {close[0]}?"
        return ""


def add_general_arguments(parser: argparse.ArgumentParser, json_help: str | None = None) -> None:
    """``--debug`` (and ``--json`` where a script would want the result) on every command."""
    group = next((g for g in parser._action_groups if g.title == "options"), parser)
    if json_help:
        group.add_argument("--json", action="store_true", help=json_help)
    group.add_argument("--debug", action="store_true", help="show the traceback of a failure (also: WEBFAQ_DEBUG=1)")


def example_epilog(*examples: str) -> str:
    return "examples:\n" + "\n".join(f"  {e}" for e in examples) + "\n\n" + REFERENCE_HINT


def guarded(prog: str, argv: list[str], body: Callable[[], int], expected: tuple[type, ...] = ()) -> int:
    """Run a command's ``body``: a usage error is one line and exit 2, a failure one line and
    exit 1 (``expected`` failures without the pointer to --debug). With debug on, the traceback
    comes first."""
    debug = debug_enabled(argv)
    try:
        return body()
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `webfaq extract-file X | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except UsageError as exc:
        if debug:
            traceback.print_exc()
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line (the traceback with --debug)
        if debug:
            traceback.print_exc()
        hint = "" if debug or isinstance(exc, expected + (OSError,)) else " (--debug shows the traceback)"
        print(f"{prog}: error: {describe_error(exc)}{hint}", file=sys.stderr)
        return EXIT_FAILED
