/// The fields of a v1 Pod that DNS reads: its addresses and readiness for endpoints derived from
/// a selector, `hostname`/`subdomain` for StatefulSet-style names (D10), labels for selectors.
public struct Pod: Hashable, Sendable {
    public struct ContainerPort: Hashable, Sendable {
        public var name: String?
        public var port: Int
        public var proto: String
        public init(name: String?, port: Int, proto: String) {
            self.name = name
            self.port = port
            self.proto = proto
        }
    }

    public var namespace: String
    public var name: String
    public var labels: [String: String]
    /// `status.podIPs`, falling back to `status.podIP`.
    public var ips: [String]
    /// The `Ready` condition is True.
    public var ready: Bool
    public var hostname: String?
    public var subdomain: String?
    public var containerPorts: [ContainerPort]
    /// Succeeded, Failed or being deleted: such pods are never endpoints.
    public var terminated: Bool
    /// `spec.hostNetwork`: the pod's addresses are its node's, shared with every other process
    /// there, so they say nothing about who asks (autopath).
    public var hostNetwork: Bool
    /// `status.hostIP`: the node's address, a client whose search path is not a pod's.
    public var hostIP: String?

    public init(namespace: String, name: String, labels: [String: String] = [:], ips: [String] = [], ready: Bool = false, hostname: String? = nil, subdomain: String? = nil, containerPorts: [ContainerPort] = [], terminated: Bool = false,
                hostNetwork: Bool = false, hostIP: String? = nil) {
        self.namespace = namespace
        self.name = name
        self.labels = labels
        self.ips = ips
        self.ready = ready
        self.hostname = hostname
        self.subdomain = subdomain
        self.containerPorts = containerPorts
        self.terminated = terminated
        self.hostNetwork = hostNetwork
        self.hostIP = hostIP
    }
}

/// A v1 Namespace: existence is all DNS needs (D1, D11).
public struct Namespace: Hashable, Sendable {
    public var name: String
    public init(name: String) { self.name = name }
}

/// Everything one source knows, as plain values. Sources hand this to the index builder.
public struct ClusterObjects: Sendable, Equatable {
    public var namespaces: [Namespace] = []
    public var services: [Service] = []
    public var endpointSlices: [EndpointSlice] = []
    public var pods: [Pod] = []

    public init(namespaces: [Namespace] = [], services: [Service] = [], endpointSlices: [EndpointSlice] = [], pods: [Pod] = []) {
        self.namespaces = namespaces
        self.services = services
        self.endpointSlices = endpointSlices
        self.pods = pods
    }

    public mutating func merge(_ other: ClusterObjects) {
        namespaces += other.namespaces
        services += other.services
        endpointSlices += other.endpointSlices
        pods += other.pods
    }
}
