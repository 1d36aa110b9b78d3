import Foundation

/// The proxy a request goes through, from the usual environment variables (`https_proxy`,
/// `http_proxy`, `no_proxy`, lower case first, as curl reads them): hospital networks reach the
/// outside only through one.
package struct ProxySettings: Sendable, Equatable {
    package struct Proxy: Sendable, Equatable {
        package var host: String
        package var port: Int
        package var username: String?
        package var password: String?
    }

    package var http: Proxy?
    package var https: Proxy?
    /// Hosts (and domain suffixes) reached directly; `*` means every host.
    package var noProxy: [String]

    package init(environment: [String: String]) {
        func value(_ name: String) -> String? {
            let v = environment[name.lowercased()] ?? environment[name.uppercased()]
            return (v?.isEmpty ?? true) ? nil : v
        }
        http = value("http_proxy").flatMap(Self.parse)
        https = value("https_proxy").flatMap(Self.parse)
        noProxy = (value("no_proxy") ?? "").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }.filter { !$0.isEmpty }
    }

    /// `http://user:pass@host:port` (or `host:port`); nil when it names no host.
    static func parse(_ text: String) -> Proxy? {
        let withScheme = text.contains("://") ? text : "http://\(text)"
        guard let components = URLComponents(string: withScheme), let host = components.host, !host.isEmpty else {
            return nil
        }
        let port = components.port ?? (components.scheme?.lowercased() == "https" ? 443 : 80)
        return Proxy(
            host: host, port: port, username: components.user?.removingPercentEncoding,
            password: components.password?.removingPercentEncoding)
    }

    /// The proxy for `url`, or nil to connect directly.
    package func proxy(for url: URL) -> Proxy? {
        guard let host = url.host?.lowercased() else { return nil }
        for entry in noProxy {
            if entry == "*" { return nil }
            let suffix = entry.hasPrefix(".") ? String(entry.dropFirst()) : entry
            let bare = suffix.split(separator: ":").first.map(String.init) ?? suffix
            if host == bare || host.hasSuffix("." + bare) { return nil }
        }
        return url.scheme?.lowercased() == "https" ? https : http
    }
}
