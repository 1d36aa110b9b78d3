#!/usr/bin/env python3
"""Applies a SAM delta (GET /v1/exports/sam/delta?from=V1&to=V2) to the V1 SQLite snapshot,
turning it into the V2 snapshot. Python's standard library only: a mirror needs nothing else.

    curl -s "$REGISTRY/v1/exports/sam/delta?from=41" -o delta.ndjson
    python3 ops/apply-sam-delta.py sam-41.sqlite delta.ndjson      # or - for standard input

The delta's first line is {"op":"meta","from":V1,"to":V2,"meta":{...}}; the file must be at
version V1 (its meta.sam_version), or nothing is changed. Each further line is one entity:
  {"op":"upsert","type":T,"key":K,"rows":{"table":[{column: value}, ...], ...}}
  {"op":"delete","type":T,"key":K}
Both first delete the entity's rows from the tables entity_table names for its type (shared tables
by their type column; "*" for types without a table of their own), then an upsert inserts the rows
it carries. Everything runs in one transaction: a failure leaves the file at V1.
"""
import json
import sqlite3
import sys


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    path, delta_path = argv[1], argv[2]
    stream = sys.stdin if delta_path == "-" else open(delta_path, encoding="utf-8")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN")
    try:
        tables = {}
        for entity_type, table, type_column in db.execute(
            "SELECT entity_type, table_name, type_column FROM entity_table"
        ):
            tables.setdefault(entity_type, []).append((table, type_column))
        columns = {}
        applied = 0
        header = None
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            change = json.loads(line)
            op = change.get("op")
            if header is None:
                if op != "meta":
                    raise SystemExit(f"{delta_path}:{number}: the first line must be the meta line")
                header = change
                have = db.execute("SELECT value FROM meta WHERE key = 'sam_version'").fetchone()
                if have is None or have[0] != str(change["from"]):
                    raise SystemExit(
                        f"{path} is SAM version {have[0] if have else '?'}, the delta starts at {change['from']}"
                    )
                for key, value in change["meta"].items():
                    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
                continue
            if op not in ("upsert", "delete"):
                raise SystemExit(f"{delta_path}:{number}: unknown op {op!r}")
            entity_type, key = change["type"], change["key"]
            own = tables.get(entity_type, [])
            if not any(table != "medicine_name" for table, _ in own):
                own = own + tables.get("*", [])
            for table, type_column in own:
                if type_column:
                    db.execute(
                        f'DELETE FROM "{table}" WHERE entity_key = ? AND "{type_column}" = ?', (key, entity_type)
                    )
                else:
                    db.execute(f'DELETE FROM "{table}" WHERE entity_key = ?', (key,))
            if op == "upsert":
                for table, rows in change["rows"].items():
                    if table not in columns:
                        columns[table] = [row[1] for row in db.execute(f'PRAGMA table_info("{table}")')]
                    names = columns[table]
                    if not names:
                        raise SystemExit(f"{delta_path}:{number}: unknown table {table!r}")
                    sql = f'INSERT INTO "{table}" ({", ".join(names)}) VALUES ({", ".join("?" * len(names))})'
                    db.executemany(sql, [tuple(row.get(name) for name in names) for row in rows])
            applied += 1
        if header is None:
            raise SystemExit(f"{delta_path}: empty delta (no meta line)")
        db.execute("DELETE FROM meta WHERE key = 'built_at'")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    print(f"{path}: SAM version {header['from']} -> {header['to']}, {applied} entities changed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
