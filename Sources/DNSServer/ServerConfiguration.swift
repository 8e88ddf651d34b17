import DNSResponder
import DNSWire

/// How the listeners behave. Defaults are the issue's: RFC 7766 limits, a 1232-byte UDP ceiling.
public struct ServerConfiguration: Sendable {
    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// `ADDR:PORT`, with IPv6 in brackets: `127.0.0.1:5353`, `[::1]:5353`.
        public init?(parsing text: String) {
            if text.hasPrefix("[") {
                guard let close = text.firstIndex(of: "]") else { return nil }
                host = String(text[text.index(after: text.startIndex)..<close])
                let rest = text[text.index(after: close)...]
                guard rest.hasPrefix(":"), let p = Int(rest.dropFirst()), (0...65535).contains(p) else { return nil }
                port = p
            } else {
                guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":"),
                      let p = Int(text[text.index(after: colon)...]), (0...65535).contains(p) else { return nil }
                host = String(text[..<colon])
                port = p
            }
            guard !host.isEmpty else { return nil }
        }

        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    public var listen: [Endpoint]
    /// Largest UDP answer we send (`--udp-size`).
    public var udpSize: Int = 1232
    /// Seconds a TCP connection may sit without a complete query (RFC 7766 §6.2.3).
    public var tcpIdleTimeout: Int64 = 10
    /// Open TCP connections allowed at once; more are closed on accept.
    public var maxTCPConnections: Int = 1000
    /// Queries answered on one TCP connection before it is closed; 0: no limit. A client that
    /// pipelines past the limit loses what it sent after it (RFC 7766 lets it retry them), so
    /// the default is none, as NSD's `tcp-query-count` and CoreDNS have it; idle connections
    /// are closed by the idle timeout and the connection cap.
    public var maxQueriesPerConnection: Int = 0
    /// One log line per query (`--log-queries`), for debugging.
    public var logQueries = false
    /// UDP sockets per address: one per event loop with SO_REUSEPORT.
    public var udpSocketsPerAddress: Int? = nil
    /// CoreDNS `loadbalance`: the A and AAAA records of an answer rotate by one per reply, so
    /// clients that take the first address spread over a headless Service's pods.
    public var loadBalance = true
    /// CoreDNS `autopath @kubernetes` (`--autopath`): a pod's search path walked for it. The
    /// index must keep `ClientNamespaces` (`IndexOptions.clientNamespaces`).
    public var autopath = false
    /// `--filter-aaaa`: AAAA questions that would go upstream answer NODATA at once.
    public var filterAAAA = false
    /// Reverse names we hold no PTR for go upstream (CoreDNS `kubernetes { fallthrough
    /// in-addr.arpa ip6.arpa }`, as every stock Corefile and the flags have it); off, they are
    /// NXDOMAIN from the reverse zone.
    public var reverseFallthrough = true
    /// Zones inside the served ones that are forwarded instead (`QueryProcessor.forwardedInside`);
    /// each must be a stub domain of the forwarding configuration.
    public var forwardedInside: [DNSName] = []
    /// The Corefile's hosts, template, rewrite, chaos and whoami plugins by server block; nil when no
    /// block has one (the query path is then exactly what it is without a Corefile).
    public var plugins: PluginChain? = nil

    public init(listen: [Endpoint]) {
        self.listen = listen
    }
}
