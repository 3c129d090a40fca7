"""Start-up time of the command line: `dropbench --help`, `data list`, `profile list` and
`methods`, each in a fresh process (issue 21: the listings should answer well under a second;
`methods` loads the method modules, hence torch: its floor is torch's import time).

    .venv/bin/python benchmarks/startup.py [--repeat 5]

Prints the median and the fastest wall time of each command; a figure, not a pass/fail test.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = (["--help"], ["data", "list"], ["profile", "list"], ["methods"])


def wall_seconds(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "dropbench", *argv], capture_output=True, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="fresh processes per command")
    repeat = parser.parse_args().repeat
    for argv in COMMANDS:
        times = [wall_seconds(argv) for _ in range(repeat)]
        print(f"dropbench {' '.join(argv):12s}  median {statistics.median(times):.2f} s  fastest {min(times):.2f} s  ({repeat} runs)")


if __name__ == "__main__":
    main()
