#!/usr/bin/env python3
"""Derives Mappings/geo/postcodes.csv: one row per Belgian postcode with its place names and a
centroid, from the two public lists in ../shared/reference/geo/ (see its SOURCE.txt).

Neither list is authoritative (bpost and Statbel/NGI are; neither is openly available here), and
both have known errors, so the derivation is conservative and says what it did per postcode:

- the points of each list for the postcode inside Belgium's bounding box, without repeats
  (adriaanvermeire lists a point once per FR and NL name);
- the centroid is the median of jief's points (bpost's postcodes, geocoded), or of
  adriaanvermeire's where jief has none: adriaanvermeire has documented wrong points (1190
  Forest/Vorst at 51.08,5.02; 1081 Koekelberg at lon 4.02) and would outvote jief otherwise;
  points more than 15 km from the median are dropped as outliers and the median recomputed;
- `flags` records: `outlier-dropped`, `spread-out` (points far apart, none in the middle),
  `only-jief` / `only-adriaanvermeire`, `sources-disagree-Nkm` (the other list's median is N > 5 km
  away: one of them is wrong), `no-coordinates` (special postcodes: parliaments, 0612, ...);
- `names` are the distinct place names of both lists (FR from jief's bpost-style list, NL/FR
  unlabelled from adriaanvermeire), `|`-separated; the language is not known from the sources.

Run: python3 Mappings/scripts/derive_postcodes.py [../shared/reference/geo]
"""
import csv
import json
import math
import pathlib
import statistics
import sys

GEO = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2].parent / "shared/reference/geo")
OUT = pathlib.Path(__file__).resolve().parents[1] / "geo/postcodes.csv"
# The importer bundles the same table as a resource (SwiftPM copies no files from outside a target).
BUNDLED = pathlib.Path(__file__).resolve().parents[2] / "Sources/RegistryCore/Resources/postcodes.csv"
BELGIUM = (49.49, 51.51, 2.54, 6.41)  # lat min/max, lon min/max


def km(a, b):
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 6371.0088 * 2 * math.asin(math.sqrt(h))


def inside(p):
    return BELGIUM[0] <= p[0] <= BELGIUM[1] and BELGIUM[2] <= p[1] <= BELGIUM[3]


def median(points):
    return (statistics.median(p[0] for p in points), statistics.median(p[1] for p in points))


points = {}   # postcode -> list of (lat, lon, source)
names = {}    # postcode -> ordered distinct names
def add_name(code, name):
    name = " ".join(name.split())
    if name and name not in names.setdefault(code, []):
        names[code].append(name)

for row in csv.reader(open(GEO / "jief_zipcode-belgium.csv", encoding="utf-8")):
    code, city, lon, lat = row[0].zfill(4), row[1], float(row[2]), float(row[3])
    points.setdefault(code, []).append((lat, lon, "jief"))
    add_name(code, city)
for row in csv.reader(open(GEO / "jief_zipcodes_num_fr.csv", encoding="utf-8", errors="replace")):
    if row and row[0].isdigit():
        code = row[0].zfill(4)
        add_name(code, row[1].title() if row[1].isupper() else row[1])
        points.setdefault(code, [])
for entry in json.load(open(GEO / "adriaanvermeire_belgium.json", encoding="utf-8")):
    code = entry["zipcode"].zfill(4)
    add_name(code, entry["name"])
    points.setdefault(code, [])
    if entry["latitude"] and entry["longitude"]:
        points[code].append((float(entry["latitude"]), float(entry["longitude"]), "adriaanvermeire"))

rows = []
for code in sorted(points):
    flags = []
    usable = [p for p in points[code] if inside(p)]
    if len(usable) < len(points[code]):
        flags.append("outside-belgium-dropped")
    # Each source's distinct points (adriaanvermeire repeats a point under its FR and NL name).
    by_source = {}
    for p in usable:
        if (p[0], p[1]) not in by_source.setdefault(p[2], []):
            by_source[p[2]].append((p[0], p[1]))
    lat = lon = ""
    if by_source:
        # jief's list (bpost postcodes, geocoded) leads; adriaanvermeire's has documented wrong
        # points (1190 Forest/Vorst, 1081 Koekelberg), so it fills in only where jief has none.
        primary = "jief" if "jief" in by_source else "adriaanvermeire"
        chosen = by_source[primary]
        centre = median([(p[0], p[1], primary) for p in chosen])
        kept = [p for p in chosen if km(p, centre) <= 15]
        if not kept:
            kept = chosen
            flags.append("spread-out")
        elif len(kept) < len(chosen):
            flags.append("outlier-dropped")
            centre = median([(p[0], p[1], primary) for p in kept])
        if len(by_source) == 1:
            flags.append(f"only-{primary}")
        else:
            other = median([(p[0], p[1], "") for p in by_source["adriaanvermeire"]])
            if km(other, centre) > 5:
                flags.append(f"sources-disagree-{km(other, centre):.0f}km")
        lat, lon = f"{centre[0]:.5f}", f"{centre[1]:.5f}"
    else:
        flags.append("no-coordinates")
    rows.append([code, "|".join(names.get(code, [])), lat, lon, len(points[code]), " ".join(flags)])

OUT.parent.mkdir(parents=True, exist_ok=True)
with open(OUT, "w", newline="", encoding="utf-8") as f:
    writer = csv.writer(f, lineterminator="\n")
    writer.writerow(["postcode", "names", "latitude", "longitude", "points", "flags"])
    writer.writerows(rows)
BUNDLED.parent.mkdir(parents=True, exist_ok=True)
BUNDLED.write_bytes(OUT.read_bytes())
print(f"wrote {OUT} (and its bundled copy {BUNDLED.relative_to(BUNDLED.parents[3])}): {len(rows)} postcodes, "
      f"{sum(1 for r in rows if r[2])} with a centroid, "
      f"{sum(1 for r in rows if 'outlier-dropped' in r[5])} with outliers dropped")
