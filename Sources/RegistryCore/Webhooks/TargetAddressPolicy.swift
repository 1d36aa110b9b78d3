#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An IPv4 or IPv6 address as bytes (4 or 16).
package struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    package let bytes: [UInt8]

    package init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Dotted IPv4 or IPv6 text (brackets allowed), as `inet_pton` reads it: no octal or
    /// shortened IPv4 forms, which some resolvers accept and attackers use to hide 127.0.0.1.
    package init?(_ text: String) {
        var literal = text
        if literal.hasPrefix("["), literal.hasSuffix("]") { literal = String(literal.dropFirst().dropLast()) }
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, literal, &v4) == 1 {
            self.bytes = withUnsafeBytes(of: &v4) { Array($0) }
        } else if inet_pton(AF_INET6, literal, &v6) == 1 {
            self.bytes = withUnsafeBytes(of: &v6) { Array($0) }
        } else {
            return nil
        }
    }

    package var isIPv4: Bool { bytes.count == 4 }

    package var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var copy = bytes
        let family = isIPv4 ? AF_INET : AF_INET6
        _ = copy.withUnsafeMutableBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The IPv4 address an IPv6 address carries (IPv4-mapped `::ffff:0:0/96`, IPv4-translated
    /// `::ffff:0:0:0/96` (RFC 2765), IPv4-compatible `::/96`, NAT64 `64:ff9b::/96` and local-use
    /// NAT64 `64:ff9b:1::/48` with the address in the last 32 bits (RFC 8215), 6to4 `2002::/16`), if any.
    var embeddedIPv4: IPAddress? {
        guard bytes.count == 16 else { return nil }
        let head = Array(bytes[0..<12])
        let zeros = [UInt8](repeating: 0, count: 12)
        let mapped: [UInt8] = Array(repeating: 0, count: 10) + [0xFF, 0xFF]
        let translated: [UInt8] = Array(repeating: 0, count: 8) + [0xFF, 0xFF, 0x00, 0x00]
        let nat64: [UInt8] = [0x00, 0x64, 0xFF, 0x9B] + Array(repeating: 0, count: 8)
        if head == mapped || head == translated || head == zeros || head == nat64 {
            return IPAddress(bytes: Array(bytes[12..<16]))
        }
        if Array(bytes[0..<6]) == [0x00, 0x64, 0xFF, 0x9B, 0x00, 0x01] {
            return IPAddress(bytes: Array(bytes[12..<16]))
        }
        if bytes[0] == 0x20, bytes[1] == 0x02 { return IPAddress(bytes: Array(bytes[2..<6])) }
        return nil
    }
}

/// A block of addresses, `10.0.0.0/8` or `fc00::/7`.
package struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    package let address: IPAddress
    package let prefixLength: Int

    package init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard let address = IPAddress(parts[0]) else { return nil }
        let maximum = address.bytes.count * 8
        let length = parts.count == 2 ? Int(parts[1]) : maximum
        guard let length, (0...maximum).contains(length) else { return nil }
        self.address = address
        self.prefixLength = length
    }

    package func contains(_ candidate: IPAddress) -> Bool {
        guard candidate.bytes.count == address.bytes.count else { return false }
        var remaining = prefixLength
        for (a, b) in zip(address.bytes, candidate.bytes) where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if a & mask != b & mask { return false }
            remaining -= bits
        }
        return true
    }

    package var description: String { "\(address)/\(prefixLength)" }
}

