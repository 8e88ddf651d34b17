import DNSWire
import Foundation
import KubeModel

/// The Kubernetes objects as the API server sends them, declaring only the fields DNS reads:
/// `JSONDecoder` skips everything else, so a list page becomes slim `KubeModel` values without
/// whole objects ever being kept. The rules match the manifest decoder's, minus its validation
/// (the API server validated already); a value DNS cannot use is dropped, not fatal.
enum KubeJSON {
    struct Metadata: Decodable {
        var name: String?
        var namespace: String?
        var resourceVersion: String?
        var labels: [String: String]?
        var deletionTimestamp: String?
    }

    struct ListMeta: Decodable {
        var resourceVersion: String?
        var `continue`: String?
    }

    struct List<Item: Decodable>: Decodable {
        var metadata: ListMeta?
        var items: [Item]?
    }

    /// One line of a watch stream. `object` is the resource for ADDED/MODIFIED/DELETED, a
    /// metadata-only object for BOOKMARK, a Status for ERROR.
    struct WatchEvent<Item: Decodable>: Decodable {
        var type: String
        var object: Item
    }

    /// The envelope of ERROR events and failed requests.
    struct Status: Decodable {
        var kind: String?
        var code: Int?
        var reason: String?
        var message: String?
        var metadata: ListMeta?
    }

    /// Only the metadata: enough for BOOKMARK events and deletes.
    struct MetaOnly: Decodable {
        var metadata: Metadata?
    }

    enum IntOrString: Decodable {
        case int(Int), string(String)
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let i = try? c.decode(Int.self) { self = .int(i) } else { self = .string(try c.decode(String.self)) }
        }
    }

    struct ServiceJSON: Decodable {
        struct Port: Decodable {
            var name: String?
            var `protocol`: String?
            var port: Int?
            var targetPort: IntOrString?
        }
        struct Spec: Decodable {
            var type: String?
            var clusterIP: String?
            var clusterIPs: [String]?
            var externalName: String?
            var ports: [Port]?
            var selector: [String: String]?
            var publishNotReadyAddresses: Bool?
        }
        var metadata: Metadata?
        var spec: Spec?

        var model: Service? {
            guard let name = metadata?.name, let ns = metadata?.namespace else { return nil }
            let spec = self.spec
            let ports = (spec?.ports ?? []).compactMap { p -> Service.Port? in
                guard let n = p.port else { return nil }
                let target: Service.TargetPort? = p.targetPort.map {
                    switch $0 {
                    case .int(let i): return .number(i)
                    case .string(let s): return .name(s)
                    }
                }
                return Service.Port(name: p.name.flatMap { $0.isEmpty ? nil : $0 }, proto: p.protocol ?? "TCP", port: n, targetPort: target)
            }
            let kind: Service.Kind
            if spec?.type == "ExternalName" {
                guard let ext = spec?.externalName, !ext.isEmpty else { return nil }
                kind = .externalName(ext)
            } else {
                var ips = spec?.clusterIPs ?? []
                if ips.isEmpty, let ip = spec?.clusterIP { ips = [ip] }
                if ips.first == "None" {
                    kind = .headless
                } else {
                    kind = .clusterIP(ips.filter { IPAddress($0) != nil })
                }
            }
            return Service(namespace: ns, name: name, kind: kind, ports: ports, selector: spec?.selector,
                           publishNotReadyAddresses: spec?.publishNotReadyAddresses ?? false)
        }
    }

    struct EndpointSliceJSON: Decodable {
        struct Endpoint: Decodable {
            struct Conditions: Decodable { var ready: Bool? }
            struct TargetRef: Decodable { var kind: String?; var name: String? }
            var addresses: [String]?
            var conditions: Conditions?
            var hostname: String?
            var targetRef: TargetRef?
        }
        struct Port: Decodable {
            var name: String?
            var `protocol`: String?
            var port: Int?
        }
        var metadata: Metadata?
        var addressType: String?
        var endpoints: [Endpoint]?
        var ports: [Port]?

        var model: EndpointSlice? {
            guard let name = metadata?.name, let ns = metadata?.namespace,
                  let type = EndpointSlice.AddressType(rawValue: addressType ?? "") else { return nil }
            let endpoints = (self.endpoints ?? []).map { e in
                let addrs = (e.addresses ?? []).filter { type == .fqdn || IPAddress($0).map { $0.isIPv4 == (type == .ipv4) } == true }
                return EndpointSlice.Endpoint(addresses: addrs, ready: e.conditions?.ready, hostname: e.hostname,
                                              podName: e.targetRef?.kind == "Pod" ? e.targetRef?.name : nil)
            }
            let ports = (self.ports ?? []).map { EndpointSlice.Port(name: $0.name, proto: $0.protocol ?? "TCP", port: $0.port) }
            return EndpointSlice(namespace: ns, name: name, serviceName: metadata?.labels?[EndpointSlice.serviceNameLabel],
                                 addressType: type, endpoints: endpoints, ports: ports)
        }
    }

    struct NamespaceJSON: Decodable {
        var metadata: Metadata?
        var model: Namespace? { metadata?.name.map(Namespace.init(name:)) }
    }

    struct PodJSON: Decodable {
        struct Spec: Decodable {
            struct Container: Decodable {
                struct Port: Decodable { var name: String?; var containerPort: Int?; var `protocol`: String? }
                var ports: [Port]?
            }
            var hostname: String?
            var subdomain: String?
            var containers: [Container]?
        }
        struct Status: Decodable {
            struct IP: Decodable { var ip: String? }
            struct Condition: Decodable { var type: String?; var status: String? }
            var podIP: String?
            var podIPs: [IP]?
            var phase: String?
            var conditions: [Condition]?
        }
        var metadata: Metadata?
        var spec: Spec?
        var status: Status?

        var model: Pod? {
            guard let name = metadata?.name, let ns = metadata?.namespace else { return nil }
            var ips = (status?.podIPs ?? []).compactMap(\.ip)
            if ips.isEmpty, let ip = status?.podIP { ips = [ip] }
            let ready = (status?.conditions ?? []).contains { $0.type == "Ready" && $0.status == "True" }
            let phase = status?.phase ?? "Running"
            let ports = (spec?.containers ?? []).flatMap { c in
                (c.ports ?? []).compactMap { p in p.containerPort.map { Pod.ContainerPort(name: p.name, port: $0, proto: p.protocol ?? "TCP") } }
            }
            return Pod(namespace: ns, name: name, labels: metadata?.labels ?? [:], ips: ips.compactMap { IPAddress($0)?.description },
                       ready: ready, hostname: spec?.hostname, subdomain: spec?.subdomain, containerPorts: ports,
                       terminated: metadata?.deletionTimestamp != nil || phase == "Succeeded" || phase == "Failed")
        }
    }
}
