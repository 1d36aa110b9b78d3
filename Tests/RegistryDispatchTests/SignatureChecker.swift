import DatabaseTestSupport
import Foundation
import RegistryCore

/// Verifies received webhooks with the independent Python `standardwebhooks` library
/// (installed by ops/test.sh from PyPI).
enum StandardWebhooksChecker {
    struct Verdict: Decodable {
        var ok: Int
        var bad: [String]
    }

    static func verify(_ webhooks: [ReceivedWebhook], secret: WebhookSecret) async throws -> Verdict {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("webhooks-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: file) }
        var lines = ""
        for webhook in webhooks {
            let record: [String: String] = [
                "secret": secret.text, "id": webhook.id, "timestamp": webhook.timestamp,
                "signature": webhook.signature, "body": Data(webhook.body).base64EncodedString(),
            ]
            lines += String(decoding: try JSONSerialization.data(withJSONObject: record), as: UTF8.self) + "\n"
        }
        try lines.write(to: file, atomically: true, encoding: .utf8)
        let script = """
            import base64, json, sys
            from standardwebhooks.webhooks import Webhook
            ok, bad = 0, []
            for line in open(sys.argv[1]):
                m = json.loads(line)
                try:
                    Webhook(m["secret"]).verify(base64.b64decode(m["body"]), {
                        "webhook-id": m["id"], "webhook-timestamp": m["timestamp"],
                        "webhook-signature": m["signature"]})
                    ok += 1
                except Exception as e:
                    bad.append(repr(e))
            print(json.dumps({"ok": ok, "bad": bad[:5]}))
            """
        let checked = try await ChildProcess.python(script, [file.path])
        guard checked.status == 0 else {
            throw CheckerFailed(
                reason: "python3 standardwebhooks check failed (ops/test.sh installs it): \(checked.errorText)")
        }
        return try JSONDecoder().decode(Verdict.self, from: checked.output)
    }

    struct CheckerFailed: Error, CustomStringConvertible {
        var reason: String
        var description: String { reason }
    }
}
