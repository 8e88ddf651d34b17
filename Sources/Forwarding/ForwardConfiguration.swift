import DNSWire

/// Where names outside our zones go, and how the cache keeps the answers (issue 6). The
/// defaults are CoreDNS's Corefile for Kubernetes (`forward . /etc/resolv.conf {max_concurrent
/// 1000}`, `cache 30`) where it has one.
public struct ForwardConfiguration: Sendable {
    /// An upstream server: an IP literal and a port (53 unless given).
    public struct Upstream: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init(host: String, port: Int = 53) {
            self.host = host
            self.port = port
        }

        /// `ADDR`, `ADDR:PORT`, `[V6]:PORT` or a bare IPv6 address. Nil unless ADDR is an IP
        /// literal: a name would need the resolver we are configuring.
        public init?(parsing text: String) {
            var host = text, port = 53
            if text.hasPrefix("[") {
                guard let close = text.firstIndex(of: "]") else { return nil }
                host = String(text[text.index(after: text.startIndex)..<close])
                let rest = text[text.index(after: close)...]
                if !rest.isEmpty {
                    guard rest.hasPrefix(":"), let p = Int(rest.dropFirst()) else { return nil }
                    port = p
                }
            } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
                host = String(text[..<colon])
                guard let p = Int(text[text.index(after: colon)...]) else { return nil }
                port = p
            }
            guard (1...65535).contains(port), IPAddress(host) != nil else { return nil }
            self.host = host
            self.port = port
        }

        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// Names under `domain` go to these upstreams instead (kube-dns `stubDomains`).
    public struct Stub: Sendable, Hashable {
        public var domain: DNSName
        public var upstreams: [Upstream]
        /// TCP to these upstreams only (a Corefile's `forward` in that block with `force_tcp`).
        public var forceTCP: Bool
        public init(domain: DNSName, upstreams: [Upstream], forceTCP: Bool = false) {
            self.domain = domain
            self.upstreams = upstreams
            self.forceTCP = forceTCP
        }
    }

    public struct Cache: Sendable {
        /// Entries kept at most (`--cache-size`); CoreDNS's default is 9984.
        public var size = 10_000
        /// Positive answers live for their TTL, at most this long (`--cache-ttl`).
        public var maxTTL: UInt32 = 30
        /// Negative answers live for the SOA's negative TTL (RFC 2308 §5), at most this long.
        public var maxDenialTTL: UInt32 = 30
        /// An entry hit this many times is refreshed shortly before it expires; 0 turns it off.
        public var prefetchHits = 2
        /// RFC 8767: how long past expiry an entry may still answer when upstreams fail. Nil: off.
        public var serveStale: Duration? = nil
        public init() {}
    }

    /// The default upstreams (`--upstream`, else the resolv.conf nameservers).
    public var upstreams: [Upstream]
    public var stubs: [Stub] = []
    /// TCP to upstreams for every query (`--force-tcp`): no conntrack entries for UDP.
    public var forceTCP = false
    /// Upstream questions in flight at once; the excess is answered SERVFAIL at once.
    public var maxConcurrent = 1000
    /// How long one upstream attempt may take before the next upstream is tried.
    public var attemptTimeout: Duration = .milliseconds(2000)
    /// The whole question's budget: one full attempt and part of a second, so that with every
    /// upstream silent the client has its SERVFAIL in under 3 s, well before a stub resolver's
    /// first retry (glibc and musl: 5 s) and CoreDNS's 5 s.
    public var deadline: Duration = .milliseconds(2800)
    /// Failed attempts in a row that mark an upstream down until a health check answers.
    public var maxFails = 2
    /// How often a down upstream is probed (`. IN NS`).
    public var healthCheckInterval: Duration = .milliseconds(500)
    public var cache = Cache()

    public init(upstreams: [Upstream]) {
        self.upstreams = upstreams
    }
}

/// The nameservers of a resolv.conf (resolv.conf(5)): `nameserver ADDR` lines, comments after
/// `#` or `;`. Link-local IPv6 with a `%zone` is skipped: there is no way to name the zone here.
public enum ResolvConf {
    public struct Problem: Error, CustomStringConvertible {
        public var description: String
    }

    public static func nameservers(in text: String, path: String) throws -> [ForwardConfiguration.Upstream] {
        var out: [ForwardConfiguration.Upstream] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(whereSeparator: { $0 == "#" || $0 == ";" }).first ?? ""
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.first == "nameserver" else { continue }
            guard fields.count >= 2, let upstream = ForwardConfiguration.Upstream(nameserver: String(fields[1])) else {
                throw Problem(description: "\(path):\(n + 1): nameserver needs an IP address: \(raw)")
            }
            out.append(upstream)
        }
        return out
    }
}

extension ForwardConfiguration.Upstream {
    /// An address without a port, as resolv.conf writes it.
    init?(nameserver host: String) {
        guard !host.contains("%"), IPAddress(host) != nil else { return nil }
        self.init(host: host, port: 53)
    }
}
