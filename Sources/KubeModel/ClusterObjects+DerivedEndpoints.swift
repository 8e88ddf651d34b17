/// What the EndpointSlice controller would write for Services that have a selector but no slices
/// in the source: a directory of Services and Pods is then enough (issue 3). The rules follow the
/// controller: only running, non-terminating pods with an IP; `ready` is "pod Ready OR
/// publishNotReadyAddresses"; `hostname` only when the pod's `subdomain` names the Service (D10);
/// named target ports resolve against each pod's container ports.
extension ClusterObjects {
    /// Slices for every selector Service that has no slice of its own in `endpointSlices`.
    public func derivedEndpointSlices() -> [EndpointSlice] {
        var covered = Set<String>()
        for slice in endpointSlices {
            if let svc = slice.serviceName { covered.insert(slice.namespace + "/" + svc) }
        }
        var podsByNamespace: [String: [Pod]] = [:]
        for pod in pods where !pod.terminated && !pod.ips.isEmpty {
            podsByNamespace[pod.namespace, default: []].append(pod)
        }
        var out: [EndpointSlice] = []
        for svc in services {
            guard let selector = svc.selector, !selector.isEmpty else { continue }
            if case .externalName = svc.kind { continue }
            guard !covered.contains(svc.namespace + "/" + svc.name) else { continue }
            // One slice per (address family, resolved port list), as the controller groups them.
            var groups: [String: EndpointSlice] = [:]
            var order: [String] = []
            for pod in podsByNamespace[svc.namespace] ?? [] {
                guard selector.allSatisfy({ pod.labels[$0.key] == $0.value }) else { continue }
                let ports = svc.ports.map { p -> EndpointSlice.Port in
                    EndpointSlice.Port(name: p.name, proto: p.proto, port: Self.resolve(p, in: pod))
                }
                let hostname = (pod.subdomain == svc.name && !(pod.hostname ?? "").isEmpty) ? pod.hostname : nil
                for ip in pod.ips {
                    let family: EndpointSlice.AddressType = ip.contains(":") ? .ipv6 : .ipv4
                    let key = family.rawValue + "|" + ports.map { "\($0.name ?? "")/\($0.proto)/\($0.port ?? -1)" }.joined(separator: ",")
                    if groups[key] == nil {
                        order.append(key)
                        groups[key] = EndpointSlice(
                            namespace: svc.namespace, name: "\(svc.name)-derived-\(order.count)",
                            serviceName: svc.name, addressType: family, endpoints: [], ports: ports)
                    }
                    groups[key]!.endpoints.append(EndpointSlice.Endpoint(
                        addresses: [ip], ready: pod.ready || svc.publishNotReadyAddresses,
                        hostname: hostname, podName: pod.name))
                }
            }
            out += order.map { groups[$0]! }
        }
        return out
    }

    static func resolve(_ port: Service.Port, in pod: Pod) -> Int? {
        switch port.targetPort {
        case nil: return port.port
        case .number(let n): return n
        case .name(let name):
            return pod.containerPorts.first { $0.name == name && $0.proto == port.proto }?.port
        }
    }
}
