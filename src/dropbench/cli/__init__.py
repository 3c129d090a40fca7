"""`dropbench ...`: a thin command line over the library.

Each command parses its arguments, calls one library function and prints the result. Errors the
user can fix (DropbenchError) become one red line on stderr and exit code 2, never a traceback.
`options` holds the argument types and shared options, `commands` the commands, `parser` the
parser; the library loads lazily inside the commands, so `dropbench --help` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from ..console import console, error
from ..errors import DropbenchError
from ..fsutil import check_output_dir, check_output_file
from .options import EXIT_USER_ERROR
from .parser import build_parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        check_outputs(args)
        return args.func(args)
    except DropbenchError as e:
        error(e)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        console.print("[bold red]interrupted[/]: nothing half-written was left behind")
        return 130


def check_outputs(args: argparse.Namespace) -> None:
    """Every output target (--out, --json, --html) is checked before any work starts."""
    if getattr(args, "out", None):
        check_output_dir(Path(args.out), getattr(args, "force", False))
    for flag in ("json", "html"):
        if getattr(args, flag, None):
            check_output_file(Path(getattr(args, flag)), f"--{flag}")


if __name__ == "__main__":
    sys.exit(main())
