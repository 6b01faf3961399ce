"""`make bench`: run every bench/*.py figure script that exposes main() -> rows, and print each as a table.

Convention (see bench/README.md): a figure script is any bench/*.py other than this file and names starting
with "_", defining `main()` that returns a list of dicts (one dict per table row, same keys in each; the first
key names the figure). `main` may be `async`. Scripts run one after another in this process; a script that
raises is reported and the others still run; the exit status is 1 if any failed.

    uv run python bench/run_all.py                # all scripts
    uv run python bench/run_all.py verify_keys    # only the named ones
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import inspect
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent

Row = dict[str, Any]


def discover(names: Sequence[str] = ()) -> list[Path]:
    scripts = sorted(
        path
        for path in BENCH_DIR.glob("*.py")
        if path.name != Path(__file__).name and not path.name.startswith("_")
    )
    if names:
        wanted = {Path(name).stem for name in names}
        missing = wanted - {path.stem for path in scripts}
        if missing:
            raise SystemExit(f"no such bench script: {', '.join(sorted(missing))}")
        scripts = [path for path in scripts if path.stem in wanted]
    return scripts


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(module: ModuleType) -> list[Row]:
    result = module.main()
    if inspect.isawaitable(result):
        result = asyncio.run(result)  # type: ignore[arg-type]
    if not isinstance(result, list) or not all(isinstance(row, dict) for row in result):
        raise TypeError("main() must return a list of dicts (one per table row)")
    return result


def format_cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)


def format_table(rows: Sequence[Row]) -> str:
    if not rows:
        return "(no rows)"
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    cells = [[format_cell(row.get(column, "")) for column in columns] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]
    numeric = [all(isinstance(row.get(c), int | float | None) for row in rows) for c in columns]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)
        ).rstrip()

    return "\n".join([line(columns), line(["-" * w for w in widths]), *(line(c) for c in cells)])


def print_table(rows: Sequence[Row]) -> None:
    print(format_table(rows), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("names", nargs="*", help="script names (default: every bench/*.py figure script)")
    args = parser.parse_args(argv)
    failed: list[str] = []
    for path in discover(args.names):
        module = load(path)
        if not callable(getattr(module, "main", None)):
            continue
        print(f"\n== {path.stem} ==", flush=True)
        started = time.perf_counter()
        try:
            rows = run_script(module)
        except Exception:
            traceback.print_exc()
            failed.append(path.stem)
            continue
        print_table(rows)
        print(f"({time.perf_counter() - started:.1f} s)", flush=True)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
