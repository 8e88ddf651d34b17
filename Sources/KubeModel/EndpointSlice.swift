/// The fields of a `discovery.k8s.io/v1` EndpointSlice that DNS reads (spec D8).
public struct EndpointSlice: Hashable, Sendable {
    public enum AddressType: String, Hashable, Sendable {
        case ipv4 = "IPv4"
        case ipv6 = "IPv6"
        case fqdn = "FQDN"
    }

    public struct Endpoint: Hashable, Sendable {
        /// The addresses (at least one in a valid slice; consumers may use only the first).
        /// Kept as the first inline plus the rest, so the usual single address needs no array:
        /// an index holds one of these per endpoint in the cluster.
        public var addresses: [String] {
            get { first.map { [$0] + more } ?? [] }
            set {
                first = newValue.first
                more = Array(newValue.dropFirst())
            }
        }
        private var first: String?
        private var more: [String] = []

        /// `addresses.count`, without building the array.
        public var addressCount: Int { first == nil ? 0 : 1 + more.count }

        /// Calls `body` with each address in order, without building an array (the index reads
        /// every endpoint's addresses at each derivation).
        public func forEachAddress(_ body: (String) throws -> Void) rethrows {
            guard let first else { return }
            try body(first)
            for a in more { try body(a) }
        }
        /// `conditions.ready`; nil counts as ready (S4).
        public var ready: Bool?
        public var hostname: String?
        /// `targetRef.name` when it refers to a Pod (for `--endpoint-pod-names`).
        public var podName: String?

        public init(addresses: [String], ready: Bool? = nil, hostname: String? = nil, podName: String? = nil) {
            self.first = addresses.first
            self.more = Array(addresses.dropFirst())
            self.ready = ready
            self.hostname = hostname
            self.podName = podName
        }

        public var isReady: Bool { ready ?? true }
    }

    public struct Port: Hashable, Sendable {
        public var name: String?
        public var proto: String
        public var port: Int?
        public init(name: String?, proto: String, port: Int?) {
            self.name = name
            self.proto = proto
            self.port = port
        }
    }

    public var namespace: String
    public var name: String
    /// The label `kubernetes.io/service-name`; a slice without it belongs to no Service (D8).
    public var serviceName: String?
    public var addressType: AddressType
    public var endpoints: [Endpoint]
    public var ports: [Port]

    public init(namespace: String, name: String, serviceName: String?, addressType: AddressType, endpoints: [Endpoint], ports: [Port]) {
        self.namespace = namespace
        self.name = name
        self.serviceName = serviceName
        self.addressType = addressType
        self.endpoints = endpoints
        self.ports = ports
    }

    public static let serviceNameLabel = "kubernetes.io/service-name"
}
