"""`ltx-scene`: the project's command line.

Each sub-command lives in its own module under `backend/commands/` and exposes

    NAME: str                     # the sub-command, e.g. "draw-tracks"
    HELP: str                     # one line for `ltx-scene --help`
    def add_arguments(parser)     # argparse arguments
    def run(args) -> int          # exit status

Modules are discovered, so adding a command never touches this file. A command signals a
user-facing failure by raising `shared.errors.UserError` (or a subclass): one clear message on
stderr, exit status 2, no traceback. Command modules import their
heavy dependencies (torch, ltx-core) inside `run`, so `ltx-scene --help` and light commands start fast.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from shared.errors import UserError

from . import commands as _commands


def _command_modules():
    for info in sorted(pkgutil.iter_modules(_commands.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        yield importlib.import_module(f"{_commands.__name__}.{info.name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ltx-scene",
        description="LTX Scene Control: Blender scene controls -> LTX-2 IC-LoRA video.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in _command_modules():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
