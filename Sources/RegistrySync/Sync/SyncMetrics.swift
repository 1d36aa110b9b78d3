import Metrics

/// Counters of the sync (the staleness gauges are computed from the database at scrape time, so
/// every API node reports them, not only the one that syncs).
enum SyncMetrics {
    static func checked(_ source: SyncSourceName, outcome: String) {
        Counter(label: "registry_sync_checks_total", dimensions: [("source", source.rawValue), ("outcome", outcome)])
            .increment()
    }

    /// An upstream version lower than the one imported: the source went back, which an operator
    /// should look at.
    static func versionRegressed(_ source: SyncSourceName) {
        Counter(label: "registry_sync_version_regressions_total", dimensions: [("source", source.rawValue)]).increment()
    }

    static func retried() {
        Counter(label: "registry_sync_download_retries_total").increment()
    }

    static func downloaded(_ source: SyncSourceName, bytes: UInt64) {
        Counter(label: "registry_sync_downloaded_bytes_total", dimensions: [("source", source.rawValue)]).increment(
            by: Int64(bytes))
    }
}
