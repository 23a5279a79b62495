"""Check that a command leaves the git checkout as it found it (``make test`` ends with this check).

``snapshot FILE`` records ``git status --porcelain`` together with a hash of every listed path's
content; ``check FILE`` compares the tree with that record and fails, listing what changed. On a
clean checkout (CI's fresh clone) this is exactly "``git status --porcelain`` is empty at the
end"; on a developer's checkout with uncommitted work it still catches a file the tests rewrote
(a notebook saved over, a stray output), without failing on the developer's own edits.
Nothing is ignored beyond ``.gitignore``: the working folder and ``build/`` must be listed there.

It needs only the standard library (``make test`` takes the snapshot before anything is installed),
so any Python 3.10+ runs it from the checkout's top level.

Usage::

    python -m recsys_lessons.classroom.tree_state snapshot build/tree-before.json
    python -m recsys_lessons.classroom.tree_state check build/tree-before.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["changes", "main", "state"]


def _git() -> str:
    git = shutil.which("git")
    if git is None:
        raise RuntimeError("git is not installed; the tree check needs it")
    return git


def state(root: Path) -> dict[str, str]:
    """``{porcelain line: content hash}`` for every path ``git status`` lists (untracked files one by one).

    Raises:
        RuntimeError: ``root`` is not inside a git checkout, or there is no git.
    """
    proc = subprocess.run(  # noqa: S603 - a fixed git command line
        [_git(), "status", "--porcelain", "--untracked-files=all", "-z"], cwd=root, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(f"git status failed in {root}: {proc.stderr.strip()}")
    out: dict[str, str] = {}
    entries = proc.stdout.split("\0")
    i = 0
    while i < len(entries):
        entry = entries[i]
        i += 1
        if not entry:
            continue
        if entry[0] in "RC":  # a rename or copy carries its source as the next entry
            i += 1
        path = root / entry[3:]
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "-"
        out[entry] = digest
    return out


def changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Human-readable differences between two :func:`state` records (empty when the tree is as it was)."""
    lines = [f"new: {e}" for e in after if e not in before]
    lines += [f"gone back or removed: {e}" for e in before if e not in after]
    lines += [f"rewritten: {e}" for e in after if e in before and after[e] != before[e]]
    return lines


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring); returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m recsys_lessons.classroom.tree_state", description=__doc__.split("\n")[0]
    )
    parser.add_argument("command", choices=["snapshot", "check"])
    parser.add_argument("record", type=Path, help="the JSON file the snapshot is kept in")
    args = parser.parse_args(argv)
    try:
        top_level = [_git(), "rev-parse", "--show-toplevel"]
        top = subprocess.run(top_level, capture_output=True, text=True)  # noqa: S603 - a fixed git command line
        now = state(Path(top.stdout.strip() or "."))
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "snapshot":
        args.record.parent.mkdir(parents=True, exist_ok=True)
        args.record.write_text(json.dumps(now, indent=1))
        return 0
    if not args.record.exists():
        print(f"error: no snapshot at {args.record}; run `snapshot` first", file=sys.stderr)
        return 2
    diff = changes(json.loads(args.record.read_text()), now)
    if diff:
        print("The run changed the git checkout (every output belongs in a git-ignored folder):", file=sys.stderr)
        for line in diff:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(f"git checkout unchanged ({'clean' if not now else f'{len(now)} pre-existing change(s) untouched'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
