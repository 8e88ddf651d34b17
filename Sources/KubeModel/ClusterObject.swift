/// The kinds of object DNS reads.
public enum ObjectKind: String, Sendable, CaseIterable, Hashable {
    case namespace, service, endpointSlice, pod
}

/// `namespace/name`; a Namespace's own key has an empty namespace.
public struct ObjectName: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    public static func < (a: ObjectName, b: ObjectName) -> Bool {
        (a.namespace, a.name) < (b.namespace, b.name)
    }

    public var description: String { namespace.isEmpty ? name : namespace + "/" + name }
}

/// One object of any kind DNS reads, as the sources deliver it.
public enum ClusterObject: Hashable, Sendable {
    case namespace(Namespace)
    case service(Service)
    case endpointSlice(EndpointSlice)
    case pod(Pod)

    public var kind: ObjectKind {
        switch self {
        case .namespace: return .namespace
        case .service: return .service
        case .endpointSlice: return .endpointSlice
        case .pod: return .pod
        }
    }

    public var name: ObjectName {
        switch self {
        case .namespace(let n): return ObjectName(namespace: "", name: n.name)
        case .service(let s): return ObjectName(namespace: s.namespace, name: s.name)
        case .endpointSlice(let s): return ObjectName(namespace: s.namespace, name: s.name)
        case .pod(let p): return ObjectName(namespace: p.namespace, name: p.name)
        }
    }

    /// The namespace the object lives in (a Namespace: its own name).
    public var namespace: String {
        switch self {
        case .namespace(let n): return n.name
        case .service(let s): return s.namespace
        case .endpointSlice(let s): return s.namespace
        case .pod(let p): return p.namespace
        }
    }
}

extension ClusterObjects {
    /// Every object, namespaces first.
    public var all: [ClusterObject] {
        namespaces.map(ClusterObject.namespace) + services.map(ClusterObject.service)
            + endpointSlices.map(ClusterObject.endpointSlice) + pods.map(ClusterObject.pod)
    }
}
