import DNSWire
import KubeModel
import Yams

/// Decodes Kubernetes manifests (YAML or JSON, multi-document, `kind: List` and `*List`) into
/// the slim model, keeping only what DNS reads. A malformed object is reported with file, line
/// and object and skipped; it never fails the file (issue 3). A file that does not parse as YAML
/// throws, so the caller can keep the file's last good content.
public struct ManifestDecoder {
    public struct Result: Sendable, Equatable {
        public var objects = ClusterObjects()
        public var problems: [SourceError] = []
        /// Kinds we do not read, counted (logged once per kind).
        public var skippedKinds: [String: Int] = [:]
        public init() {}
    }

    let file: String

    public init(file: String) {
        self.file = file
    }

    public func decode(_ text: String) throws(SourceError) -> Result {
        var result = Result()
        do {
            // The sequence stops at a parse error and keeps it in `error`: check it, or a broken
            // file would read as a file that ends early.
            var documents = try Yams.compose_all(yaml: text)
            while let document = documents.next() {
                decodeDocument(document, into: &result)
            }
            if let error = documents.error { throw error }
        } catch let error as YamlError {
            throw SourceError(file: file, line: Self.line(of: error), message: "YAML: \(Self.problem(of: error))")
        } catch {
            throw SourceError(file: file, line: 1, message: "YAML: \(error)")
        }
        return result
    }

