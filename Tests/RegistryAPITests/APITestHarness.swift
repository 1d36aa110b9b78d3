import DatabaseTestSupport
import Foundation
import RegistryImport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresNIO
import RegistryAPI
import RegistryStore
import SAMReaders

/// A parsed JSON answer, navigated with subscripts (Foundation's parser: independent of ours).
struct JSON: CustomStringConvertible, @unchecked Sendable {
    // @unchecked: wraps JSONSerialization output (immutable NSDictionary/NSArray trees), never mutated.
    let value: Any?

    init(_ value: Any?) { self.value = value }

    init(bytes: [UInt8]) {
        value = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
    }

    subscript(_ key: String) -> JSON { JSON((value as? [String: Any])?[key]) }
    subscript(_ index: Int) -> JSON {
        guard let array = value as? [Any], index < array.count else { return JSON(nil) }
        return JSON(array[index])
    }
    var string: String? { value as? String }
    var array: [JSON] { (value as? [Any])?.map { JSON($0) } ?? [] }
    /// True/false only for JSON booleans (not for the numbers 1 and 0).
    var bool: Bool? {
        guard let value else { return nil }
        let type = String(describing: Swift.type(of: value))
        return type == "Bool" || type.contains("Boolean") ? value as? Bool : nil
    }
    var number: Double? {
        guard let value, bool == nil else { return nil }
        return (value as? Double) ?? (value as? Int).map(Double.init) ?? (value as? NSNumber)?.doubleValue
    }
    var isNull: Bool { value is NSNull }
    var exists: Bool { value != nil }
    var description: String {
        guard let value,
            let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys])
        else {
            return "nil"
        }
        return String(decoding: data, as: UTF8.self)
    }
}

struct APIResponse: Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var body: [UInt8]
    var json: JSON { JSON(bytes: body) }
}

/// Requests through the real router and middleware (Hummingbird's router test framework).
struct APIClient: Sendable {
    let client: any TestClientProtocol

    func get(_ uri: String, headers: HTTPFields = [:]) async throws -> APIResponse {
        try await request(uri, method: .get, headers: headers)
    }

    func request(_ uri: String, method: HTTPRequest.Method, headers: HTTPFields = [:], body: String? = nil)
        async throws -> APIResponse
    {
        try await client.execute(
            uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }
        ) { response in
            APIResponse(
                status: response.status, headers: response.headers,
                body: Array(response.body.readableBytesView))
        }
    }
}

enum APITest {
    /// A fresh database with the given SAM files imported, and the API on it.
    static func with(
        importing paths: [String], _ body: @Sendable (APIClient, PostgresClient) async throws -> Void
    ) async throws {
        try await TestDatabase.with { postgres, _ in
            if !paths.isEmpty {
                _ = try await SAMImportPipeline(client: postgres, logger: TestDatabase.logger).run(
                    input: try SAMInput.resolve(paths: paths))
            }
            let app = try RegistryApplication.make(
                client: postgres, settings: ServerSettings(logLevel: .warning), logger: TestDatabase.logger,
                runsClient: false)
            // A stall after the body is the application's services not stopping.
            try await reportingStall("the API test with its services", after: .seconds(150)) {
                try await app.test(.router) { client in
                    try await body(APIClient(client: client), postgres)
                }
            }
        }
    }
}
