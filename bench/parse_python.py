"""Parsing throughput of CloudTrail log files in Python, the peer of
shared/examples/parse_throughput.rs: the same files, the same work (gzip, json, keep the
newest 50 failed calls per file), one core, the median of several rounds in MB/s of
decompressed JSON.

    parse_python.py DIR [ROUNDS]
"""

import gzip
import heapq
import json
import statistics
import sys
import time
from pathlib import Path


def newest_failures(raw, limit=50):
    text = gzip.decompress(raw)
    records = json.loads(text)["Records"]
    failed = ((r["eventTime"], r["eventID"], r) for r in records if r.get("errorCode"))
    return len(text), heapq.nlargest(limit, failed, key=lambda t: (t[0], t[1]))


def main():
    folder = Path(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    files = [p.read_bytes() for p in sorted(folder.glob("*.json.gz"))]
    rates, kept = [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        total, kept = 0, 0
        for raw in files:
            size, events = newest_failures(raw)
            total += size
            kept += len(events)
        rates.append(total / 1e6 / (time.perf_counter() - started))
    print(json.dumps({"files": len(files), "kept": kept, "mb_per_s": round(statistics.median(rates), 1)}))


if __name__ == "__main__":
    main()