    static func line(of error: YamlError) -> Int {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        default: return 1
        }
    }

    static func problem(of error: YamlError) -> String {
        switch error {
        case .scanner(let ctx, let problem, _, _), .parser(let ctx, let problem, _, _), .composer(let ctx, let problem, _, _):
            return ctx.map { "\(problem) \($0.text)" } ?? problem
        default: return "\(error)"
        }
    }

    func decodeDocument(_ node: Node, into result: inout Result) {
        guard node.mapping != nil else {
            if case .scalar(let s) = node, s.string.isEmpty || s.string == "null" || s.string == "~" { return }  // empty document
            result.problems.append(problem(node, "document is not a mapping"))
            return
        }
        let kind = node["kind"]?.string ?? ""
        if kind == "List" || (kind.hasSuffix("List") && node["items"] != nil) {
            for item in node["items"]?.sequence ?? [] { decodeDocument(item, into: &result) }
            return
        }
        do {
            switch kind {
            case "Namespace": result.objects.namespaces.append(Namespace(name: try meta(node).name))
            case "Service": result.objects.services.append(try service(node))
            case "EndpointSlice": result.objects.endpointSlices.append(try endpointSlice(node))
            case "Endpoints": result.objects.endpointSlices += try endpoints(node)
            case "Pod": result.objects.pods.append(try pod(node))
            case "":
                result.problems.append(problem(node, "object has no kind"))
            default:
                result.skippedKinds[kind, default: 0] += 1
            }
        } catch {
            result.problems.append(error)
        }
    }

    // MARK: - Objects

    func meta(_ node: Node) throws(SourceError) -> (name: String, namespace: String) {
        let m = node["metadata"]
        guard let name = m?["name"]?.string, !name.isEmpty else { throw problem(m ?? node, "\(node["kind"]?.string ?? "object") has no metadata.name") }
        guard Self.isDNSLabel(name) || node["kind"]?.string == "Pod" else {
            throw problem(node, "\(node["kind"]?.string ?? "object") \(name): name is not a DNS label")
        }
        let ns = m?["namespace"]?.string ?? "default"
        guard Self.isDNSLabel(ns) else { throw problem(node, "\(name): namespace \(ns) is not a DNS label") }
        return (name, ns)
    }

    func service(_ node: Node) throws(SourceError) -> Service {
        let (name, ns) = try meta(node)
        let what = "Service \(ns)/\(name)"
        let spec = node["spec"]
        let type = spec?["type"]?.string ?? "ClusterIP"
        var ports: [Service.Port] = []
        for p in spec?["ports"]?.sequence ?? [] {
            let proto = p["protocol"]?.string ?? "TCP"
            guard ["TCP", "UDP", "SCTP"].contains(proto) else { throw problem(p, "\(what): unknown port protocol \(proto)") }
            guard let number = p["port"]?.int, (1...65535).contains(number) else { throw problem(p, "\(what): port needs a number 1-65535") }
            var target: Service.TargetPort?
            if let t = p["targetPort"] {
                if let n = t.int { target = .number(n) } else if let s = t.string { target = .name(s) }
            }
            let portName = p["name"]?.string
            if let portName, !portName.isEmpty, !Self.isDNSLabel(portName) { throw problem(p, "\(what): port name \(portName) is not a DNS label") }
            ports.append(Service.Port(name: portName, proto: proto, port: number, targetPort: target))
        }
        var selector: [String: String]?
        if let sel = spec?["selector"] {
            guard let map = sel.mapping else { throw problem(sel, "\(what): selector is not a map") }
            selector = [:]
            for (k, v) in map { selector![k.string ?? ""] = v.string ?? "" }
        }
        let publish = spec?["publishNotReadyAddresses"]?.bool ?? false
        let kind: Service.Kind
        if type == "ExternalName" {
            guard let ext = spec?["externalName"]?.string, !ext.isEmpty else { throw problem(node, "\(what): ExternalName without spec.externalName") }
            kind = .externalName(ext)
        } else {
            var ips = (spec?["clusterIPs"]?.sequence ?? []).compactMap { $0.string }
            if ips.isEmpty, let ip = spec?["clusterIP"]?.string { ips = [ip] }
            if ips.first == "None" {
                kind = .headless
            } else {
                for ip in ips where IPAddress(ip) == nil && ip != "" {
                    throw problem(spec?["clusterIPs"] ?? spec?["clusterIP"] ?? node, "\(what): bad IP address \(ip)")
                }
                // A Service with no ClusterIP yet (not allocated in a hand-written file) has no records.
                kind = .clusterIP(ips.filter { !$0.isEmpty })
            }
        }
        return Service(namespace: ns, name: name, kind: kind, ports: ports, selector: selector, publishNotReadyAddresses: publish)
    }

    func endpointSlice(_ node: Node) throws(SourceError) -> EndpointSlice {
        let (name, ns) = try meta(node)
        let what = "EndpointSlice \(ns)/\(name)"
        let typeText = node["addressType"]?.string ?? ""
        guard let type = EndpointSlice.AddressType(rawValue: typeText) else { throw problem(node, "\(what): unknown addressType \(typeText)") }
        var endpoints: [EndpointSlice.Endpoint] = []
        for e in node["endpoints"]?.sequence ?? [] {
            let addrs = (e["addresses"]?.sequence ?? []).compactMap { $0.string }
            if type != .fqdn {
                for a in addrs {
                    guard let ip = IPAddress(a), ip.isIPv4 == (type == .ipv4) else { throw problem(e, "\(what): bad \(typeText) address \(a)") }
                }
            }
            let ready = e["conditions"]?["ready"]?.bool
            let podName = e["targetRef"]?["kind"]?.string == "Pod" ? e["targetRef"]?["name"]?.string : nil
            let hostname = e["hostname"]?.string
            if let hostname, !Self.isDNSLabel(hostname) { throw problem(e, "\(what): hostname \(hostname) is not a DNS label") }
            endpoints.append(.init(addresses: addrs, ready: ready, hostname: hostname, podName: podName))
        }
        let ports = try slicePorts(Array(node["ports"]?.sequence ?? []), what)
        let svc = node["metadata"]?["labels"]?[EndpointSlice.serviceNameLabel]?.string
        return EndpointSlice(namespace: ns, name: name, serviceName: svc, addressType: type, endpoints: endpoints, ports: ports)
    }

    func slicePorts(_ nodes: [Node], _ what: String) throws(SourceError) -> [EndpointSlice.Port] {
        var out: [EndpointSlice.Port] = []
        for p in nodes {
            let proto = p["protocol"]?.string ?? "TCP"
            guard ["TCP", "UDP", "SCTP"].contains(proto) else { throw problem(p, "\(what): unknown port protocol \(proto)") }
            out.append(.init(name: p["name"]?.string, proto: proto, port: p["port"]?.int))
        }
        return out
    }

    /// v1 Endpoints, converted as the EndpointSlice mirroring controller does: one slice per
    /// subset and address family; `addresses` ready, `notReadyAddresses` not.
    func endpoints(_ node: Node) throws(SourceError) -> [EndpointSlice] {
        let (name, ns) = try meta(node)
        let what = "Endpoints \(ns)/\(name)"
        var out: [EndpointSlice] = []
        for (si, subset) in (node["subsets"]?.sequence ?? []).enumerated() {
            let ports = try slicePorts(Array(subset["ports"]?.sequence ?? []), what)
            var byFamily: [EndpointSlice.AddressType: [EndpointSlice.Endpoint]] = [:]
            for (key, ready) in [("addresses", true), ("notReadyAddresses", false)] {
                for a in subset[key]?.sequence ?? [] {
                    guard let text = a["ip"]?.string, let ip = IPAddress(text) else { throw problem(a, "\(what): bad address \(a["ip"]?.string ?? "(none)")") }
                    let podName = a["targetRef"]?["kind"]?.string == "Pod" ? a["targetRef"]?["name"]?.string : nil
                    byFamily[ip.isIPv4 ? .ipv4 : .ipv6, default: []].append(.init(addresses: [ip.description], ready: ready, hostname: a["hostname"]?.string, podName: podName))
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
        let (name, ns) = try meta(node)
        var labels: [String: String] = [:]
        if let map = node["metadata"]?["labels"]?.mapping {
            for (k, v) in map { labels[k.string ?? ""] = v.string ?? "" }
        }
        let status = node["status"]
        var ips = (status?["podIPs"]?.sequence ?? []).compactMap { $0["ip"]?.string }
        if ips.isEmpty, let ip = status?["podIP"]?.string { ips = [ip] }
        for ip in ips where IPAddress(ip) == nil { throw problem(status ?? node, "Pod \(ns)/\(name): bad IP address \(ip)") }
        let ready = (status?["conditions"]?.sequence ?? []).contains { $0["type"]?.string == "Ready" && $0["status"]?.string == "True" }
        let phase = status?["phase"]?.string ?? "Running"
        let deleting = node["metadata"]?["deletionTimestamp"] != nil
        var ports: [Pod.ContainerPort] = []
        for c in node["spec"]?["containers"]?.sequence ?? [] {
            for p in c["ports"]?.sequence ?? [] {
                if let n = p["containerPort"]?.int { ports.append(.init(name: p["name"]?.string, port: n, proto: p["protocol"]?.string ?? "TCP")) }
            }
        }
        return Pod(namespace: ns, name: name, labels: labels, ips: ips.compactMap { IPAddress($0)?.description }, ready: ready,
                   hostname: node["spec"]?["hostname"]?.string, subdomain: node["spec"]?["subdomain"]?.string,
                   containerPorts: ports, terminated: deleting || phase == "Succeeded" || phase == "Failed")
    }

    func problem(_ node: Node, _ message: String) -> SourceError {
        SourceError(file: file, line: node.mark?.line ?? 1, message: message)
    }

    /// RFC 1123 label as Kubernetes validates names: 1–63 of [a-z0-9-], alphanumeric at both ends.
    /// Service names may start with a digit (D17).
    static func isDNSLabel(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard (1...63).contains(b.count) else { return false }
        func alnum(_ c: UInt8) -> Bool { (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) }
        guard alnum(b.first!), alnum(b.last!) else { return false }
        return b.allSatisfy { alnum($0) || $0 == 0x2D }
    }
}
