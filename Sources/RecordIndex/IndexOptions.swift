import DNSWire

/// What shapes the records built from cluster objects: CoreDNS's kubernetes plugin options under
/// the names of issue 3 (`coredns-kubernetes.md` §1 gives their meaning).
public struct IndexOptions: Sendable, Equatable {
    /// Cluster domains; the first is the primary one, used by PTR targets (D15).
    public var clusterDomains: [DNSName] = [DNSName("cluster.local")!]
    public var reverseZones: [DNSName] = [DNSName("in-addr.arpa")!, DNSName("ip6.arpa")!]
    /// TTL of every generated record, and the SOA minimum (D5). 0–3600.
    public var ttl: UInt32 = 5
    public var pods: Zone.PodRecords = .disabled
    /// Expose only these namespaces; nil exposes all (D11).
    public var namespaces: Set<String>? = nil
    public var endpointPodNames = false
    public var ignoreEmptyService = false
    public var noEndpoints = false
    /// Addresses of this server: glue for `ns.dns.<zone>` (D4).
    public var nameserverAddresses: [IPAddress] = []
    /// Keep `ClientNamespaces` (client address → namespace) for autopath; off, it costs nothing.
    public var clientNamespaces = false

    public init() {}

    /// The schema version advertised at `dns-version.<zone>` (S1, S6).
    public static let schemaVersion = "1.1.0"
}
