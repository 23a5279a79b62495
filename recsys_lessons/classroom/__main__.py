"""``python -m recsys_lessons.classroom student|html --out DIR NOTEBOOK...``."""

from __future__ import annotations

import argparse
import sys

from .site import build_site
from .student import write_student_copies


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m recsys_lessons.classroom", description=__doc__)
    parser.add_argument(
        "command", choices=["student", "html"], help="student: copies without solutions; html: the class page"
    )
    parser.add_argument("notebooks", nargs="+", help="the .ipynb files, in lesson order")
    parser.add_argument("--out", required=True, help="output folder (e.g. build/student)")
    args = parser.parse_args(argv)
    if args.command == "student":
        for path, regions in write_student_copies(args.notebooks, args.out).items():
            print(f"{path}: {len(regions)} solution(s) replaced by stubs")
    else:
        print(f"wrote {build_site(args.notebooks, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
