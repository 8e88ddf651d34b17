/// The fields of a v1 Service that DNS reads (CoreDNS `object.Service` is the model: slim values,
/// nothing else of the object kept).
public struct Service: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// ClusterIP, NodePort and LoadBalancer alike: only the ClusterIPs reach the cluster zone (D17).
        case clusterIP([String])
        /// `spec.clusterIP: None` (S15).
        case headless
        /// `type: ExternalName` with the raw `spec.externalName` (S24).
        case externalName(String)
    }

    public struct Port: Hashable, Sendable {
        public var name: String?
        /// "TCP", "UDP" or "SCTP".
        public var proto: String
        public var port: Int
        /// `targetPort`: a number or a container port name; nil means the same as `port`.
        public var targetPort: TargetPort?

        public init(name: String?, proto: String, port: Int, targetPort: TargetPort? = nil) {
            self.name = name
            self.proto = proto
            self.port = port
            self.targetPort = targetPort
        }
    }

    public enum TargetPort: Hashable, Sendable {
        case number(Int)
        case name(String)
    }

    public var namespace: String
    public var name: String
    public var kind: Kind
    public var ports: [Port]
    /// Nil when the Service has no selector (its endpoints are managed by hand).
    public var selector: [String: String]?
    public var publishNotReadyAddresses: Bool

    public init(namespace: String, name: String, kind: Kind, ports: [Port] = [], selector: [String: String]? = nil, publishNotReadyAddresses: Bool = false) {
        self.namespace = namespace
        self.name = name
        self.kind = kind
        self.ports = ports
        self.selector = selector
        self.publishNotReadyAddresses = publishNotReadyAddresses
    }
}
