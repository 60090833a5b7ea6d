"""Run the benchmark modules and print one readable report: `python -m bench [MODULE ...]`.

Every module of this package that defines `run() -> list[str]` is a bench module. They run in the
order of FIRST, then the others by name; name modules on the command line to run only those.
Each module's figures are headed by the time and the machine's load average when it started.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import time
from collections.abc import Sequence

import bench

FIRST = ("core", "projections", "web")  # the usual reading order; new modules need no entry here


def bench_modules() -> list[str]:
    names = [m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_")]
    return sorted(names, key=lambda name: (FIRST.index(name) if name in FIRST else len(FIRST), name))


def main(argv: Sequence[str]) -> int:
    wanted = list(argv) or bench_modules()
    unknown = sorted(set(wanted) - set(bench_modules()))
    if unknown:
        print(f"bench: no module {', '.join(unknown)}; there are {', '.join(bench_modules())}",
              file=sys.stderr)
        return 2
    for name in wanted:
        module = importlib.import_module(f"bench.{name}")
        run = getattr(module, "run", None)
        if run is None:
            continue  # a helper module
        # (the load average at the start: the README's figures give it with the date)
        load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
        print(f"== bench.{name} == {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, "
              f"load average {load}", flush=True)
        started = time.perf_counter()
        for line in run():
            print(f"  {line}", flush=True)
        print(f"  ({time.perf_counter() - started:.0f} s)\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
