#!/usr/bin/env python3
"""An independent reader of the SAM SQLite snapshot, for the export tests (standard library only).

  answers SQLITE QUESTIONS.json   answer each {cnk, env, date} question from the file with plain SQL
                                  and compare with the API's answer in `expected`; prints a JSON
                                  summary, exit 1 on any difference
  same A.sqlite B.sqlite          row-for-row comparison of every table (rows as multisets, rowid
                                  ignored; FTS shadow tables and sqlite_stat1 skipped; meta without
                                  built_at); exit 1 with the first differences
  ndjson FILE.ndjson.gz           prints {"lines": N, "types": [...], "keys": [...]} of an NDJSON export
"""
import collections
import gzip
import json
import sqlite3
import sys

VALID = "(valid_from IS NULL OR valid_from <= :d) AND (valid_to IS NULL OR valid_to >= :d)"


def answer(db, cnk, env, day):
    dmpp = db.execute(
        f"SELECT price, reimbursable, ampp_cti_extended FROM dmpp WHERE code = :c AND code_type = 'CNK' "
        f"AND delivery_environment = :e AND {VALID} ORDER BY valid_from DESC LIMIT 1",
        {"c": cnk, "e": env, "d": day},
    ).fetchone()
    if dmpp is None:
        return None
    price, reimbursable, cti = dmpp
    ampp = db.execute(
        f"SELECT status FROM ampp WHERE cti_extended = :k AND {VALID} ORDER BY valid_from DESC LIMIT 1",
        {"k": cti, "d": day},
    ).fetchone()
    amp_code = db.execute("SELECT amp_code FROM ampp WHERE cti_extended = ? LIMIT 1", (cti,)).fetchone()
    amp_name = None
    if amp_code is not None:
        row = db.execute(
            f"SELECT name_fr FROM amp WHERE code = :k AND {VALID} ORDER BY valid_from DESC LIMIT 1",
            {"k": amp_code[0], "d": day},
        ).fetchone()
        amp_name = row[0] if row else None
    contexts = []
    for key, path, category, code in db.execute(
        f"SELECT entity_key, legal_reference_path, reimbursement_criterion_category, reimbursement_criterion_code "
        f"FROM reimbursement_context WHERE code = :c AND code_type = 'CNK' AND delivery_environment = :e AND {VALID}",
        {"c": cnk, "e": env, "d": day},
    ):
        copayments = sorted(
            [r, f]
            for r, f in db.execute(
                f"SELECT regime_type, fee_amount FROM copayment WHERE reimbursement_context_key = :k AND {VALID}",
                {"k": key, "d": day},
            )
        )
        contexts.append([path, category, code, copayments])
    return {
        "price": price,
        "reimbursable": None if reimbursable is None else bool(reimbursable),
        "ctiExtended": cti,
        "amppStatus": ampp[0] if ampp else None,
        "ampNameFr": amp_name,
        "contexts": sorted(contexts, key=json.dumps),
    }


def answers(path, questions_path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    questions = json.load(open(questions_path, encoding="utf-8"))
    mismatches = []
    for q in questions:
        got = answer(db, q["cnk"], q["env"], q["date"])
        expected = q["expected"]
        if expected is not None:
            expected = dict(expected, contexts=sorted(expected["contexts"], key=json.dumps))
        if got != expected:
            mismatches.append({"question": q, "sqlite": got})
    print(json.dumps({"questions": len(questions), "mismatches": mismatches[:5], "mismatchCount": len(mismatches)}))
    return 1 if mismatches else 0


SKIPPED = ("sqlite_stat1",)


def table_rows(db, table):
    columns = [row[1] for row in db.execute(f'PRAGMA table_info("{table}")')]
    rows = db.execute(f'SELECT {", ".join(columns)} FROM "{table}"').fetchall()
    if table == "meta":
        rows = [r for r in rows if r[0] != "built_at"]
    return columns, collections.Counter(rows)


def same(a_path, b_path):
    a = sqlite3.connect(f"file:{a_path}?mode=ro", uri=True)
    b = sqlite3.connect(f"file:{b_path}?mode=ro", uri=True)

    def tables(db):
        return sorted(
            name
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if name not in SKIPPED and not name.startswith("medicine_name_fts")
        )

    problems = []
    if tables(a) != tables(b):
        problems.append({"tables": [tables(a), tables(b)]})
    compared = 0
    for table in tables(a):
        if table not in tables(b):
            continue
        columns_a, rows_a = table_rows(a, table)
        columns_b, rows_b = table_rows(b, table)
        compared += sum(rows_a.values())
        if columns_a != columns_b:
            problems.append({"table": table, "columns": [columns_a, columns_b]})
        elif rows_a != rows_b:
            only_a = list((rows_a - rows_b).elements())[:3]
            only_b = list((rows_b - rows_a).elements())[:3]
            problems.append({"table": table, "onlyInA": only_a, "onlyInB": only_b})
    # The search index answers the same (it is an index over medicine_name, compared above).
    for term in ("a", "e"):
        q = "SELECT count(*) FROM medicine_name_fts WHERE medicine_name_fts MATCH ?"
        if a.execute(q, (term + "*",)).fetchone() != b.execute(q, (term + "*",)).fetchone():
            problems.append({"fts": term})
    print(json.dumps({"rowsCompared": compared, "problems": problems}, default=str))
    return 1 if problems else 0


def ndjson(path):
    lines, types, keys = 0, set(), []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            lines += 1
            types.add(doc["type"])
            keys.append(doc["entityKey"])
    print(json.dumps({"lines": lines, "types": sorted(types), "keys": keys}))
    return 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "answers" and len(sys.argv) == 4:
        sys.exit(answers(sys.argv[2], sys.argv[3]))
    if command == "same" and len(sys.argv) == 4:
        sys.exit(same(sys.argv[2], sys.argv[3]))
    if command == "ndjson" and len(sys.argv) == 3:
        sys.exit(ndjson(sys.argv[2]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
