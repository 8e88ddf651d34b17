import DNSWire
import KubeModel

/// The records of the Kubernetes DNS schema (kubernetes-dns.md S6–S26, D1–D19), decided per
/// object when it changes, so a query is one lookup (DESIGN.md, "precompute at load").
/// `ClusterIndex` calls these for the objects an event touched.
struct RecordRules {
    let options: IndexOptions
    var serial: UInt32

    /// `svc.<zone>` for each cluster domain, built once: every Service name ends with one.
    private let svcSuffixes: [DNSName: DNSName]

    init(options: IndexOptions, serial: UInt32) {
        self.options = options
        self.serial = serial
        var suffixes: [DNSName: DNSName] = [:]
        for zone in options.clusterDomains { suffixes[zone] = (try? DNSName(labels: ["svc"], suffix: zone)) ?? zone }
        svcSuffixes = suffixes
    }

    func svcSuffix(_ zone: DNSName) -> DNSName {
        svcSuffixes[zone] ?? name(["svc"], zone)
    }

    /// One ready address of a Service, with the name it is published under.
    struct ReadyAddress {
        var ip: IPAddress
        /// The endpoint's label; nil for the address with dashes (S5's default, most
        /// endpoints), which is written when needed rather than kept as a String each.
        var hostname: String?
        var ports: [EndpointSlice.Port]

        /// `<hostname>.<svc>`.
        func name(under svcName: DNSName) throws -> DNSName {
            guard let hostname else { return try EndpointName.name(dashed: ip, suffix: svcName) }
            return try DNSName(labels: [hostname], suffix: svcName)
        }
    }

    /// The records one Service owns in one cluster zone: every name under `<svc>.<ns>.svc.<zone>`
    /// (S7–S26), with the empty non-terminals between them and the Service's name. No other
    /// object writes below that name, so a Service's subtree is replaced whole when it changes.
    /// `ready` are the Service's ready addresses, from its slices in a stable order.
    func serviceNodes(_ svc: Service, zone: DNSName, ready: [ReadyAddress]) -> (svcName: DNSName, nodes: BuiltNodes)? {
        guard let svcName = try? DNSName(labels: [svc.name, svc.namespace], suffix: svcSuffix(zone)) else { return nil }
        // The Service, its endpoints, and per port an SRV name and its `_proto` parent.
        var t = NodeTable(capacity: 1 + ready.count + 2 * svc.ports.count)
        switch svc.kind {
        case .externalName(let target):
            // S24/D12: a CNAME, never an A for an IP-shaped value.
            guard IPAddress(target) == nil, !target.isEmpty,
                  let targetName = try? DNSName(parsing: target.hasSuffix(".") ? target : target + ".") else { break }
            t.add(ResourceRecord(name: svcName, ttl: options.ttl, rdata: .cname(targetName)))

        case .clusterIP(let ips):
            if options.ignoreEmptyService && ready.isEmpty { break }
            let addrs = ips.compactMap(IPAddress.init)
            guard !addrs.isEmpty else { break }
            let glue = addrs.map { addressRecord(svcName, $0) }
            glue.forEach { t.add($0) }
            // S9/S11: SRV per named port, target the Service; CoreDNS weights (S10).
            for p in svc.ports {
                addSRV(&t, svcName: svcName, port: (p.name, p.proto, p.port), targets: [(svcName, glue)],
                       weight: srvWeight(entries: addrs.count), bareWeight: srvWeight(entries: svc.ports.count * addrs.count))
            }
            // Extension (coredns-kubernetes.md §4 items 1–2): endpoint names and PTRs under
            // ClusterIP Services.
            addEndpointNames(&t, svcName: svcName, ready: ready, srv: false)

        case .headless:
            // S17: no ready endpoint → the name does not exist.
            guard !ready.isEmpty else { break }
            for r in ready { t.add(addressRecord(svcName, r.ip)) }
            addEndpointNames(&t, svcName: svcName, ready: ready, srv: true)
        }
        return (svcName, t.isEmpty ? .empty : t.close(apex: svcName))
    }

    /// The PTRs a Service contributes (primary zone only): its ClusterIPs, which win over any
    /// endpoint's (D15), and its ready endpoints' names.
    func servicePTRs(_ svc: Service, nodes: BuiltNodes, ready: [ReadyAddress]) -> [PTRContribution] {
        guard !nodes.isEmpty else { return [] }
        switch svc.kind {
        case .externalName:
            return []
        case .clusterIP(let ips):
            return ips.compactMap(IPAddress.init).map { PTRContribution(ip: $0, host: .clusterIP) }
                + ready.map { PTRContribution(ip: $0.ip, host: $0.hostname.map { .named($0) } ?? .dashed) }
        case .headless:
            return ready.map { PTRContribution(ip: $0.ip, host: $0.hostname.map { .named($0) } ?? .dashed) }
        }
    }

