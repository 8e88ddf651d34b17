import DNSWire

/// How a Kubernetes object becomes the slim model DNS reads, for manifests and API responses
/// alike: one set of rules. A malformed object (no name, a bad IP, an unknown protocol, a
/// selector that is not a map) is an error naming the object, with the line when the document
/// has lines; the caller reports it and skips the object, never the whole file or page.
public struct ObjectRules<Node: ManifestNode> {
    /// Where the objects come from, for errors: a file, or the API resource being read.
    public let file: String
    /// Pods read for their addresses only (autopath's client table): namespace, name, IPs,
    /// phase, `hostNetwork` and `hostIP`; labels, ports and names are left unread, so 100,000
    /// of them cost little.
    public var slimPods = false

    public init(file: String, slimPods: Bool = false) {
        self.file = file
        self.slimPods = slimPods
    }

    /// `objects(kind:_:)` as compiled for the node type (`ManifestNode.objects`): what callers
    /// in other modules use.
    public func read(kind: String, _ node: Node) throws(SourceError) -> [ClusterObject]? {
        try Node.objects(self, kind: kind, node)
    }

    /// The objects one document of `kind` holds (an `Endpoints` may hold several slices);
    /// nil when DNS does not read the kind.
    public func objects(kind: String, _ node: Node) throws(SourceError) -> [ClusterObject]? {
        switch kind {
        case "Namespace": return [.namespace(Namespace(name: try meta(node, kind: kind).name))]
        case "Service": return [.service(try service(node))]
        case "EndpointSlice": return [.endpointSlice(try endpointSlice(node))]
        case "Endpoints": return try endpoints(node).map(ClusterObject.endpointSlice)
        case "Pod": return [.pod(try pod(node))]
        default: return nil
        }
    }


    func meta(_ node: Node, kind: String) throws(SourceError) -> (name: String, namespace: String) {
        let m = node.member("metadata")
        guard let name = m?.member("name")?.text, !name.isEmpty else { throw problem(m ?? node, "\(kind) has no metadata.name") }
        // Names that become DNS labels must be labels; slice and Pod names never appear in DNS.
        guard Self.isDNSLabel(name) || kind == "Pod" || kind == "EndpointSlice" else {
            throw problem(node, "\(kind) \(name): name is not a DNS label")
        }
        if kind == "Namespace" { return (name, name) }
        let ns = m?.member("namespace")?.text ?? "default"
        guard Self.isDNSLabel(ns) else { throw problem(node, "\(name): namespace \(ns) is not a DNS label") }
        return (name, ns)
    }

    func service(_ node: Node) throws(SourceError) -> Service {
        let (name, ns) = try meta(node, kind: "Service")
        func what() -> String { "Service \(ns)/\(name)" }  // built only for a problem
        let spec = node.member("spec")
        let type = spec?.member("type")?.text ?? "ClusterIP"
        var ports: [Service.Port] = []
        for p in spec?.member("ports")?.items ?? [] {
            let proto = p.member("protocol")?.text ?? "TCP"
            guard proto == "TCP" || proto == "UDP" || proto == "SCTP" else { throw problem(p, "\(what()): unknown port protocol \(proto)") }
            guard let number = p.member("port")?.integer, (1...65535).contains(number) else { throw problem(p, "\(what()): port needs a number 1-65535") }
            var target: Service.TargetPort?
            if let t = p.member("targetPort") {
                if let n = t.integer { target = .number(n) } else if let s = t.text { target = .name(s) }
            }
            let portName = p.member("name")?.text
            if let portName, !portName.isEmpty, !Self.isDNSLabel(portName) { throw problem(p, "\(what()): port name \(portName) is not a DNS label") }
            ports.append(Service.Port(name: portName, proto: proto, port: number, targetPort: target))
        }
        var selector: [String: String]?
        if let sel = spec?.member("selector") {
            guard let map = sel.entries else { throw problem(sel, "\(what()): selector is not a map") }
            selector = [:]
            for (k, v) in map { selector![k] = v.text ?? "" }
        }
        let publish = spec?.member("publishNotReadyAddresses")?.boolean ?? false
        let kind: Service.Kind
        if type == "ExternalName" {
            guard let ext = spec?.member("externalName")?.text, !ext.isEmpty else { throw problem(node, "\(what()): ExternalName without spec.externalName") }
            kind = .externalName(ext)
        } else {
            var ips = (spec?.member("clusterIPs")?.items ?? []).compactMap { $0.text }
            if ips.isEmpty, let ip = spec?.member("clusterIP")?.text { ips = [ip] }
            if ips.first == "None" {
                kind = .headless
            } else {
                for ip in ips where IPAddress(ip) == nil && ip != "" {
                    throw problem(spec?.member("clusterIPs") ?? spec?.member("clusterIP") ?? node, "\(what()): bad IP address \(ip)")
                }
                // A Service with no ClusterIP yet (not allocated in a hand-written file) has no records.
                kind = .clusterIP(ips.filter { !$0.isEmpty })
            }
        }
        return Service(namespace: ns, name: name, kind: kind, ports: ports, selector: selector, publishNotReadyAddresses: publish)
    }