/// Which webhook targets the dispatcher may connect to (the SSRF guard).
///
/// Every address a target resolves to must be public: loopback, private, link-local (cloud
/// metadata at 169.254.169.254 included), CGNAT, multicast, documentation, benchmark and reserved
/// IPv4 blocks and their IPv6 counterparts (unique-local, link-local, site-local, multicast,
/// IPv4-mapped/compatible/NAT64/6to4 forms of a refused IPv4 address) are refused unless the
/// operator allow-lists them. `https` is required unless every address is allow-listed.
package struct TargetAddressPolicy: Sendable, Hashable {
    package var allowed: [IPNetwork]

    package init(allowed: [IPNetwork] = []) { self.allowed = allowed }

    /// Parses a comma-separated list of addresses or CIDR blocks; nil names the first bad one.
    package static func parse(allowList: String) -> Result<TargetAddressPolicy, TargetRefusal> {
        var networks: [IPNetwork] = []
        for part in allowList.split(separator: ",") {
            let text = part.filter { $0 != " " }
            guard let network = IPNetwork(String(text)) else {
                return .failure(.invalidAllowList(String(text)))
            }
            networks.append(network)
        }
        return .success(TargetAddressPolicy(allowed: networks))
    }

    static let refusedIPv4: [(IPNetwork, String)] = [
        ("0.0.0.0/8", "this-network"), ("10.0.0.0/8", "private"), ("100.64.0.0/10", "carrier-grade NAT"),
        ("127.0.0.0/8", "loopback"), ("169.254.0.0/16", "link-local"), ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignments"), ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay anycast"), ("192.168.0.0/16", "private"), ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"), ("203.0.113.0/24", "documentation"), ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
    ].map { (IPNetwork($0.0)!, $0.1) }

    static let refusedIPv6: [(IPNetwork, String)] = [
        ("::/128", "unspecified"), ("::1/128", "loopback"), ("100::/64", "discard-only"),
        ("2001::/23", "IETF protocol assignments"), ("2001:db8::/32", "documentation"), ("fc00::/7", "unique-local"),
        ("fe80::/10", "link-local"), ("fec0::/10", "site-local"), ("ff00::/8", "multicast"),
        // Local-use NAT64 (RFC 8215) translates into the operator's own network, whatever IPv4
        // address it carries (and where it carries it depends on the prefix length used).
        ("64:ff9b:1::/48", "local-use NAT64"),
    ].map { (IPNetwork($0.0)!, $0.1) }

    package func isAllowListed(_ address: IPAddress) -> Bool {
        allowed.contains { $0.contains(address) }
            || (address.embeddedIPv4.map { v4 in allowed.contains { $0.contains(v4) } } ?? false)
    }

    /// Why `address` may not be connected to, or nil when it may (for logs: it names the address).
    package func refusal(of address: IPAddress) -> String? {
        refusedKind(of: address).map { "\($0) address \(address)" }
    }

    /// The kind of block `address` (or the IPv4 address it carries) is in, when refused:
    /// `loopback`, `private`, … — without the address itself.
    package func refusedKind(of address: IPAddress) -> String? {
        if isAllowListed(address) { return nil }
        if let kind = Self.kind(address) { return kind }
        if let v4 = address.embeddedIPv4, let kind = Self.kind(v4) { return "\(kind) (IPv4 inside IPv6)" }
        return nil
    }

    static func kind(_ address: IPAddress) -> String? {
        let table = address.isIPv4 ? refusedIPv4 : refusedIPv6
        return table.first { $0.0.contains(address) }?.1
    }

    /// Checks every address a target resolved to, and the scheme; the first refusal wins.
    package func check(scheme: String, host: String, addresses: [IPAddress]) -> TargetRefusal? {
        guard !addresses.isEmpty else { return .unresolvable(host) }
        for address in addresses {
            if let kind = refusedKind(of: address) {
                return .forbiddenAddress(host: host, kind: kind, address: address.description)
            }
        }
        if scheme != "https", !addresses.allSatisfy(isAllowListed) { return .httpsRequired(host) }
        return nil
    }
}

