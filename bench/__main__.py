"""Run the benchmarks (all, or those named on the command line) and write bench/results.json."""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from pathlib import Path

from bench.figures import Figure

RESULTS = Path(__file__).with_name("results.json")


def main(selected: list[str]) -> int:
    modules = sorted(
        m.name
        for m in pkgutil.iter_modules([str(Path(__file__).parent)])
        if m.name.startswith("bench_")
    )
    if selected:
        modules = [m for m in modules if m in selected or m.removeprefix("bench_") in selected]
    results: dict[str, object] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    figures: list[Figure] = []
    for name in modules:
        print(f"running {name} ...", flush=True)
        module = importlib.import_module(f"bench.{name}")
        for figure in module.run():
            figures.append(figure)
            results[figure.name] = figure.as_json()
            mark = "ok  " if figure.met else "MISS"
            print(
                f"  {mark} {figure.name} = {figure.value:.4g} {figure.unit} "
                f"(target {figure.as_json()['target']})",
                flush=True,
            )
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"wrote {RESULTS}")
    return 0 if all(f.met for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
