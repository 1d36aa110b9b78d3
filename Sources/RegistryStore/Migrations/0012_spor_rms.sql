-- SPOR RMS referential lists: one row per term (its document merges the export's rows of every
-- language), its names for search, and its source mappings (EDQM, UCUM, XEVMPD, ...) for look-ups
-- by source code.

CREATE TABLE spor_rms_term (
    term_id        text        PRIMARY KEY,
    list_id        text        NOT NULL,
    status         text        NOT NULL,
    name_en        text,
    document       jsonb       NOT NULL,
    content_hash   text        NOT NULL,
    changed_run_id bigint      REFERENCES import_run (id),
    changed_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX spor_rms_term_list ON spor_rms_term (list_id, term_id);

CREATE TABLE spor_rms_term_name (
    term_id  text NOT NULL REFERENCES spor_rms_term (term_id) ON DELETE CASCADE,
    language text NOT NULL,
    name     text NOT NULL,
    folded   text NOT NULL,   -- lower(unaccent(name)), what q= is matched against
    PRIMARY KEY (term_id, language)
);
CREATE INDEX spor_rms_term_name_trgm ON spor_rms_term_name USING gin (folded gin_trgm_ops);

CREATE TABLE spor_rms_source_code (
    source_id text    NOT NULL,   -- RMS id of the mapping source (100000073361 = EDQM)
    code      text    NOT NULL,
    term_id   text    NOT NULL REFERENCES spor_rms_term (term_id) ON DELETE CASCADE,
    main      boolean NOT NULL,
    PRIMARY KEY (source_id, code, term_id)
);
CREATE INDEX spor_rms_source_code_term ON spor_rms_source_code (term_id);