/// Why a webhook target was refused.
///
/// `description` goes to API clients and into delivery records they can read: it never names the
/// address a host name resolved to (that would turn the guard into an oracle for internal DNS);
/// `logDescription` does, for the operator's logs.
package enum TargetRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    case invalidURL(String)
    case unresolvable(String)
    case forbiddenAddress(host: String, kind: String, address: String)
    case httpsRequired(String)
    case invalidAllowList(String)

    package var description: String {
        switch self {
        case .invalidURL(let why): "invalid target URL: \(why)"
        case .unresolvable(let host): "target host \(host) does not resolve to any address"
        case .forbiddenAddress(let host, let kind, _):
            "target host \(host) resolves to a \(kind) address, which webhooks may not reach (allow-list it to permit)"
        case .httpsRequired(let host): "target \(host) must use https (plain http only for allow-listed addresses)"
        case .invalidAllowList(let text): "\(text) in the webhook allow-list is not an IP address or CIDR block"
        }
    }

    /// The description with the refused address, for server-side logs only.
    package var logDescription: String {
        if case .forbiddenAddress(_, _, let address) = self { return "\(description); address \(address)" }
        return description
    }
}

/// A webhook target URL split into what the guard and the HTTP client need.
package struct WebhookTarget: Sendable, Hashable {
    package let url: String
    package let scheme: String
    /// Host name or IP literal without brackets.
    package let host: String
    package let port: Int

    /// Absolute http(s) URL with a host, no user-info, no fragment, at most 2,000 characters.
    package static func parse(_ text: String) -> Result<WebhookTarget, TargetRefusal> {
        guard text.utf8.count <= 2000 else { return .failure(.invalidURL("longer than 2000 characters")) }
        guard let schemeEnd = text.range(of: "://") else {
            return .failure(.invalidURL("expected an absolute http:// or https:// URL"))
        }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else {
            return .failure(.invalidURL("scheme \(scheme) is not http or https"))
        }
        guard !text.contains("#") else { return .failure(.invalidURL("a fragment is not allowed")) }
        guard text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            return .failure(.invalidURL("spaces, control and non-ASCII characters must be percent-encoded"))
        }
        let rest = text[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        guard !authority.contains("@") else { return .failure(.invalidURL("user-info is not allowed")) }
        var host = String(authority)
        var port = scheme == "https" ? 443 : 80
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return .failure(.invalidURL("unclosed [ in host")) }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") {
                guard let value = Int(after.dropFirst()), (1...65535).contains(value) else {
                    return .failure(.invalidURL("bad port"))
                }
                port = value
            } else if !after.isEmpty {
                return .failure(.invalidURL("unexpected text after ]"))
            }
            host = String(host[host.index(after: host.startIndex)..<close])
            guard IPAddress(host) != nil else { return .failure(.invalidURL("\(host) is not an IPv6 address")) }
        } else if let colon = host.lastIndex(of: ":") {
            guard let value = Int(host[host.index(after: colon)...]), (1...65535).contains(value) else {
                return .failure(.invalidURL("bad port"))
            }
            port = value
            host = String(host[..<colon])
        }
        // One spelling per name: DNS is case-insensitive and `name.` is `name` (the checked address
        // is pinned under this spelling, and the request is made with it).
        host = host.lowercased()
        if host.hasSuffix(".") { host.removeLast() }
        guard !host.isEmpty, !host.hasSuffix("."),
            host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == ":" || $0 == "_" })
        else {
            return .failure(.invalidURL("missing or malformed host"))
        }
        let tail = String(rest.dropFirst(authority.count))
        return .success(
            WebhookTarget(
                url: text, scheme: scheme, host: host, port: port, pathAndQuery: tail.hasPrefix("/") ? tail : "/" + tail
            ))
    }

    /// The path and query as given (`/` when there is none).
    package let pathAndQuery: String

    init(url: String, scheme: String, host: String, port: Int, pathAndQuery: String) {
        self.url = url
        self.scheme = scheme
        self.host = host
        self.port = port
        self.pathAndQuery = pathAndQuery
    }

    /// The URL to request: the given one with the host in its normalised spelling (lower case, no
    /// trailing dot), so the HTTP client looks the host up exactly as the guard checked and pinned it.
    package var requestURL: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        let portPart = port == (scheme == "https" ? 443 : 80) ? "" : ":\(port)"
        return "\(scheme)://\(hostPart)\(portPart)\(pathAndQuery)"
    }
}
