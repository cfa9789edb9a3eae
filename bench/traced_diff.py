"""What grew between two snapshots of bench/traced_worker.py: the top lines by growth, grouped
by file, by line, and (for the largest) by the whole stack.

    .venv/bin/python bench/traced_diff.py DIR/worker-1/snapshot-02.pickle \\
        DIR/worker-1/snapshot-10.pickle [--top 25]
"""

from __future__ import annotations

import argparse
import tracemalloc

IGNORED = (
    tracemalloc.Filter(False, tracemalloc.__file__),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--stacks", type=int, default=5)
    args = parser.parse_args()
    before = tracemalloc.Snapshot.load(args.before).filter_traces(IGNORED)
    after = tracemalloc.Snapshot.load(args.after).filter_traces(IGNORED)
    total = sum(s.size for s in after.statistics("filename")) - sum(
        s.size for s in before.statistics("filename")
    )
    print(f"traced: {total / 2**20:+.2f} MB from {args.before} to {args.after}\n")
    for key in ("filename", "lineno"):
        print(f"by {key}:")
        for diff in after.compare_to(before, key)[: args.top]:
            print(f"  {diff.size_diff / 1024:+9.1f} KiB {diff.count_diff:+7d}  {diff.traceback}")
        print()
    for diff in after.compare_to(before, "traceback")[: args.stacks]:
        print(f"{diff.size_diff / 1024:+9.1f} KiB {diff.count_diff:+7d} blocks, allocated at:")
        for line in diff.traceback.format(most_recent_first=True):
            print(f"    {line}")
        print()


if __name__ == "__main__":
    main()