    func endpointSlice(_ node: Node) throws(SourceError) -> EndpointSlice {
        let (name, ns) = try meta(node, kind: "EndpointSlice")
        func what() -> String { "EndpointSlice \(ns)/\(name)" }  // built only for a problem
        let typeText = node.member("addressType")?.text ?? ""
        guard let type = EndpointSlice.AddressType(rawValue: typeText) else { throw problem(node, "\(what()): unknown addressType \(typeText)") }
        var endpoints: [EndpointSlice.Endpoint] = []
        for e in node.member("endpoints")?.items ?? [] {
            let addrs = (e.member("addresses")?.items ?? []).compactMap { $0.text }
            if type != .fqdn {
                for a in addrs {
                    guard let ip = IPAddress(a), ip.isIPv4 == (type == .ipv4) else { throw problem(e, "\(what()): bad \(typeText) address \(a)") }
                }
            }
            let ready = e.member("conditions")?.member("ready")?.boolean
            let podName = e.member("targetRef")?.member("kind")?.text == "Pod" ? e.member("targetRef")?.member("name")?.text : nil
            let hostname = e.member("hostname")?.text
            if let hostname, !Self.isDNSLabel(hostname) { throw problem(e, "\(what()): hostname \(hostname) is not a DNS label") }
            endpoints.append(.init(addresses: addrs, ready: ready, hostname: hostname, podName: podName))
        }
        let ports = try slicePorts(node.member("ports")?.items ?? [], what)
        let svc = node.member("metadata")?.member("labels")?.member(EndpointSlice.serviceNameLabel)?.text
        return EndpointSlice(namespace: ns, name: name, serviceName: svc, addressType: type, endpoints: endpoints, ports: ports)
    }

    func slicePorts(_ nodes: [Node], _ what: () -> String) throws(SourceError) -> [EndpointSlice.Port] {
        var out: [EndpointSlice.Port] = []
        for p in nodes {
            let proto = p.member("protocol")?.text ?? "TCP"
            guard proto == "TCP" || proto == "UDP" || proto == "SCTP" else { throw problem(p, "\(what()): unknown port protocol \(proto)") }
            out.append(.init(name: p.member("name")?.text, proto: proto, port: p.member("port")?.integer))
        }
        return out
    }

