import Foundation
import Logging
import PostgresNIO
import RegistryStore
import ProviderReaders
import RegistryCore

/// Imports CoBRHA snapshots (one per source) in one transaction: stream each file into a staging
/// table while checking it, refuse the run on a fatal finding or a mass deletion, replace each
/// source's facts, re-merge every actor whose facts changed, diff the merged documents by content
/// hash and emit `cobrha.professional.*` / `cobrha.institution.*` events, then refresh the
/// practice search rows of the professionals that changed. The same snapshots twice change nothing.
package struct CoBRHAImportPipeline: Sendable {
    let client: PostgresClient
    let logger: Logger

    package init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The snapshot files of PATH: the file itself, or the `*.xml` files of a folder.
    package static func files(at path: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ImportError.input("\(path) does not exist")
        }
        guard isDirectory.boolValue else { return [path] }
        let names = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".xml") }.sorted()
        guard !names.isEmpty else { throw ImportError.input("\(path) holds no CoBRHA snapshot (*.xml)") }
        return names.map { (path as NSString).appendingPathComponent($0) }
    }

    struct RunState {
        var summary: ImportSummary
        var findings: [QualityFinding] = []
        var refusal: String?
        var sources: [String] = []
        var rejected: [[String?]] = []
    }

    package func run(path: String, maxDeleteShare: Double = 0.05, mapper: CoBRHAActorMapper = .init()) async throws
        -> ImportSummary
    {
        let files = try Self.files(at: path)
        return try await ImportRunDriver(client: client, logger: logger).run(.cobrha, source: path) { run in
            var state = RunState(summary: run.summary)
            try await run.transaction {
                let connection = run.connection
                try await connection.executeScript(
                    """
                    CREATE TEMP TABLE stage_fact (actor_type text, actor_key text, source text, document jsonb,
                                                  line int) ON COMMIT DROP;
                    CREATE TEMP TABLE stage_rejected (actor_type text, actor_key text, source text) ON COMMIT DROP;
                    """)
                try await connection.createEventStage(logger: logger)
                for file in files {
                    try await read(file, mapper: mapper, connection: connection, state: &state)
                    if state.refusal != nil { break }
                }
                if state.refusal == nil { try await checkStaged(connection, state: &state) }
                if state.refusal == nil {
                    try await diffAndGate(connection, maxDeleteShare: maxDeleteShare, state: &state)
                }
                if state.refusal == nil { try await apply(connection, state: &state) }
                run.summary = state.summary
                run.findings = state.findings
                if let refusal = state.refusal { throw run.refusal(refusal) }
            }
        }
    }

    // MARK: Reading

    func read(_ path: String, mapper: CoBRHAActorMapper, connection: PostgresConnection, state: inout RunState)
        async throws
    {
        let reader: CoBRHASnapshotReader
        do {
            reader = try CoBRHASnapshotReader(path: path, mapper: mapper)
        } catch {
            state.findings.append(QualityFinding(rule: CoBRHAQualityRules.unreadable, file: path, message: "\(error)"))
            state.refusal = "\(path) cannot be read"
            return
        }
        defer { reader.close() }
        var ssinLines: [String: Int] = [:]
        var nihiiOwners: [String: String] = [:]
        var duplicateKeys: Set<String> = []
        var facts = 0
        var source: String?
        try await connection.copyFrom(
            table: "stage_fact", columns: ["actor_type", "actor_key", "source", "line", "document"], logger: logger
        ) { writer in
            var buffer = CopyTextBuffer()
            while let batch = reader.nextBatch() {
                source = reader.source
                for fact in batch {
                    facts += 1
                    if fact.kind == .professional {
                        if let first = ssinLines.updateValue(fact.line, forKey: fact.key) {
                            duplicateKeys.insert(fact.key)
                            state.findings.append(
                                QualityFinding(
                                    rule: CoBRHAQualityRules.ssinTwice, entityType: "professional",
                                    entityKey: CoBRHAActorMapper.masked(fact.key), file: reader.file, line: fact.line,
                                    message:
                                        "the same SSIN is on the records at lines \(first) and \(fact.line); both are rejected"
                                ))
                        }
                        for profession in fact.document["professions"].items {
                            guard let nihii = profession["nihii"]?.stringValue else { continue }
                            if let owner = nihiiOwners.updateValue(fact.key, forKey: nihii), owner != fact.key {
                                duplicateKeys.formUnion([owner, fact.key])
                                state.findings.append(
                                    QualityFinding(
                                        rule: CoBRHAQualityRules.nihiiTwice, entityType: "professional",
                                        entityKey: CoBRHAActorMapper.masked(fact.key), file: reader.file,
                                        line: fact.line,
                                        message: "NIHII \(nihii) is also given to another person; both are rejected"))
                            }
                        }
                    }
                    buffer.appendRow(
                        [fact.kind.rawValue, fact.key, reader.source, String(fact.line)],
                        lastColumnBytes: fact.document.canonicalBytes)
                }
                if buffer.byteCount >= 1 << 20 { try await writer.write(buffer.take()) }
            }
            if buffer.byteCount > 0 { try await writer.write(buffer.take()) }
        }
        state.findings.append(contentsOf: reader.findings)
        state.summary.files.append(
            .init(
                name: reader.file, kind: "cobrha:\(source ?? reader.source ?? "?")", bytes: reader.bytesRead,
                sha256: "", entities: reader.actorsRead))
        if reader.isRefused {
            state.refusal = "\(reader.file) is not a usable CoBRHA snapshot (see the fatal findings)"
            return
        }
        guard let source = reader.source else { return }
        if state.sources.contains(source) {
            state.findings.append(
                QualityFinding(
                    rule: CoBRHAQualityRules.duplicateSource, file: reader.file,
                    message: "a second snapshot of source \(source) in one run"))
            state.refusal = "two snapshots of source \(source)"
            return
        }
        state.sources.append(source)
        var rejected = reader.rejected.map { [$0.kind.rawValue, $0.key, source] as [String?] }
        rejected += duplicateKeys.map { ["professional", $0, source] }
        try await connection.copyRows(
            table: "stage_rejected", columns: ["actor_type", "actor_key", "source"], rows: rejected, logger: logger)
        try await connection.execute(
            """
            DELETE FROM stage_fact s USING stage_rejected r
            WHERE s.actor_type = r.actor_type AND s.actor_key = r.actor_key AND s.source = r.source
            """, logger: logger)
        var counts = state.summary.counts
        counts["professional", default: .init()].read += ssinLines.count
        counts["professional", default: .init()].rejected += rejected.filter { $0[0] == "professional" }.count
        counts["institution", default: .init()].read += facts - ssinLines.count
        counts["institution", default: .init()].rejected += rejected.filter { $0[0] == "institution" }.count
        state.summary.counts = counts
    }

    /// Checks needing every source: a NIHII another person holds in another source's facts.
    func checkStaged(_ connection: PostgresConnection, state: inout RunState) async throws {
        try await connection.execute(
            """
            CREATE TEMP TABLE stage_fact_nihii ON COMMIT DROP AS
            SELECT s.actor_key, s.source, s.line, p ->> 'nihii' AS nihii
            FROM stage_fact s, jsonb_array_elements(s.document -> 'professions') p
            WHERE s.actor_type = 'professional' AND p ? 'nihii'
            """, logger: logger)
        let conflicts = try await connection.query(
            """
            SELECT DISTINCT s.actor_key, s.source, s.line, s.nihii FROM stage_fact_nihii s
            JOIN actor_fact f ON f.actor_type = 'professional' AND f.actor_key <> s.actor_key
                AND f.source <> s.source AND f.source <> ALL (\(state.sources)::text[])
            JOIN LATERAL jsonb_array_elements(f.document -> 'professions') p ON p ->> 'nihii' = s.nihii
            UNION
            SELECT DISTINCT a.actor_key, a.source, a.line, a.nihii FROM stage_fact_nihii a
            JOIN stage_fact_nihii b ON a.nihii = b.nihii AND a.actor_key <> b.actor_key AND a.source <> b.source
            """, logger: logger)
        var rejected: [[String?]] = []
        for try await (key, source, line, nihii) in conflicts.decode((String, String, Int, String).self) {
            rejected.append(["professional", key, source])
            state.findings.append(
                QualityFinding(
                    rule: CoBRHAQualityRules.nihiiTwice, entityType: "professional",
                    entityKey: CoBRHAActorMapper.masked(key), file: source, line: line,
                    message:
                        "NIHII \(nihii) belongs to another person according to another source; this record is rejected")
            )
        }
        guard !rejected.isEmpty else { return }
        state.summary.counts["professional", default: .init()].rejected += rejected.count
        try await connection.copyRows(
            table: "stage_rejected", columns: ["actor_type", "actor_key", "source"], rows: rejected, logger: logger)
        try await connection.execute(
            """
            DELETE FROM stage_fact s USING stage_rejected r
            WHERE s.actor_type = r.actor_type AND s.actor_key = r.actor_key AND s.source = r.source
            """, logger: logger)
    }

    // MARK: Diff and gate

    func diffAndGate(_ connection: PostgresConnection, maxDeleteShare: Double, state: inout RunState) async throws {
        try await connection.executeScript(
            """
            CREATE INDEX ON stage_fact (actor_type, actor_key, source);
            ANALYZE stage_fact;
            """)
        try await connection.execute(
            """
            CREATE TEMP TABLE stage_fact_change ON COMMIT DROP AS
            SELECT s.actor_type, s.actor_key, s.source, CASE WHEN f.actor_key IS NULL THEN 'created' ELSE 'updated' END AS kind,
                   s.document, encode(sha256(convert_to(s.document::text, 'UTF8')), 'hex') AS content_hash
            FROM stage_fact s
            LEFT JOIN actor_fact f ON f.actor_type = s.actor_type AND f.actor_key = s.actor_key AND f.source = s.source
            WHERE f.actor_key IS NULL OR f.content_hash <> encode(sha256(convert_to(s.document::text, 'UTF8')), 'hex')
            UNION ALL
            SELECT f.actor_type, f.actor_key, f.source, 'deleted', NULL, NULL FROM actor_fact f
            WHERE f.source = ANY (\(state.sources)::text[])
              AND NOT EXISTS (SELECT 1 FROM stage_fact s
                              WHERE s.actor_type = f.actor_type AND s.actor_key = f.actor_key AND s.source = f.source)
              AND NOT EXISTS (SELECT 1 FROM stage_rejected r
                              WHERE r.actor_type = f.actor_type AND r.actor_key = f.actor_key AND r.source = f.source)
            """, logger: logger)
        let rows = try await connection.query(
            """
            SELECT c.source, c.actor_type, count(*) FILTER (WHERE c.kind = 'deleted'),
                   (SELECT count(*) FROM actor_fact f WHERE f.source = c.source AND f.actor_type = c.actor_type)
            FROM stage_fact_change c GROUP BY c.source, c.actor_type
            """, logger: logger)
        for try await (source, type, deleted, current) in rows.decode((String, String, Int64, Int64).self) {
            if current > 0, Double(deleted) / Double(current) > maxDeleteShare {
                state.findings.append(
                    QualityFinding(
                        rule: CoBRHAQualityRules.massDeletion, entityType: type, file: source,
                        message:
                            "the \(source) snapshot would remove \(deleted) of its \(current) \(type)s, more than \(Int(maxDeleteShare * 100))%"
                    ))
                state.refusal =
                    "the \(source) snapshot would remove \(deleted) of \(current) \(type)s (more than \(Int(maxDeleteShare * 100))%)"
            }
        }
    }

    // MARK: Apply

    func apply(_ connection: PostgresConnection, state: inout RunState) async throws {
        let runId = state.summary.runId
        try await connection.executeScript(
            """
            DELETE FROM actor_fact f USING stage_fact_change c
            WHERE c.kind = 'deleted' AND f.actor_type = c.actor_type AND f.actor_key = c.actor_key AND f.source = c.source;
            INSERT INTO actor_fact (actor_type, actor_key, source, document, content_hash, run_id)
            SELECT actor_type, actor_key, source, document, content_hash, current_setting('registry.run_id')::bigint FROM stage_fact_change
            WHERE kind <> 'deleted'
            ON CONFLICT (actor_type, actor_key, source) DO UPDATE
                SET document = EXCLUDED.document, content_hash = EXCLUDED.content_hash, run_id = EXCLUDED.run_id;
            CREATE TEMP TABLE stage_affected ON COMMIT DROP AS
            SELECT actor_type, actor_key, row_number() OVER (ORDER BY actor_type, actor_key) AS n
            FROM (SELECT DISTINCT actor_type, actor_key FROM stage_fact_change) x;
            CREATE TEMP TABLE stage_merged (actor_type text, actor_key text, document jsonb) ON COMMIT DROP;
            """)
        try await merge(connection)
        try await connection.executeScript(
            """
            CREATE INDEX ON stage_merged (actor_type, actor_key);
            ANALYZE stage_merged;
            ANALYZE stage_affected;
            """)
        try await applyProfessionals(connection, runId: runId, state: &state)
        try await applyInstitutions(connection, runId: runId, state: &state)
        let events = try await connection.appendStagedEvents(runId: runId, logger: logger)
        state.summary.eventsEmitted = events.count
        state.summary.firstEventSeq = events.first
        state.summary.lastEventSeq = events.last
        try await PracticeSearchIndex.refresh(
            connection,
            nihiisOf:
                "SELECT n.nihii FROM stage_professional_change c JOIN stage_professional_nihii_old n ON n.professional_id = c.id UNION SELECT n.nihii FROM professional_nihii n JOIN stage_professional_change c ON c.id = n.professional_id",
            logger: logger)
    }

    /// Merges the facts of every affected actor, batch by batch (bounded memory).
    func merge(_ connection: PostgresConnection) async throws {
        let total =
            try await connection.query("SELECT count(*) FROM stage_affected", logger: logger).decode(Int64.self).first {
                _ in true
            } ?? 0
        let batch: Int64 = 20_000
        var low: Int64 = 1
        while low <= total {
            let high = low + batch - 1
            let rows = try await connection.query(
                """
                SELECT a.actor_type, a.actor_key, f.source, f.document::text
                FROM stage_affected a JOIN actor_fact f ON f.actor_type = a.actor_type AND f.actor_key = a.actor_key
                WHERE a.n BETWEEN \(low) AND \(high) ORDER BY a.n, f.source
                """, logger: logger)
            var grouped: [(type: String, key: String, facts: [(source: String, document: JSONValue)])] = []
            for try await (type, key, source, text) in rows.decode((String, String, String, String).self) {
                let document = try JSONValue.parse(text)
                if let last = grouped.last, last.type == type, last.key == key {
                    grouped[grouped.count - 1].facts.append((source, document))
                } else {
                    grouped.append((type, key, [(source, document)]))
                }
            }
            try await connection.copyFrom(
                table: "stage_merged", columns: ["actor_type", "actor_key", "document"], logger: logger
            ) { writer in
                var buffer = CopyTextBuffer()
                for actor in grouped {
                    let merged =
                        actor.type == "professional"
                        ? ActorMerge.professional(actor.facts) : ActorMerge.institution(actor.facts)
                    buffer.appendRow([actor.type, actor.key], lastColumnBytes: merged.canonicalBytes)
                    if buffer.byteCount >= 1 << 20 { try await writer.write(buffer.take()) }
                }
                if buffer.byteCount > 0 { try await writer.write(buffer.take()) }
            }
            low = high + 1
        }
    }

    func applyProfessionals(_ connection: PostgresConnection, runId: Int64, state: inout RunState) async throws {
        try await connection.executeScript(
            """
            CREATE TEMP TABLE stage_professional_change ON COMMIT DROP AS
            SELECT coalesce(p.id, 'hcp_' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 16)) AS id,
                   a.actor_key AS ssin,
                   CASE WHEN m.actor_key IS NULL THEN 'deleted' WHEN p.id IS NULL THEN 'created' ELSE 'updated' END AS kind,
                   m.document, encode(sha256(convert_to(m.document::text, 'UTF8')), 'hex') AS content_hash,
                   p.document AS old_document
            FROM stage_affected a
            LEFT JOIN stage_merged m ON m.actor_type = a.actor_type AND m.actor_key = a.actor_key
            LEFT JOIN professional p ON p.ssin = a.actor_key
            WHERE a.actor_type = 'professional' AND (m.actor_key IS NOT NULL OR p.id IS NOT NULL)
              AND (p.id IS NULL OR m.actor_key IS NULL
                   OR p.content_hash <> encode(sha256(convert_to(m.document::text, 'UTF8')), 'hex'));
            CREATE TEMP TABLE stage_professional_nihii_old ON COMMIT DROP AS
            SELECT n.* FROM professional_nihii n JOIN stage_professional_change c ON c.id = n.professional_id;
            """)
        try await connection.execute(
            """
            INSERT INTO stage_event (entity_type, entity_key, type, key, changed, href)
            SELECT 'professional', c.id, 'cobrha.professional.' || c.kind,
                   jsonb_build_object('id', c.id,
                       'nihii', coalesce((SELECT jsonb_agg(DISTINCT p ->> 'nihii') FROM jsonb_array_elements(coalesce(c.document, c.old_document) -> 'professions') p WHERE p ? 'nihii'), '[]'),
                       'profession', coalesce((SELECT jsonb_agg(DISTINCT p ->> 'code') FROM jsonb_array_elements(coalesce(c.document, c.old_document) -> 'professions') p), '[]')),
                   CASE c.kind WHEN 'updated' THEN ARRAY(
                           SELECT k FROM jsonb_object_keys(c.document || c.old_document) k
                           WHERE c.document -> k IS DISTINCT FROM c.old_document -> k AND k <> 'ssin' ORDER BY k)
                       WHEN 'created' THEN ARRAY(SELECT k FROM jsonb_object_keys(c.document) k WHERE k <> 'ssin' ORDER BY k)
                       ELSE '{}'::text[] END,
                   '/v1/providers/' || c.id
            FROM stage_professional_change c
            """, logger: logger)
        try await connection.executeScript(
            """
            DELETE FROM professional p USING stage_professional_change c WHERE c.kind = 'deleted' AND p.id = c.id;
            INSERT INTO professional (id, ssin, document, content_hash, changed_run_id)
            SELECT id, ssin, document, content_hash, current_setting('registry.run_id')::bigint FROM stage_professional_change WHERE kind <> 'deleted'
            ON CONFLICT (id) DO UPDATE SET document = EXCLUDED.document, content_hash = EXCLUDED.content_hash,
                changed_run_id = EXCLUDED.changed_run_id, changed_at = now();
            DELETE FROM professional_nihii n USING stage_professional_change c WHERE n.professional_id = c.id;
            INSERT INTO professional_nihii (nihii, professional_id, profession)
            SELECT DISTINCT ON (p ->> 'nihii') p ->> 'nihii', c.id, p ->> 'code'
            FROM stage_professional_change c, jsonb_array_elements(c.document -> 'professions') p
            WHERE c.kind <> 'deleted' AND p ? 'nihii'
            ORDER BY p ->> 'nihii', p ->> 'from' DESC;
            """)
        let rows = try await connection.query(
            """
            SELECT count(*) FILTER (WHERE kind = 'created'), count(*) FILTER (WHERE kind = 'updated'),
                   count(*) FILTER (WHERE kind = 'deleted')
            FROM stage_professional_change
            """, logger: logger)
        for try await (created, updated, deleted) in rows.decode((Int64, Int64, Int64).self) {
            state.summary.counts["professional", default: .init()].created = Int(created)
            state.summary.counts["professional", default: .init()].updated = Int(updated)
            state.summary.counts["professional", default: .init()].deleted = Int(deleted)
        }
        var counts = state.summary.counts["professional", default: .init()]
        counts.accepted = counts.read - counts.rejected
        state.summary.counts["professional"] = counts
    }

    func applyInstitutions(_ connection: PostgresConnection, runId: Int64, state: inout RunState) async throws {
        try await connection.executeScript(
            """
            CREATE TEMP TABLE stage_institution_change ON COMMIT DROP AS
            SELECT a.actor_key AS key,
                   CASE WHEN m.actor_key IS NULL THEN 'deleted' WHEN i.key IS NULL THEN 'created' ELSE 'updated' END AS kind,
                   m.document, encode(sha256(convert_to(m.document::text, 'UTF8')), 'hex') AS content_hash,
                   i.document AS old_document
            FROM stage_affected a
            LEFT JOIN stage_merged m ON m.actor_type = a.actor_type AND m.actor_key = a.actor_key
            LEFT JOIN institution i ON i.key = a.actor_key AND i.source = 'cobrha'
            WHERE a.actor_type = 'institution' AND (m.actor_key IS NOT NULL OR i.key IS NOT NULL)
              AND (i.key IS NULL OR m.actor_key IS NULL
                   OR i.content_hash <> encode(sha256(convert_to(m.document::text, 'UTF8')), 'hex'));
            INSERT INTO stage_event (entity_type, entity_key, type, key, changed, href)
            SELECT 'institution', c.key, 'cobrha.institution.' || c.kind,
                   jsonb_build_object(split_part(c.key, ':', 1), split_part(c.key, ':', 2)),
                   CASE c.kind WHEN 'updated' THEN ARRAY(
                           SELECT k FROM jsonb_object_keys(c.document || c.old_document) k
                           WHERE c.document -> k IS DISTINCT FROM c.old_document -> k ORDER BY k)
                       WHEN 'created' THEN ARRAY(SELECT k FROM jsonb_object_keys(c.document) k ORDER BY k)
                       ELSE '{}'::text[] END,
                   '/v1/institutions/' || c.key
            FROM stage_institution_change c;
            DELETE FROM institution i USING stage_institution_change c WHERE c.kind = 'deleted' AND i.key = c.key;
            INSERT INTO institution (key, kind, source, document, content_hash, postcode, latitude, longitude, changed_run_id)
            SELECT c.key, coalesce(c.document ->> 'kind', ''), 'cobrha', c.document, c.content_hash,
                   c.document -> 'address' ->> 'postcode', (c.document -> 'position' ->> 'latitude')::double precision,
                   (c.document -> 'position' ->> 'longitude')::double precision, current_setting('registry.run_id')::bigint
            FROM stage_institution_change c WHERE c.kind <> 'deleted'
            ON CONFLICT (key) DO UPDATE SET kind = EXCLUDED.kind, document = EXCLUDED.document,
                content_hash = EXCLUDED.content_hash, postcode = EXCLUDED.postcode, latitude = EXCLUDED.latitude,
                longitude = EXCLUDED.longitude, changed_run_id = EXCLUDED.changed_run_id, changed_at = now();
            DELETE FROM institution_identifier i USING stage_institution_change c WHERE i.institution_key = c.key;
            INSERT INTO institution_identifier (scheme, value, institution_key)
            SELECT DISTINCT x.key, x.value, c.key
            FROM stage_institution_change c, jsonb_each_text(c.document -> 'identifiers') x
            WHERE c.kind <> 'deleted';
            """)
        let rows = try await connection.query(
            """
            SELECT count(*) FILTER (WHERE kind = 'created'), count(*) FILTER (WHERE kind = 'updated'),
                   count(*) FILTER (WHERE kind = 'deleted')
            FROM stage_institution_change
            """, logger: logger)
        for try await (created, updated, deleted) in rows.decode((Int64, Int64, Int64).self) {
            var counts = state.summary.counts["institution", default: .init()]
            counts.created = Int(created)
            counts.updated = Int(updated)
            counts.deleted = Int(deleted)
            counts.accepted = counts.read - counts.rejected
            state.summary.counts["institution"] = counts
        }
    }
}
