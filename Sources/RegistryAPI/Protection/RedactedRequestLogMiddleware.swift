import Foundation
import Hummingbird
import Logging

/// Logs each request at debug level (method and target) with the values of personal query
/// parameters (`ssin`) replaced by `***`: a national number never reaches a log file.
struct RedactedRequestLogMiddleware<Context: RegistryContext>: RouterMiddleware {
    static var redactedParameters: Set<String> { ["ssin"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        if context.logger.logLevel <= .debug {
            context.logger.debug(
                "request",
                metadata: ["method": "\(request.method)", "uri": "\(Self.redacted(request.uri.description))"])
        }
        return try await next(request, context)
    }

    /// The target with the value of each redacted parameter (however its name is escaped or cased) replaced.
    static func redacted(_ target: String) -> String {
        guard let question = target.firstIndex(of: "?") else { return target }
        let query = target[target.index(after: question)...]
        let items = query.split(separator: "&", omittingEmptySubsequences: false).map { item -> String in
            let name = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]
            let decoded = (String(name).removingPercentEncoding ?? String(name)).lowercased()
            return redactedParameters.contains(decoded) ? name + "=***" : String(item)
        }
        return target[..<question] + "?" + items.joined(separator: "&")
    }
}
