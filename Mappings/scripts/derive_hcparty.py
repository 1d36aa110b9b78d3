#!/usr/bin/env python3
"""Derives Mappings/providers/cd-hcparty.csv: the eHealth CD-HCPARTY codes (professions,
organisation types, departments) with their FR/NL/DE/EN labels, from
../shared/reference/providers/cd-hcparty.csv (itself extracted from hl7-be/terminology
HCParty.fsh, CodeSystem v2.1.2, HL7 FHIR licence = CC0; see that folder's SOURCE.txt).

Kept: code, kind (person | organization | department | other), labels per language (the display
in English when a language has no designation, flagged in `missing`). Sorted by kind then code.

Run: python3 Mappings/scripts/derive_hcparty.py [../shared/reference/providers]
"""
import csv
import pathlib
import sys

SOURCE = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2].parent / "shared/reference/providers")
OUT = pathlib.Path(__file__).resolve().parents[1] / "providers/cd-hcparty.csv"

rows = []
for row in csv.DictReader(open(SOURCE / "cd-hcparty.csv", encoding="utf-8")):
    labels = {lang: (row.get(column) or "").strip() for lang, column in
              [("fr", "fr-BE"), ("nl", "nl-BE"), ("de", "de"), ("en", "en")]}
    missing = [lang for lang, text in labels.items() if not text]
    for lang in missing:
        labels[lang] = row["display"].strip()
    rows.append([row["code"], row["kind"], labels["fr"], labels["nl"], labels["de"], labels["en"], " ".join(missing)])
rows.sort(key=lambda r: (r[1], r[0]))
OUT.parent.mkdir(parents=True, exist_ok=True)
with open(OUT, "w", newline="", encoding="utf-8") as f:
    writer = csv.writer(f, lineterminator="\n")
    writer.writerow(["code", "kind", "fr", "nl", "de", "en", "missing"])
    writer.writerows(rows)
# The importer bundles a copy (labels in API answers, profession checks).
BUNDLED = pathlib.Path(__file__).resolve().parents[2] / "Sources/RegistryCore/Resources/cd-hcparty.csv"
BUNDLED.write_bytes(OUT.read_bytes())
print(f"wrote {OUT} (and its bundled copy): {len(rows)} codes ({sum(1 for r in rows if r[1] == 'person')} professions)")
