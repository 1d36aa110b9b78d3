import Crypto
import Foundation
import Logging
import PostgresNIO
import RegistryStore
import RegistryCore
import SAMReaders

/// Options of a SAM import run.
package struct SAMImportOptions: Sendable {
    /// The largest share of the current entities of one type a run may delete (default 5%).
    package var maxDeleteShare: Double = 0.05
    /// The longest text value kept; longer values reject their entity.
    package var maxTextBytes: Int = 1 << 20
    /// Prints progress lines while files are read.
    package var progress: (@Sendable (String) -> Void)?

    package init(
        maxDeleteShare: Double = 0.05, maxTextBytes: Int = 1 << 20, progress: (@Sendable (String) -> Void)? = nil
    ) {
        self.maxDeleteShare = maxDeleteShare
        self.maxTextBytes = maxTextBytes
        self.progress = progress
    }
}

/// Imports a SAM v2 export: stream → check → COPY to staging → gate → diff → apply + events.
///
/// Everything that changes data happens in one transaction on one connection, under a
/// session advisory lock, so a refused or failed run leaves the registry exactly as it was
/// and a second import waits its turn. The run itself (with its findings) is always recorded.
/// What is read is staged before that transaction, in unlogged scratch tables that a first
/// import's second connection reads to build the search index while the first one applies; the
/// transaction swaps that index in, so readers still see entities, events and index change at once.
package struct SAMImportPipeline: Sendable {
    package static var advisoryLockKey: Int64 { ImportDomain.sam.advisoryLockKey }
    static let maxStoredFindings = 200_000

    let client: PostgresClient
    let logger: Logger

    package init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Resolves the paths (zip, folder or files) and imports them; an unreadable or truncated
    /// input is a refused run, recorded with its finding.
    package func run(paths: [String], options: SAMImportOptions = .init()) async throws -> ImportSummary {
        let source = paths.joined(separator: " ")
        let input: SAMInput
        do {
            input = try SAMInput.resolve(paths: paths)
        } catch {
            return try await ImportRunDriver(client: client, logger: logger).run(.sam, source: source) { run in
                run.findings = [QualityFinding(rule: SAMQualityRules.unreadable, file: source, message: "\(error)")]
                throw run.refusal("the input cannot be read: \(error)")
            }
        }
        return try await run(input: input, options: options)
    }

    package func run(input: SAMInput, options: SAMImportOptions = .init()) async throws -> ImportSummary {
        try await ImportRunDriver(client: client, logger: logger).run(.sam, source: input.source) { run in
            try await run.connection.executeScript(Self.cleanUpSQL)
            do {
                try await runLocked(run, input: input, options: options)
            } catch {
                try? await run.connection.executeScript(Self.cleanUpSQL)
                throw error
            }
            try? await run.connection.executeScript(Self.cleanUpSQL)
        }
    }

    /// State gathered while reading, kept bounded (findings are capped, counts are exact).
    struct RunState {
        var summary: ImportSummary
        var findings: [QualityFinding] = []
        var droppedFindings = 0
        var refused: String?
        var scopeTypes: Set<String> = []
        var kindsSeen: [SAMExportFile: String] = [:]
        /// Entities of the run's types stored before it (what the gate compares deletions with).
        var storedEntities = 0
        /// No SAM entity of any type was stored when the run began (a first import).
        var startedEmpty = false
        /// Set when the reader staged or rejected the same hash of type and key twice: a duplicate
        /// or, rarely, a collision (the duplicate check in SQL decides, and runs only then).
        var mayHaveDuplicates = false

        mutating func add(_ new: [QualityFinding]) {
            for f in new {
                summary.findingsBySeverity[f.severity, default: 0] += 1
                if findings.count < SAMImportPipeline.maxStoredFindings {
                    findings.append(f)
                } else {
                    droppedFindings += 1
                }
            }
        }

        mutating func refuse(_ reason: String) {
            if refused == nil { refused = reason }
        }
    }

    /// One run under the driver (lock and run record held): reading stages outside the transaction,
    /// checks, the gate, apply and the search index inside it.
    func runLocked(_ run: ImportRun, input: SAMInput, options: SAMImportOptions) async throws {
        let connection = run.connection
        let clock = ContinuousClock()
        var state = RunState(summary: run.summary)
        var mark = clock.now
        func phase(_ name: String, _ state: inout RunState) {
            state.summary.phases.append((name, (clock.now - mark).seconds))
            mark = clock.now
        }
        /// What the driver records: the run's figures (its counted findings, its capped findings).
        func handOver(_ state: RunState) {
            run.summary = state.summary
            run.findings = state.findings
        }
        // Reading stages into committed, unlogged scratch tables (migration 0018), outside the
        // transaction: nothing of the registry's data changes before it begins.
        var alongside = false
        do {
            try await readFiles(connection: connection, input: input, options: options, state: &state)
            phase("read+copy", &state)
            if state.refused == nil {
                // No index on the staged entities: every later statement joins them as a whole (hash
                // joins; one scan is 0.15 s at scale 1.0), which was cheaper than building it (1.1 s).
                // Analysed here, before a second connection may read them too.
                try await connection.executeScript("ANALYZE sam_stage_entity")
                if state.startedEmpty && !state.mayHaveDuplicates {
                    alongside = try await SAMSearchIndex(logger: logger).isEmpty(connection: connection)
                }
            }
        } catch {
            handOver(state)
            throw error
        }
        // A first import builds its search index on a second connection while this one applies.
        let buildAlongside = alongside
        let builtAlongside = Task { await buildSearchIndexAlongside(buildAlongside) }
        do {
            try await run.transaction {
                // The import's statements are few and large with poor row estimates (JSON functions):
                // JIT compilation cost more than it saved (0.5 s of 1.2 s on one search-index statement).
                // A first import numbers 700k events in one sort: with less memory it spills to disk.
                try await connection.executeScript("SET LOCAL jit = off; SET LOCAL work_mem = '256MB'")
                if state.refused == nil {
                    try await checkStaged(connection: connection, input: input, state: &state)
                    phase("cross-checks", &state)
                }
                if state.refused == nil {
                    try await diffAndGate(connection: connection, options: options, state: &state)
                    phase("diff+gate", &state)
                }
                if let refused = state.refused {
                    // Nothing was applied: the counts say what was read, not what would have changed.
                    for key in state.summary.counts.keys {
                        state.summary.counts[key]?.created = 0
                        state.summary.counts[key]?.updated = 0
                        state.summary.counts[key]?.deleted = 0
                    }
                    handOver(state)
                    throw run.refusal(refused)
                }
                try await applyChanges(connection: connection, runId: run.runId, state: &state)
                phase("apply+events", &state)
                let searchIndex = SAMSearchIndex(logger: logger)
                if await builtAlongside.value, try await searchIndex.swapInBuilt(connection: connection) {
                    phase("search index wait+swap", &state)
                } else {
                    try await searchIndex.refresh(connection: connection, namesStaged: true)
                    phase("search index", &state)
                }
                handOver(state)
            }
        } catch {
            _ = await builtAlongside.value
            handOver(state)
            throw error
        }
        _ = await builtAlongside.value
    }

    /// Empties the staging and drops a search index built alongside that was not swapped in (a
    /// refused or failed run); run when an import starts and when it ends.
    static let cleanUpSQL: StaticString = """
        TRUNCATE sam_stage_entity, sam_stage_rejected, sam_stage_ref;
        DROP TABLE IF EXISTS sam_search_entry_next;
        """

    /// Builds the search index from the staging on a second connection (``SAMSearchIndex/buildFromStaging(client:)``)
    /// when `enabled`: a run that started with no SAM entity and an empty index, and staged each
    /// key once, creates exactly what it staged. False when not enabled or when the build failed.
    func buildSearchIndexAlongside(_ enabled: Bool) async -> Bool {
        guard enabled else { return false }
        return await SAMSearchIndex(logger: logger).buildFromStaging(client: client)
    }

    // MARK: Reading

    func readFiles(connection: PostgresConnection, input: SAMInput, options: SAMImportOptions, state: inout RunState)
        async throws
    {
        // What is stored, to stage unchanged entities without their documents (a first import
        // loads nothing).
        let stored = try await StoredContentHashes.load(connection: connection, logger: logger)
        state.startedEmpty = stored.count == 0
        // Across files, freed when reading ends.
        var seen = SeenEntityKeys()
        defer { state.mayHaveDuplicates = seen.sawRepeat }
        for item in input.items {
            let reader: SAMDocumentReader
            do {
                reader = try SAMDocumentReader(item: item, maxTextBytes: options.maxTextBytes)
            } catch {
                state.add([QualityFinding(rule: SAMQualityRules.unreadable, file: item.name, message: "\(error)")])
                state.refuse("\(item.name) cannot be read")
                return
            }
            var references: [[String?]] = []
            var rejected: [[String?]] = []
            var types: Set<String> = []
            var findings: [QualityFinding] = []
            var fileHash = SHA256()
            var lastProgress = ContinuousClock.now
            let progress = options.progress
            try await connection.copyFrom(
                table: "sam_stage_entity", columns: Self.stagedColumns, logger: logger
            ) { writer in
                var buffer = CopyTextBuffer()
                let parsing = ParsingThread(reader: reader)
                parsing.start()
                defer { parsing.cancel() }
                while var parsed = await parsing.next() {
                    fileHash.update(data: parsed.mapped.bytes)
                    let entities = parsed.mapped.entities
                    let screened = SAMDocumentReader.screen(parsed.mapped)
                    parsed.mapped.entities = []
                    var lastType = ""
                    for index in screened.accepted {
                        // Entities of one type come together: the set is asked once per run of them.
                        if entities[index].type != lastType {
                            lastType = entities[index].type
                            types.insert(lastType)
                        }
                        let entry = seen.note(type: entities[index].type, key: entities[index].key)
                        Self.stage(entities[index], entry: entry, unlessStoredIn: stored, into: &buffer)
                    }
                    parsing.recycle(consume entities)
                    if buffer.byteCount >= 1 << 20 { try await writer.write(buffer.take()) }
                    findings.append(contentsOf: parsed.findings)
                    findings.append(contentsOf: screened.findings)
                    for r in screened.references {
                        references.append([
                            r.rule.id, r.rule.severity.rawValue, r.fromType, r.fromKey, r.targetType, r.targetKey,
                            r.file, String(r.line),
                        ])
                    }
                    for r in screened.rejected {
                        rejected.append([r.type, r.key])
                        types.insert(r.type)
                        // A key both rejected and staged is left out by the diff like a duplicate.
                        seen.note(type: r.type, key: r.key)
                    }
                    if let progress, ContinuousClock.now - lastProgress > .seconds(2) {
                        lastProgress = .now
                        let share =
                            item.size > 0 ? " (\(Int(Double(parsed.bytesRead) * 100 / Double(item.size)))%)" : ""
                        progress(
                            "  reading \(item.name): \(parsed.bytesRead / 1_048_576) MiB\(share), \(parsed.entitiesRead) entities"
                        )
                    }
                }
                if buffer.byteCount > 0 { try await writer.write(buffer.take()) }
            }
            let drained = reader.drainFindings()
            findings.append(contentsOf: drained.findings)
            state.add(findings)
            for r in drained.rejected {
                rejected.append([r.type, r.key])
                seen.note(type: r.type, key: r.key)
            }
            try await connection.copyRows(
                table: "sam_stage_rejected", columns: ["entity_type", "entity_key"], rows: rejected, logger: logger)
            try await connection.copyRows(
                table: "sam_stage_ref",
                columns: ["rule", "severity", "from_type", "from_key", "target_type", "target_key", "file", "line"],
                rows: references, logger: logger)
            for row in rejected {
                state.summary.counts[row[0]!, default: .init()].rejected += 1
            }
            state.summary.files.append(
                .init(
                    name: item.name, kind: reader.kind?.rawValue, bytes: reader.bytesRead,
                    sha256: hexString(fileHash.finalize()),
                    entities: reader.entitiesRead))
            if reader.isRefused {
                state.refuse("\(item.name) is not a usable SAM export file (see the fatal findings)")
                return
            }
            guard let kind = reader.kind else { continue }
            if let previous = state.kindsSeen[kind] {
                state.add([
                    QualityFinding(
                        rule: SAMQualityRules.duplicateFile, file: item.name,
                        message: "\(kind.rawValue) export appears twice (\(previous) and \(item.name))")
                ])
                state.refuse("the \(kind.rawValue) file appears twice")
                return
            }
            state.kindsSeen[kind] = item.name
            state.scopeTypes.formUnion(types)
            state.scopeTypes.formUnion(kind.entityTypes)
            if let version = reader.rootAttributes["version"] {
                if state.summary.sourceVersion == nil { state.summary.sourceVersion = version }
            }
            if let samId = reader.rootAttributes["SamId"] ?? reader.rootAttributes["samId"] {
                if state.summary.sourceId == nil { state.summary.sourceId = samId }
            }
        }
        if input.isFullExport {
            let missing = SAMExportFile.allCases.filter { state.kindsSeen[$0] == nil }
            if !missing.isEmpty {
                state.add(
                    missing.map {
                        QualityFinding(
                            rule: SAMQualityRules.missingFile, file: input.source,
                            message: "the export has no \($0.rawValue) file (document element \($0.rootElement))")
                    })
                state.refuse("the export is incomplete: missing \(missing.map(\.rawValue).joined(separator: ", "))")
            }
        }
    }

    /// The columns of `sam_stage_entity` that ``stage(_:entry:unlessStoredIn:into:)`` fills, in its order.
    static let stagedColumns = [
        "entity_type", "entity_key", "parent_type", "parent_key", "content_hash", "field_names", "first_from",
        "key_json", "name_langs", "name_texts", "name_days", "document",
    ]

    /// Appends the staged row of one accepted entity: its key, parent and content hash; and, unless
    /// it is stored with that hash already, its document, what its "created" event carries and
    /// (AMPs, AMPPs, VMPs) the names the search index needs, so SQL need not take the JSON apart.
    static func stage(
        _ entity: VersionedEntity, entry: Int, unlessStoredIn stored: StoredContentHashes,
        into buffer: inout CopyTextBuffer
    ) {
        let (bytes, hash) = entity.canonicalDocumentBytes()
        let identity = [entity.type, entity.key, entity.parentType, entity.parentKey, hash]
        if stored.isStored(entry: entry, contentHash: hash) {
            buffer.appendRow(identity + [String?](repeating: nil, count: stagedColumns.count - identity.count))
            return
        }
        let fieldNames = PostgresText.array(entity.fieldNames)
        var names: [String?] = [nil, nil, nil]
        if case .rows(let rows)? = SAMSearchNames.names(of: entity) {
            names = [
                PostgresText.array(rows.map(\.lang)), PostgresText.array(rows.map(\.name)),
                PostgresText.array(rows.map(\.days)),
            ]
        }
        buffer.appendRow(
            identity + [fieldNames, entity.earliestFrom?.description, entity.keyObject.canonicalText] + names,
            lastColumnBytes: bytes)
    }

    // MARK: Cross-file checks

    func checkStaged(connection: PostgresConnection, input: SAMInput, state: inout RunState) async throws {
        // Grouping every staged row (0.4 s at scale 1.0) only when a key hash was staged twice.
        try await connection.executeScript(
            state.mayHaveDuplicates
                ? """
                CREATE TEMP TABLE stage_duplicate ON COMMIT DROP AS
                    SELECT entity_type, entity_key, count(*) AS n FROM sam_stage_entity GROUP BY 1, 2 HAVING count(*) > 1
                """
                : "CREATE TEMP TABLE stage_duplicate (entity_type text, entity_key text, n bigint) ON COMMIT DROP")
        var findings: [QualityFinding] = []
        let duplicates = try await connection.query(
            "SELECT entity_type, entity_key, n FROM stage_duplicate ORDER BY 1, 2", logger: logger)
        for try await (type, key, n) in duplicates.decode((String, String, Int64).self) {
            findings.append(
                QualityFinding(
                    rule: SAMQualityRules.duplicateEntity, entityType: type, entityKey: key,
                    message: "the key occurs \(n) times in this export; all occurrences are rejected"))
        }
        try await connection.executeScript(
            """
            INSERT INTO sam_stage_rejected SELECT entity_type, entity_key FROM stage_duplicate;
            DELETE FROM sam_stage_entity s USING stage_duplicate d WHERE s.entity_type = d.entity_type AND s.entity_key = d.entity_key;
            """)
        // References that resolve neither in this export nor (for partial imports) in the registry.
        let dangling = try await connection.query(
            """
            SELECT r.rule, r.severity, r.from_type, r.from_key, r.target_type, r.target_key, r.file, r.line
            FROM sam_stage_ref r
            WHERE NOT EXISTS (SELECT 1 FROM sam_stage_entity s WHERE s.entity_type = r.target_type AND s.entity_key = r.target_key)
              AND NOT EXISTS (SELECT 1 FROM sam_entity c WHERE c.entity_type = r.target_type AND c.entity_key = r.target_key)
            ORDER BY r.file, r.line
            """, logger: logger)
        let rulesById = Dictionary(uniqueKeysWithValues: SAMQualityRules.all.map { ($0.id, $0) })
        for try await (ruleId, _, fromType, fromKey, targetType, targetKey, file, line) in dangling.decode(
            (String, String, String, String, String, String, String, Int32).self)
        {
            guard let rule = rulesById[ruleId] else { continue }
            findings.append(
                QualityFinding(
                    rule: rule, entityType: fromType, entityKey: fromKey, file: file, line: Int(line),
                    message: "refers to \(targetType) '\(targetKey)', which is not in the export"))
        }
        state.add(findings)
        for f in findings where f.rule == SAMQualityRules.duplicateEntity.id {
            state.summary.counts[f.entityType!, default: .init()].rejected += 1
        }
    }

    // MARK: Diff and gate

    func diffAndGate(connection: PostgresConnection, options: SAMImportOptions, state: inout RunState) async throws {
        let scope = Array(state.scopeTypes).sorted()
        try await connection.execute(
            """
            CREATE TEMP TABLE stage_change ON COMMIT DROP AS
            SELECT COALESCE(s.entity_type, c.entity_type) AS entity_type,
                   COALESCE(s.entity_key, c.entity_key) AS entity_key,
                   CASE WHEN c.entity_key IS NULL THEN 'created' WHEN s.entity_key IS NULL THEN 'deleted' ELSE 'updated' END AS kind
            FROM sam_stage_entity s
            FULL JOIN (SELECT entity_type, entity_key, content_hash FROM sam_entity WHERE entity_type = ANY(\(scope))) c
              ON c.entity_type = s.entity_type AND c.entity_key = s.entity_key
            WHERE s.content_hash IS DISTINCT FROM c.content_hash
              AND NOT EXISTS (SELECT 1 FROM sam_stage_rejected r
                              WHERE r.entity_type = COALESCE(s.entity_type, c.entity_type)
                                AND r.entity_key = COALESCE(s.entity_key, c.entity_key))
            """, logger: logger)
        try await connection.executeScript(
            // No index: it is joined as a whole (hash joins), or drives lookups into indexed tables.
            "ANALYZE stage_change")

        let accepted = try await connection.query(
            "SELECT entity_type, count(*) FROM sam_stage_entity GROUP BY 1", logger: logger)
        for try await (type, n) in accepted.decode((String, Int64).self) {
            state.summary.counts[type, default: .init()].accepted = Int(n)
        }
        let changes = try await connection.query(
            "SELECT entity_type, kind, count(*) FROM stage_change GROUP BY 1, 2", logger: logger)
        for try await (type, kind, n) in changes.decode((String, String, Int64).self) {
            switch kind {
            case "created": state.summary.counts[type, default: .init()].created = Int(n)
            case "updated": state.summary.counts[type, default: .init()].updated = Int(n)
            default: state.summary.counts[type, default: .init()].deleted = Int(n)
            }
        }
        for key in state.summary.counts.keys {
            let c = state.summary.counts[key]!
            state.summary.counts[key]!.read = c.accepted + c.rejected
        }

        // The gate: refuse a run that would delete too much of what we have.
        let current = try await connection.query(
            "SELECT entity_type, count(*) FROM sam_entity WHERE entity_type = ANY(\(scope)) GROUP BY 1", logger: logger)
        var findings: [QualityFinding] = []
        for try await (type, n) in current.decode((String, Int64).self) {
            state.storedEntities += Int(n)
            let deleted = state.summary.counts[type]?.deleted ?? 0
            let allowed = options.maxDeleteShare * Double(n)
            if deleted > 0 && Double(deleted) > allowed {
                findings.append(
                    QualityFinding(
                        rule: SAMQualityRules.massDeletion, entityType: type,
                        message: String(
                            format:
                                "would delete %d of %lld current %@ entities (%.1f%%), more than the allowed %.1f%%",
                            deleted, n, type, Double(deleted) * 100 / Double(n), options.maxDeleteShare * 100)))
            }
        }
        if !findings.isEmpty {
            state.add(findings)
            state.refuse(
                "the run would delete too many entities (\(findings.compactMap(\.entityType).joined(separator: ", ")))")
        }
    }

    // MARK: Apply

    func applyChanges(connection: PostgresConnection, runId: Int64, state: inout RunState) async throws {
        try await connection.executeScript(
            """
            CREATE TEMP TABLE stage_event (entity_type text, entity_key text, kind text, key jsonb, changed text[],
                effective_from date) ON COMMIT DROP;
            INSERT INTO stage_event
                SELECT c.entity_type, c.entity_key, 'deleted', c.document -> 'key', '{}', NULL
                FROM stage_change ch JOIN sam_entity c USING (entity_type, entity_key)
                WHERE ch.kind = 'deleted';
            """)
        // Updates: compare old and new documents field by field.
        var updateRows: [[String?]] = []
        let updated = try await connection.query(
            """
            SELECT n.entity_type, n.entity_key, c.document::text, n.document::text
            FROM stage_change ch JOIN sam_stage_entity n USING (entity_type, entity_key)
            JOIN sam_entity c USING (entity_type, entity_key)
            WHERE ch.kind = 'updated'
            """, logger: logger)
        for try await (type, key, oldText, newText) in updated.decode((String, String, String, String).self) {
            let old = try JSONValue.parse(oldText)
            let new = try JSONValue.parse(newText)
            let change =
                EntityDiff.compare(old: old, new: new)
                ?? EntityChange(kind: .updated, changedFields: ["document"], effectiveFrom: nil)
            let changed = PostgresText.array(change.changedFields)
            updateRows.append([
                type, key, "updated", (new["key"] ?? .object([:])).canonicalText, changed, change.effectiveFrom,
            ])
        }
        try await connection.copyRows(
            table: "stage_event", columns: ["entity_type", "entity_key", "kind", "key", "changed", "effective_from"],
            rows: updateRows, logger: logger)

        // Number the events gap-free: the counter row is locked until commit. Created events come
        // straight from the staged entities (a first import has 700k of them); the others were staged.
        let base =
            try await connection.query(
                "SELECT last_seq FROM change_event_counter WHERE id = 1 FOR UPDATE", logger: logger
            ).decode(Int64.self).first { _ in true } ?? 0
        let numbered = try await connection.query(
            """
            WITH events AS (
                     SELECT s.entity_type, s.entity_key, 'created' AS kind, s.key_json::jsonb AS key,
                            s.field_names::text[] AS changed, s.first_from::date AS effective_from
                     FROM stage_change ch JOIN sam_stage_entity s USING (entity_type, entity_key)
                     WHERE ch.kind = 'created'
                     UNION ALL
                     SELECT entity_type, entity_key, kind, key, changed, effective_from FROM stage_event),
                 ordered AS (SELECT e.*, row_number() OVER (ORDER BY e.entity_type, e.entity_key) AS rn FROM events e),
                 inserted AS (
                    INSERT INTO change_event (seq, id, type, run_id, entity_type, entity_key, key, changed, effective_from, href)
                    SELECT \(base) + o.rn, 'evt_' || lpad((\(base) + o.rn)::text, 12, '0'),
                           'sam.' || o.entity_type || '.' || o.kind, \(runId), o.entity_type, o.entity_key, o.key,
                           o.changed, o.effective_from, sam_event_href(o.entity_type, o.key)
                    FROM ordered o
                    RETURNING seq)
            SELECT count(*), min(seq), max(seq) FROM inserted
            """, logger: logger)
        var emitted: Int64 = 0
        for try await (count, first, last) in numbered.decode((Int64, Int64?, Int64?).self) {
            emitted = count
            state.summary.eventsEmitted = Int(count)
            state.summary.firstEventSeq = first
            state.summary.lastEventSeq = last
        }
        try await connection.execute(
            "UPDATE change_event_counter SET last_seq = \(base + emitted) WHERE id = 1", logger: logger)

        try await connection.execute(
            """
            INSERT INTO sam_entity_history (entity_type, entity_key, content_hash, document, valid_from_run, replaced_by_run,
                                            parent_type, parent_key)
            SELECT c.entity_type, c.entity_key, c.content_hash, c.document, c.changed_run_id, \(runId),
                   c.parent_type, c.parent_key
            FROM sam_entity c JOIN stage_change ch USING (entity_type, entity_key)
            WHERE ch.kind IN ('updated', 'deleted')
            """, logger: logger)
        try await connection.executeScript(
            """
            DELETE FROM sam_entity c USING stage_change ch
            WHERE ch.kind = 'deleted' AND c.entity_type = ch.entity_type AND c.entity_key = ch.entity_key;
            """)
        // Created entities are absent by the diff's definition (and the import holds its lock): a
        // plain INSERT, 1.1 s faster than an upsert's speculative insertion for 700k rows, and a
        // key that existed after all fails the run instead of being overwritten.
        try await connection.execute(
            """
            INSERT INTO sam_entity (entity_type, entity_key, parent_type, parent_key, content_hash, document,
                                    created_run_id, changed_run_id, changed_at)
            SELECT s.entity_type, s.entity_key, s.parent_type, s.parent_key, s.content_hash, s.document,
                   \(runId), \(runId), now()
            FROM stage_change ch JOIN sam_stage_entity s USING (entity_type, entity_key)
            WHERE ch.kind = 'created'
            """, logger: logger)
        try await connection.execute(
            """
            UPDATE sam_entity c SET
                parent_type = s.parent_type, parent_key = s.parent_key, content_hash = s.content_hash,
                document = s.document, changed_run_id = \(runId), changed_at = now()
            FROM stage_change ch JOIN sam_stage_entity s USING (entity_type, entity_key)
            WHERE ch.kind = 'updated' AND c.entity_type = ch.entity_type AND c.entity_key = ch.entity_key
            """, logger: logger)
        // The search index is derived next, by joins over sam_entity: planned with the statistics of
        // a table that was empty, a first import's took 19 s instead of 8. Same threshold as
        // autovacuum's (50 rows + 10%), which cannot see this transaction's rows.
        let rewritten = state.summary.counts.values.reduce(0) { $0 + $1.created + $1.deleted }
        if Double(rewritten) > 50 + 0.1 * Double(state.storedEntities) {
            try await connection.executeScript("ANALYZE sam_entity")
        }
    }
}