    /// `<svc>.<ns>.svc.<zone>`, nil when the names do not make a valid name.
    func serviceName(_ service: ObjectName, zone: DNSName) -> DNSName? {
        try? DNSName(labels: [service.name, service.namespace], suffix: svcSuffix(zone))
    }

    /// The names that exist in every cluster zone whatever the objects: the apex (SOA, NS), `svc`,
    /// `pod`, `dns-version` (S6) and the NS target's glue (D4).
    func fixedClusterNodes(_ zone: DNSName) -> BuiltNodes {
        var t = NodeTable()
        t.touch(name(["svc"], zone))
        t.touch(name(["pod"], zone))
        t.add(ResourceRecord(name: name(["dns-version"], zone), ttl: 28800, rdata: .txt([Array(IndexOptions.schemaVersion.utf8)])))
        addApex(&t, zone: zone)
        return t.close(apex: zone)
    }

    /// A reverse zone's apex: SOA and NS.
    func fixedReverseNodes(_ zone: DNSName) -> BuiltNodes {
        var t = NodeTable()
        addApex(&t, zone: zone)
        return t.close(apex: zone)
    }

    /// The apex node of a zone for a serial: SOA first, then NS with its glue.
    func apexNode(_ zone: DNSName) -> Node {
        var t = NodeTable()
        addApex(&t, zone: zone)
        return Node(name: zone, rrsets: t.sets(zone))
    }

    // MARK: - Pieces

    /// Ready addresses of a Service's slices, named by S5: explicit hostname, else (with
    /// `--endpoint-pod-names`) the pod name, else the dashed IP. Duplicates across slices
    /// (EndpointSlice skew, D8) collapse.
    func readyAddresses(_ slices: [EndpointSlice]) -> [ReadyAddress] {
        var out: [ReadyAddress] = []
        struct Seen: Hashable {
            var hostname: String?
            var ip: IPAddress
        }
        // A few addresses are compared with those kept so far, more through a set.
        let total = slices.reduce(0) { n, slice in slice.endpoints.reduce(n) { $0 + $1.addressCount } }
        let scan = total <= NameIndex.scanLimit
        var seen = Set<Seen>()
        if !scan { seen.reserveCapacity(total) }
        out.reserveCapacity(total)
        for slice in slices {
            let ports = slice.ports.filter { $0.port != nil }
            for ep in slice.endpoints where ep.isReady {
                ep.forEachAddress { text in
                    guard let ip = IPAddress(text), ip.isIPv4 == (slice.addressType == .ipv4) else { return }
                    var hostname: String?
                    if let h = ep.hostname, !h.isEmpty {
                        hostname = h
                    } else if options.endpointPodNames, let pod = ep.podName, !pod.isEmpty, pod.utf8.count < 64 {
                        hostname = pod
                    }
                    // A name spelled as the dashed address is that address's default name.
                    if let h = hostname, h == EndpointName.dashed(ip) { hostname = nil }
                    if scan {
                        guard !out.contains(where: { $0.ip == ip && $0.hostname == hostname }) else { return }
                    } else {
                        guard seen.insert(Seen(hostname: hostname, ip: ip)).inserted else { return }
                    }
                    out.append(ReadyAddress(ip: ip, hostname: hostname, ports: ports))
                }
            }
        }
        return out
    }

    /// `<hostname>.<svc>` A/AAAA for every ready address (S18, S20), and for headless Services the
    /// SRV records per address × named port (S21), merged per hostname (D7).
    func addEndpointNames(_ t: inout NodeTable, svcName: DNSName, ready: [ReadyAddress], srv: Bool) {
        // Positions in `targets`, which it mirrors name for name.
        var targets: [(DNSName, [ResourceRecord])] = []
        var index = NameIndex(capacity: ready.count)
        let names = ready.map { r in (try? r.name(under: svcName)).map(HashedName.init) }
        for (r, epName) in zip(ready, names) {
            guard let epName else { continue }
            let rr = addressRecord(epName.name, r.ip)
            t.add([rr], owner: epName)
            if let i = index.position(of: epName) {
                targets[i].1.append(rr)
            } else {
                index.append(epName)
                targets.append((epName.name, [rr]))
            }
        }
        guard srv else { return }
        // Ports come from the slices (coredns-kubernetes.md §4 item 11). Entries are counted per
        // (address × port) before merging, as CoreDNS weights them (S10).
        struct PortKey: Hashable {
            var name: String?
            var proto: String
            var number: Int
        }
        var ports: [PortKey] = []
        var portTargets: [PortKey: [(DNSName, [ResourceRecord])]] = [:]
        var entries: [PortKey: Int] = [:]
        for (r, epName) in zip(ready, names) {
            guard let epName, let i = index.position(of: epName) else { continue }
            for p in r.ports {
                guard let number = p.port else { continue }
                let key = PortKey(name: p.name, proto: p.proto.lowercased(), number: number)
                if portTargets[key] == nil { ports.append(key) }
                entries[key, default: 0] += 1
                if !(portTargets[key]?.contains { $0.0 == epName.name } ?? false) { portTargets[key, default: []].append(targets[i]) }
            }
        }
        let total = entries.values.reduce(0, +)
        for key in ports {
            addSRV(&t, svcName: svcName, port: (key.name, key.proto, key.number), targets: portTargets[key] ?? [],
                   weight: srvWeight(entries: entries[key] ?? 1), bareWeight: srvWeight(entries: total))
        }
    }