    /// v1 Endpoints, converted as the EndpointSlice mirroring controller does: one slice per
    /// subset and address family; `addresses` ready, `notReadyAddresses` not.
    func endpoints(_ node: Node) throws(SourceError) -> [EndpointSlice] {
        let (name, ns) = try meta(node, kind: "Endpoints")
        func what() -> String { "Endpoints \(ns)/\(name)" }  // built only for a problem
        var out: [EndpointSlice] = []
        for (si, subset) in (node.member("subsets")?.items ?? []).enumerated() {
            let ports = try slicePorts(subset.member("ports")?.items ?? [], what)
            var byFamily: [EndpointSlice.AddressType: [EndpointSlice.Endpoint]] = [:]
            for (key, ready) in [("addresses", true), ("notReadyAddresses", false)] {
                for a in subset.member(key)?.items ?? [] {
                    guard let text = a.member("ip")?.text, let ip = IPAddress(text) else { throw problem(a, "\(what()): bad address \(a.member("ip")?.text ?? "(none)")") }
                    let podName = a.member("targetRef")?.member("kind")?.text == "Pod" ? a.member("targetRef")?.member("name")?.text : nil
                    // The hostname is the first label of a DNS name, as in a slice (the API server
                    // validates it; a manifest may not have been through one).
                    let hostname = a.member("hostname")?.text
                    if let hostname, !Self.isDNSLabel(hostname) { throw problem(a, "\(what()): hostname \(hostname) is not a DNS label") }
                    byFamily[ip.isIPv4 ? .ipv4 : .ipv6, default: []].append(.init(addresses: [ip.description], ready: ready, hostname: hostname, podName: podName))
                }
            }
            for family in [EndpointSlice.AddressType.ipv4, .ipv6] {
                guard let eps = byFamily[family] else { continue }
                out.append(EndpointSlice(namespace: ns, name: "\(name)-mirrored-\(si)-\(family.rawValue.lowercased())", serviceName: name, addressType: family, endpoints: eps, ports: ports))
            }
        }
        return out
    }

    func pod(_ node: Node) throws(SourceError) -> Pod {
        let (name, ns) = try meta(node, kind: "Pod")
        // `hostname.subdomain` become DNS labels (D10): labels or an error, as the API server has it.
        for field in slimPods ? [] : ["hostname", "subdomain"] {
            if let text = node.member("spec")?.member(field)?.text, !Self.isDNSLabel(text) {
                throw problem(node.member("spec") ?? node, "Pod \(ns)/\(name): \(field) \(text) is not a DNS label")
            }
        }
        var labels: [String: String] = [:]
        if !slimPods, let map = node.member("metadata")?.member("labels")?.entries {
            for (k, v) in map { labels[k] = v.text ?? "" }
        }
        let status = node.member("status")
        var ips = (status?.member("podIPs")?.items ?? []).compactMap { $0.member("ip")?.text }
        if ips.isEmpty, let ip = status?.member("podIP")?.text { ips = [ip] }
        for ip in ips where IPAddress(ip) == nil { throw problem(status ?? node, "Pod \(ns)/\(name): bad IP address \(ip)") }
        let ready = !slimPods && (status?.member("conditions")?.items ?? []).contains { $0.member("type")?.text == "Ready" && $0.member("status")?.text == "True" }
        let phase = status?.member("phase")?.text ?? "Running"
        let deleting = node.member("metadata")?.member("deletionTimestamp") != nil
        var ports: [Pod.ContainerPort] = []
        for c in slimPods ? [] : node.member("spec")?.member("containers")?.items ?? [] {
            for p in c.member("ports")?.items ?? [] {
                if let n = p.member("containerPort")?.integer { ports.append(.init(name: p.member("name")?.text, port: n, proto: p.member("protocol")?.text ?? "TCP")) }
            }
        }
        return Pod(namespace: ns, name: name, labels: labels, ips: ips.compactMap { IPAddress($0)?.description }, ready: ready,
                   hostname: slimPods ? nil : node.member("spec")?.member("hostname")?.text,
                   subdomain: slimPods ? nil : node.member("spec")?.member("subdomain")?.text,
                   containerPorts: ports, terminated: deleting || phase == "Succeeded" || phase == "Failed",
                   hostNetwork: node.member("spec")?.member("hostNetwork")?.boolean ?? false,
                   hostIP: status?.member("hostIP")?.text.flatMap { IPAddress($0)?.description })
    }

    func problem(_ node: Node, _ message: String) -> SourceError {
        SourceError(file: file, line: node.line, message: message)
    }

    /// RFC 1123 label as Kubernetes validates names: 1–63 of [a-z0-9-], alphanumeric at both ends.
    /// Service names may start with a digit (D17).
    public static func isDNSLabel(_ s: String) -> Bool {
        // Over the String's own bytes: no array per name (every object has two or three).
        var s = s
        return s.withUTF8 { b in
            guard (1...63).contains(b.count) else { return false }
            func alnum(_ c: UInt8) -> Bool { (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) }
            guard alnum(b[0]), alnum(b[b.count - 1]) else { return false }
            return b.allSatisfy { alnum($0) || $0 == 0x2D }
        }
    }
}
