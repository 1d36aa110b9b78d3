#!/usr/bin/env bash
# Writes the IDMP mappings the registry derives in its database (migration 0014) as CSV files into
# DIR, for review: SAM form/route codes with their EDQM and RMS terms, SAM substances with their
# SMS matches, and every AMP's coded state on a date. Usage: export_idmp_mappings.sh DIR [DATE]
# (DATABASE_URL, or the embedded cluster of `registry db start`).
set -euo pipefail
out="${1:?usage: export_idmp_mappings.sh DIR [DATE]}"
at="${2:-$(date +%F)}"
url="${DATABASE_URL:-postgres://registry@127.0.0.1:${REGISTRY_DB_PORT:-54329}/registry}"
psql_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)/psql"
mkdir -p "$out"
"$psql_bin" "$url" -v ON_ERROR_STOP=1 -q <<SQL
\copy (SELECT m.kind, m.sam_code, m.edqm_code, x.term_id, t.name_en, t.status FROM idmp_sam_edqm m LEFT JOIN spor_rms_source_code x ON x.source_id = '100000073361' AND x.code = m.edqm_code LEFT JOIN spor_rms_term t ON t.term_id = x.term_id ORDER BY 1, 2) TO '$out/sam-edqm-rms.csv' WITH CSV HEADER
\copy (SELECT sam_code, name_en, array_to_string(substance_ids, '|') AS sms_substance_ids FROM idmp_sam_substance_sms ORDER BY sam_code) TO '$out/sam-substance-sms.csv' WITH CSV HEADER
\copy (SELECT amp_code, (idmp ->> 'fullyCoded') AS fully_coded, idmp -> 'blockers' AS blockers FROM idmp_amp(NULL, '$at') ORDER BY amp_code) TO '$out/amp-idmp-$at.csv' WITH CSV HEADER
SQL
echo "wrote $out/sam-edqm-rms.csv, $out/sam-substance-sms.csv, $out/amp-idmp-$at.csv"
