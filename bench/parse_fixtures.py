"""Writes realistic CloudTrail log files for the parsing benchmark: FILES gzip files of
RECORDS records each, made by local/trail_fixtures.py's generator, into DIR.

    parse_fixtures.py DIR [FILES] [RECORDS]
"""

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "local"))
import trail_fixtures  # noqa: E402


def main():
    out = Path(sys.argv[1])
    files = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    per_file = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(5)
    for n in range(files):
        records = [
            trail_fixtures.record(rng, trail_fixtures.ACCOUNT_ID, "us-east-1",
                                  f"2026-12-01T{n % 24:02d}:{i % 60:02d}:{i * 7 % 60:02d}Z")
            for i in range(per_file)
        ]
        (out / f"log-{n:04d}.json.gz").write_bytes(trail_fixtures.log_file(records))


if __name__ == "__main__":
    main()
