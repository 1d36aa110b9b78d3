import Foundation
import HTTPTypes
import Hummingbird
import Logging
import RegistryCore
import Synchronization

/// A fast webhook receiver for ops/bench/webhooks.sh: accepts every POST (paths under /slow
/// sleep 20 s first, to play receivers that time out), and reports what arrived at GET /stats:
/// deliveries, duplicates, rate, and the latency from each event's timestamp (its commit) to
/// its receipt. Not part of the product.
@main
struct WebhookSink {
    static func main() async throws {
        let port = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 18200
        let log = ReceiptLog()
        let router = Router()
        router.post("**") { request, _ -> Response in
            let received = Date().timeIntervalSince1970
            let body = try await request.body.collect(upTo: 1 << 20)
            let path = request.uri.path
            if path.hasPrefix("/slow") { try await Task.sleep(for: .seconds(20)) }
            let id = request.headers[HTTPField.Name("webhook-id")!] ?? ""
            log.record(
                path: path, id: id, received: received,
                committed: Self.timestamp(in: Array(body.readableBytesView)))
            return Response(status: .noContent)
        }
        router.get("/stats") { request, _ -> Response in
            let prefix = request.uri.queryParameters["prefix"].map(String.init) ?? "/"
            let text = log.stats(prefix: prefix)
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.post("/reset") { _, _ -> Response in
            log.reset()
            return Response(status: .noContent)
        }
        var logger = Logger(label: "webhook-sink")
        logger.logLevel = .error
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), backlog: 1024),
            logger: logger)
        try await app.runService()
    }

    /// The `"timestamp":"2026-11-28T00:00:24.123456Z"` of the envelope, as epoch seconds.
    static func timestamp(in array: [UInt8]) -> Double? {
        let needle = Array("\"timestamp\":\"".utf8)
        guard array.count > needle.count else { return nil }
        for start in 0...(array.count - needle.count) where array[start] == needle[0] {
            guard Array(array[start..<start + needle.count]) == needle else { continue }
            let from = start + needle.count
            guard let end = array[from...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
            let text = String(decoding: array[from..<end], as: UTF8.self)
            guard text.count >= 20, let day = LocalDate(iso: text.prefix(10)) else { return nil }
            let clock = text.dropFirst(11).dropLast()
            let parts = clock.split(separator: ":")
            guard parts.count == 3, let hours = Double(parts[0]), let minutes = Double(parts[1]),
                let seconds = Double(parts[2])
            else { return nil }
            let epochDay = day.dayNumber - LocalDate(year: 1970, month: 1, day: 1)!.dayNumber
            return Double(epochDay) * 86400 + hours * 3600 + minutes * 60 + seconds
        }
        return nil
    }
}

final class ReceiptLog: Sendable {
    struct State {
        var latencies: [String: [Double]] = [:]
        var first: Double = .infinity
        var last: Double = 0
        var seen: Set<String> = []
        var duplicates = 0
        var count = 0
        var counts: [String: Int] = [:]
    }
    let state = Mutex(State())

    func record(path: String, id: String, received: Double, committed: Double?) {
        state.withLock { state in
            state.count += 1
            if !state.seen.insert(path + "|" + id).inserted { state.duplicates += 1 }
            state.first = min(state.first, received)
            state.last = max(state.last, received)
            let group = path.hasPrefix("/slow") ? "/slow" : "/ok"
            state.counts[group, default: 0] += 1
            if let committed { state.latencies[group, default: []].append(received - committed) }
        }
    }

    func reset() { state.withLock { $0 = State() } }

    func stats(prefix: String) -> String {
        state.withLock { state in
            let group = prefix == "/slow" ? "/slow" : "/ok"
            let latencies = (state.latencies[group] ?? []).sorted()
            func percentile(_ p: Double) -> Double {
                latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
            }
            let span = state.count > 0 ? state.last - state.first : 0
            let rate = span > 0 ? Double(state.count) / span : 0
            return """
                {"count":\(state.count),"groupCount":\(state.counts[group] ?? 0),"unique":\(state.seen.count),"duplicates":\(state.duplicates),\
                "seconds":\(String(format: "%.3f", span)),"rate":\(String(format: "%.1f", rate)),\
                "latencyP50":\(String(format: "%.4f", percentile(0.5))),"latencyP99":\(String(format: "%.4f", percentile(0.99))),\
                "latencyMax":\(String(format: "%.4f", latencies.last ?? 0))}
                """
        }
    }
}
