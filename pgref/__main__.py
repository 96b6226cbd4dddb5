r"""The command line: ``python -m pgref figures``, ``bench NAME`` and ``notebooks``.

Only argument parsing lives here; the work is in :mod:`pgref.figures`, :mod:`pgref.benchmarks`
and :mod:`pgref.notebooks`. Progress goes to stderr, results (benchmark tables) to stdout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    from pgref import benchmarks, figures

    parser = argparse.ArgumentParser(prog="python -m pgref", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    draw = commands.add_parser("figures", help="regenerate the figures (default: into figures/)")
    draw.add_argument("--quick", action="store_true", help="small grids, few samples: a smoke run")
    draw.add_argument("--out", type=Path, default=None, help="directory to write the PNGs into")
    draw.add_argument("--only", nargs="+", choices=sorted(figures.REGISTRY), metavar="NAME",
                      help=f"only these figures: {', '.join(sorted(figures.REGISTRY))}")

    bench = commands.add_parser("bench", help="run a benchmark and print its table")
    bench.add_argument("name", choices=benchmarks.available())
    bench.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")

    books = commands.add_parser(
        "notebooks", help="execute notebooks_src/*.py into .ipynb notebooks (default: into "
        "notebooks/); needs the [notebooks] extra")
    books.add_argument("--out", type=Path, default=None, help="directory to write them into")
    books.add_argument("--quick", action="store_true", help="PGREF_QUICK=1: fewer samples")
    books.add_argument("--jobs", type=int, default=None,
                       help="notebooks run at once (default: the number of CPUs)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    arguments = _parser().parse_args(argv)
    if arguments.command == "figures":
        from pgref import figures

        written = figures.generate(arguments.out, quick=arguments.quick, names=arguments.only)
        print(f"wrote {len(written)} figure(s) to {written[0].parent}", file=sys.stderr)
    elif arguments.command == "notebooks":
        from pgref import notebooks

        try:
            written = notebooks.build(arguments.out, quick=arguments.quick,
                                      jobs=arguments.jobs)
        except ImportError as error:
            print(error, file=sys.stderr)
            return 1
        print(f"wrote {len(written)} notebook(s) to {written[0].parent}", file=sys.stderr)
    else:
        from pgref import benchmarks

        for line in benchmarks.run(arguments.name, quick=arguments.quick):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
