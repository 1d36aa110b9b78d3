#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An IPv4 or IPv6 address as bytes (4 or 16).
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Dotted IPv4 or IPv6 text (brackets allowed), as `inet_pton` reads it: no octal or
    /// shortened IPv4 forms, which some resolvers accept and attackers use to hide 127.0.0.1.
    public init?(_ text: String) {
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

    public var isIPv4: Bool { bytes.count == 4 }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var copy = bytes
        let family = isIPv4 ? AF_INET : AF_INET6
        _ = copy.withUnsafeMutableBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The IPv4 address an IPv6 address carries (IPv4-mapped, IPv4-compatible, NAT64, 6to4), if any.
    var embeddedIPv4: IPAddress? {
        guard bytes.count == 16 else { return nil }
        let mapped: [UInt8] = Array(repeating: 0, count: 10) + [0xFF, 0xFF]
        if Array(bytes[0..<12]) == mapped || Array(bytes[0..<12]) == Array(repeating: 0, count: 12) {
            return IPAddress(bytes: Array(bytes[12..<16]))
        }
        if Array(bytes[0..<12]) == [0x00, 0x64, 0xFF, 0x9B] + Array(repeating: 0, count: 8) {
            return IPAddress(bytes: Array(bytes[12..<16]))
        }
        if bytes[0] == 0x20, bytes[1] == 0x02 { return IPAddress(bytes: Array(bytes[2..<6])) }
        return nil
    }
}

/// A block of addresses, `10.0.0.0/8` or `fc00::/7`.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard let address = IPAddress(parts[0]) else { return nil }
        let maximum = address.bytes.count * 8
        let length = parts.count == 2 ? Int(parts[1]) : maximum
        guard let length, (0...maximum).contains(length) else { return nil }
        self.address = address
        self.prefixLength = length
    }

    public func contains(_ candidate: IPAddress) -> Bool {
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

    public var description: String { "\(address)/\(prefixLength)" }
}

/// Which webhook targets the dispatcher may connect to (the SSRF guard).
///
/// Every address a target resolves to must be public: loopback, private, link-local (cloud
/// metadata at 169.254.169.254 included), CGNAT, multicast, documentation, benchmark and reserved
/// IPv4 blocks and their IPv6 counterparts (unique-local, link-local, site-local, multicast,
/// IPv4-mapped/compatible/NAT64/6to4 forms of a refused IPv4 address) are refused unless the
/// operator allow-lists them. `https` is required unless every address is allow-listed.
public struct TargetAddressPolicy: Sendable, Hashable {
    public var allowed: [IPNetwork]

    public init(allowed: [IPNetwork] = []) { self.allowed = allowed }

    /// Parses a comma-separated list of addresses or CIDR blocks; nil names the first bad one.
    public static func parse(allowList: String) -> Result<TargetAddressPolicy, TargetRefusal> {
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
    ].map { (IPNetwork($0.0)!, $0.1) }

    public func isAllowListed(_ address: IPAddress) -> Bool {
        allowed.contains { $0.contains(address) }
            || (address.embeddedIPv4.map { v4 in allowed.contains { $0.contains(v4) } } ?? false)
    }

    /// Why `address` may not be connected to, or nil when it may.
    public func refusal(of address: IPAddress) -> String? {
        if isAllowListed(address) { return nil }
        if let reason = Self.reason(address) { return reason }
        if let v4 = address.embeddedIPv4, let reason = Self.reason(v4) {
            return "\(reason) (\(v4) inside \(address))"
        }
        return nil
    }

    static func reason(_ address: IPAddress) -> String? {
        let table = address.isIPv4 ? refusedIPv4 : refusedIPv6
        return table.first { $0.0.contains(address) }.map { "\($0.1) address \(address)" }
    }

    /// Checks every address a target resolved to, and the scheme; the first refusal wins.
    public func check(scheme: String, host: String, addresses: [IPAddress]) -> TargetRefusal? {
        guard !addresses.isEmpty else { return .unresolvable(host) }
        for address in addresses {
            if let reason = refusal(of: address) { return .forbiddenAddress(host: host, reason: reason) }
        }
        if scheme != "https", !addresses.allSatisfy(isAllowListed) { return .httpsRequired(host) }
        return nil
    }
}

/// Why a webhook target was refused.
public enum TargetRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    case invalidURL(String)
    case unresolvable(String)
    case forbiddenAddress(host: String, reason: String)
    case httpsRequired(String)
    case invalidAllowList(String)

    public var description: String {
        switch self {
        case .invalidURL(let why): "invalid target URL: \(why)"
        case .unresolvable(let host): "target host \(host) does not resolve to any address"
        case .forbiddenAddress(let host, let reason):
            "target host \(host) resolves to a \(reason), which webhooks may not reach (allow-list it to permit)"
        case .httpsRequired(let host): "target \(host) must use https (plain http only for allow-listed addresses)"
        case .invalidAllowList(let text): "\(text) in the webhook allow-list is not an IP address or CIDR block"
        }
    }
}

/// A webhook target URL split into what the guard and the HTTP client need.
public struct WebhookTarget: Sendable, Hashable {
    public let url: String
    public let scheme: String
    /// Host name or IP literal without brackets.
    public let host: String
    public let port: Int

    /// Absolute http(s) URL with a host, no user-info, no fragment, at most 2,000 characters.
    public static func parse(_ text: String) -> Result<WebhookTarget, TargetRefusal> {
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
        host = host.lowercased()
        guard !host.isEmpty,
            host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == ":" || $0 == "_" })
        else {
            return .failure(.invalidURL("missing or malformed host"))
        }
        return .success(WebhookTarget(url: text, scheme: scheme, host: host, port: port))
    }
}
