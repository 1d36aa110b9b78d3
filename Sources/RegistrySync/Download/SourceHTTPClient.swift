import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL

/// Builds the HTTP client of one source: its client certificate (eHealth services authenticate
/// organisations by X.509 certificate), its trust roots, its proxy and its timeouts.
package enum SourceHTTPClient {
    package struct SetupError: Error, CustomStringConvertible {
        package let description: String
    }

    package static func make(for source: SourceSettings, environment: [String: String]) throws -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(
            connect: .milliseconds(Int64(source.limits.connectTimeout * 1000)),
            read: .milliseconds(Int64(source.limits.stallTimeout * 1000)))
        configuration.redirectConfiguration = .follow(max: 5, allowCycles: false)
        configuration.decompression = .disabled
        configuration.tlsConfiguration = try tlsConfiguration(for: source)
        if let url = firstURL(of: source), let proxy = ProxySettings(environment: environment).proxy(for: url) {
            let authorization = proxy.username.map {
                HTTPClient.Authorization.basic(username: $0, password: proxy.password ?? "")
            }
            configuration.proxy = .server(host: proxy.host, port: proxy.port, authorization: authorization)
        }
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    static func firstURL(of source: SourceSettings) -> URL? {
        switch source.transport {
        case .samVersions(let base, _): URL(string: base)
        case .documents(let documents): documents.first.flatMap { URL(string: $0.url) }
        case .dropFolder: nil
        }
    }

    static func tlsConfiguration(for source: SourceSettings) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        let name = "sources.\(source.name.rawValue)"
        do {
            switch source.clientCertificate {
            case .pkcs12(let path, let password):
                let bundle = try NIOSSLPKCS12Bundle(file: path, passphrase: Array((password ?? "").utf8))
                tls.certificateChain = bundle.certificateChain.map { .certificate($0) }
                tls.privateKey = .privateKey(bundle.privateKey)
            case .pem(let chainPath, let keyPath):
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(chainPath).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyPath, format: .pem))
            case nil:
                break
            }
        } catch {
            throw SetupError(
                description: "\(name).clientCertificate: cannot load the client certificate or key: \(error)")
        }
        if let roots = source.trustRootsPath {
            guard FileManager.default.isReadableFile(atPath: roots) else {
                throw SetupError(description: "\(name).trustRoots: cannot read \(roots)")
            }
            tls.trustRoots = .file(roots)
        }
        return tls
    }
}
