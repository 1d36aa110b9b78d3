"""One import's freshness on a standby-backed node (ops/bench/replica.sh).

    python3 replica_freshness.py PRIMARY_URL NODE_CNK_URL

Polls, every 5 ms, the primary (the newest applied import run) and the node (the import run its
answer for one CNK names as its source). Prints the milliseconds from the first poll that sees
a new run committed on the primary to the first answer of the node that names that run.
"""

import json
import sys
import time
import urllib.request

import psycopg

primary_url, node_url = sys.argv[1], sys.argv[2]


def node_run():
    with urllib.request.urlopen(node_url, timeout=5) as answer:
        return json.load(answer)["source"]["importRunId"]


with psycopg.connect(primary_url, autocommit=True) as connection:
    newest = "SELECT coalesce(max(id), 0) FROM import_run WHERE outcome = 'applied'"
    start = connection.execute(newest).fetchone()[0]
    committed_at = None
    run = None
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if committed_at is None:
            current = connection.execute(newest).fetchone()[0]
            if current > start:
                committed_at, run = time.monotonic(), current
        if committed_at is not None and node_run() >= run:
            print(f"{(time.monotonic() - committed_at) * 1000:.0f}")
            break
        time.sleep(0.005)
    else:
        print("timeout")