    /// SRV for one port: at `_<port>._<proto>.<svc>` when the port is named (S9, S21) and at the
    /// bare Service name (S11 extension), with the targets' addresses as additional records (S12).
    /// One call per RRset, so the glue is attached once.
    func addSRV(_ t: inout NodeTable, svcName: DNSName, port: (name: String?, proto: String, number: Int),
                targets: [(DNSName, [ResourceRecord])], weight: UInt16, bareWeight: UInt16) {
        guard !targets.isEmpty, let number = UInt16(exactly: port.number) else { return }
        let glue = targets.flatMap(\.1)
        func records(_ owner: DNSName, _ weight: UInt16) -> [ResourceRecord] {
            targets.map { ResourceRecord(name: owner, ttl: options.ttl, rdata: .srv(.init(priority: 0, weight: weight, port: number, target: $0.0))) }
        }
        if let name = port.name, !name.isEmpty,
           let owner = try? DNSName(labels: ["_" + name, "_" + port.proto.lowercased()], suffix: svcName) {
            t.add(records(owner, weight), additional: glue)
        }
        t.add(records(svcName, bareWeight), additional: glue)
    }

    /// CoreDNS's SRV weight (S10): 100 / entries, counted before duplicates are removed, at least 1.
    func srvWeight(entries: Int) -> UInt16 {
        UInt16(max(1, 100 / max(1, entries)))
    }

    func addApex(_ t: inout NodeTable, zone: DNSName) {
        t.add(soa(zone))
        // D4: NS at the apex. `ns.dns.<primary zone>` with this server's addresses as glue.
        let primary = options.clusterDomains.first ?? zone
        let nsName = name(["ns", "dns"], primary)
        let glue = options.nameserverAddresses.map { addressRecord(nsName, $0) }
        t.add(ResourceRecord(name: zone, ttl: options.ttl, rdata: .ns(nsName)), additional: glue)
        if zone == primary { glue.forEach { t.add($0) } }
    }

    /// D2: `ns.dns.<zone>. hostmaster.<zone>. serial 7200 1800 86400 <ttl>`, record TTL min(ttl, 300).
    /// A reverse zone's too is named after that zone (`ns.dns.in-addr.arpa.
    /// hostmaster.in-addr.arpa.`), as CoreDNS's `plugin.SOA` names every zone's.
    func soa(_ zone: DNSName) -> ResourceRecord {
        ResourceRecord(name: zone, ttl: min(options.ttl, 300), rdata: .soa(.init(
            mname: name(["ns", "dns"], zone), rname: name(["hostmaster"], zone),
            serial: serial, refresh: 7200, retry: 1800, expire: 86400, minimum: options.ttl)))
    }

    func addressRecord(_ owner: DNSName, _ ip: IPAddress) -> ResourceRecord {
        ResourceRecord(name: owner, ttl: options.ttl, rdata: ip.isIPv4 ? .a(ip) : .aaaa(ip))
    }

    func name(_ labels: [String], _ suffix: DNSName) -> DNSName {
        // Fixed labels under a zone already validated as a name: cannot fail unless the zone is
        // within a few bytes of 255, which the options parser rejects.
        (try? DNSName(labels: labels, suffix: suffix)) ?? suffix
    }
}

/// One PTR a Service asks for: `ip` should point at the Service (a ClusterIP: no hostname) or
/// at `<hostname>.<svc>` (an endpoint). `PTRTable` keeps who asks, not the names.
struct PTRContribution: Hashable {
    var ip: IPAddress
    var host: Host

    enum Host: Hashable {
        /// The Service's name.
        case clusterIP
        /// `<address with dashes>.<svc>` (S5).
        case dashed
        /// `<hostname>.<svc>`.
        case named(String)
    }
}
