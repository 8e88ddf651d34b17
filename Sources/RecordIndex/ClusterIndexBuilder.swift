import DNSWire
import KubeModel

/// Builds the cluster zones and reverse zones from cluster objects: every record of the
/// Kubernetes DNS schema (kubernetes-dns.md S6–S26, D1–D19) decided here, once per change, so a
/// query is one dictionary lookup (DESIGN.md, "precompute at load").
public struct ClusterIndexBuilder {
    public let options: IndexOptions
    public let serial: UInt32

    public init(options: IndexOptions, serial: UInt32) {
        self.options = options
        self.serial = serial
    }

    /// One ready address of a Service, with the name it is published under.
    struct ReadyAddress {
        var ip: IPAddress
        var hostname: String
        var ports: [EndpointSlice.Port]
    }

    public func build(_ objects: ClusterObjects, synced: Bool = true) -> (zones: [Zone], stats: Snapshot.Stats) {
        let ttl = options.ttl
        var stats = Snapshot.Stats()
        var tables = options.clusterDomains.map { _ in NodeTable() }
        var reverse = NodeTable()
        // PTR data: ClusterIPs win over endpoints (D15).
        var clusterIPOwners: [IPAddress: DNSName] = [:]
        var endpointOwners: [IPAddress: [DNSName]] = [:]

        // Namespaces: declared, or holding any object (issue 3); then the exposure filter (D11).
        var namespaces = Set(objects.namespaces.map(\.name))
        objects.services.forEach { namespaces.insert($0.namespace) }
        objects.endpointSlices.forEach { namespaces.insert($0.namespace) }
        objects.pods.forEach { namespaces.insert($0.namespace) }
        if let only = options.namespaces { namespaces.formIntersection(only) }

        // Slices by Service, with derived ones for selector Services that have none (issue 3).
        var slicesByService: [String: [EndpointSlice]] = [:]
        if !options.noEndpoints {
            for slice in objects.endpointSlices + objects.derivedEndpointSlices() {
                guard let svc = slice.serviceName, slice.addressType != .fqdn else { continue }
                slicesByService[slice.namespace + "/" + svc, default: []].append(slice)
            }
        }

        for (zi, zone) in options.clusterDomains.enumerated() {
            let primary = zi == 0
            var t = NodeTable()
            let svcZone = name(["svc"], zone)
            t.touch(svcZone)
            t.touch(name(["pod"], zone))
            t.add(ResourceRecord(name: name(["dns-version"], zone), ttl: 28800, rdata: .txt([Array(IndexOptions.schemaVersion.utf8)])))
            addApex(&t, zone: zone)
            for ns in namespaces {
                guard let nsName = try? DNSName(labels: [ns], suffix: svcZone) else { continue }
                t.touch(nsName)
                if options.pods != .disabled, let podNs = try? DNSName(labels: [ns, "pod"], suffix: zone) { t.touch(podNs) }
            }

            for svc in objects.services where namespaces.contains(svc.namespace) {
                guard let svcName = try? DNSName(labels: [svc.name, svc.namespace], suffix: svcZone) else { continue }
                if primary { stats.services += 1 }
                let ready = readyAddresses(slicesByService[svc.namespace + "/" + svc.name] ?? [], primary: primary, stats: &stats)

                switch svc.kind {
                case .externalName(let target):
                    // S24/D12: a CNAME, never an A for an IP-shaped value.
                    guard IPAddress(target) == nil, !target.isEmpty,
                          let targetName = try? DNSName(parsing: target.hasSuffix(".") ? target : target + ".") else { continue }
                    t.add(ResourceRecord(name: svcName, ttl: ttl, rdata: .cname(targetName)))

                case .clusterIP(let ips):
                    if options.ignoreEmptyService && ready.isEmpty { continue }
                    let addrs = ips.compactMap(IPAddress.init)
                    guard !addrs.isEmpty else { continue }
                    let glue = addrs.map { addressRecord(svcName, $0) }
                    glue.forEach { t.add($0) }
                    if primary { addrs.forEach { clusterIPOwners[$0] = svcName } }
                    // S9/S11: SRV per named port, target the Service; CoreDNS weights (S10).
                    for p in svc.ports {
                        addSRV(&t, svcName: svcName, port: (p.name, p.proto, p.port), targets: [(svcName, glue)],
                               weight: srvWeight(entries: addrs.count), bareWeight: srvWeight(entries: svc.ports.count * addrs.count))
                    }
                    // Extension (coredns-kubernetes.md §4 items 1–2): endpoint names and PTRs
                    // under ClusterIP Services.
                    addEndpointNames(&t, svcName: svcName, ready: ready, srv: false)
                    if primary { ready.forEach { endpointOwners[$0.ip, default: []].append(endpointName(svcName, $0)) } }

                case .headless:
                    // S17: no ready endpoint → the name does not exist.
                    guard !ready.isEmpty else { continue }
                    for r in ready { t.add(addressRecord(svcName, r.ip)) }
                    addEndpointNames(&t, svcName: svcName, ready: ready, srv: true)
                    if primary { ready.forEach { endpointOwners[$0.ip, default: []].append(endpointName(svcName, $0)) } }
                }
            }

            if options.pods == .verified {
                for pod in objects.pods where namespaces.contains(pod.namespace) && !pod.terminated {
                    for ip in pod.ips.compactMap(IPAddress.init) {
                        guard let n = try? DNSName(labels: [EndpointName.dashed(ip), pod.namespace, "pod"], suffix: zone) else { continue }
                        t.add(addressRecord(n, ip))
                    }
                }
            }
            tables[zi] = t
        }

        // Reverse records (S13, S14, S22, S23, D15), one PTR per distinct owner.
        for (ip, owner) in clusterIPOwners {
            reverse.add(ResourceRecord(name: ip.reverseName, ttl: ttl, rdata: .ptr(owner)))
        }
        for (ip, owners) in endpointOwners where clusterIPOwners[ip] == nil {
            for owner in owners { reverse.add(ResourceRecord(name: ip.reverseName, ttl: ttl, rdata: .ptr(owner))) }
        }

        var zones: [Zone] = []
        let podNamespaces: Set<String>? = options.pods == .insecure ? namespaces : nil
        for (zi, zone) in options.clusterDomains.enumerated() {
            zones.append(Zone(apex: zone, kind: .cluster, soa: soa(zone), nodes: tables[zi].nodes(apex: zone),
                              insecurePodNamespaces: podNamespaces, ttl: ttl, synced: synced))
        }
        for rz in options.reverseZones {
            var t = NodeTable()
            for (owner, sets) in reverse.sets where owner.isSubdomain(of: rz) {
                for set in sets { set.records.forEach { t.add($0) } }
            }
            addApex(&t, zone: rz)
            zones.append(Zone(apex: rz, kind: .reverse, soa: soa(rz), nodes: t.nodes(apex: rz), ttl: ttl, synced: synced))
        }
        return (zones, stats)
    }

    // MARK: - Pieces

    /// Ready addresses of a Service's slices, named by S5: explicit hostname, else (with
    /// `--endpoint-pod-names`) the pod name, else the dashed IP. Duplicates across slices
    /// (EndpointSlice skew, D8) collapse.
    func readyAddresses(_ slices: [EndpointSlice], primary: Bool, stats: inout Snapshot.Stats) -> [ReadyAddress] {
        var out: [ReadyAddress] = []
        var seen = Set<String>()
        for slice in slices {
            let ports = slice.ports.filter { $0.port != nil }
            for ep in slice.endpoints where ep.isReady {
                for text in ep.addresses {
                    guard let ip = IPAddress(text), ip.isIPv4 == (slice.addressType == .ipv4) else { continue }
                    let hostname: String
                    if let h = ep.hostname, !h.isEmpty {
                        hostname = h
                    } else if options.endpointPodNames, let pod = ep.podName, !pod.isEmpty, pod.utf8.count < 64 {
                        hostname = pod
                    } else {
                        hostname = EndpointName.dashed(ip)
                    }
                    guard seen.insert(hostname + "|" + ip.description).inserted else { continue }
                    if primary { stats.endpoints += 1 }
                    out.append(ReadyAddress(ip: ip, hostname: hostname, ports: ports))
                }
            }
        }
        return out
    }

    func endpointName(_ svcName: DNSName, _ r: ReadyAddress) -> DNSName {
        (try? DNSName(labels: [r.hostname], suffix: svcName)) ?? svcName
    }

    /// `<hostname>.<svc>` A/AAAA for every ready address (S18, S20), and for headless Services the
    /// SRV records per address × named port (S21), merged per hostname (D7).
    func addEndpointNames(_ t: inout NodeTable, svcName: DNSName, ready: [ReadyAddress], srv: Bool) {
        var targets: [(DNSName, [ResourceRecord])] = []
        var index: [DNSName: Int] = [:]
        let names = ready.map { try? DNSName(labels: [$0.hostname], suffix: svcName) }
        for (r, epName) in zip(ready, names) {
            guard let epName else { continue }
            let rr = addressRecord(epName, r.ip)
            t.add(rr)
            if let i = index[epName] {
                targets[i].1.append(rr)
            } else {
                index[epName] = targets.count
                targets.append((epName, [rr]))
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
            guard let epName, let i = index[epName] else { continue }
            for p in r.ports {
                guard let number = p.port else { continue }
                let key = PortKey(name: p.name, proto: p.proto.lowercased(), number: number)
                if portTargets[key] == nil { ports.append(key) }
                entries[key, default: 0] += 1
                if !(portTargets[key]?.contains { $0.0 == epName } ?? false) { portTargets[key, default: []].append(targets[i]) }
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
    public func soa(_ zone: DNSName) -> ResourceRecord {
        let primary = options.clusterDomains.first ?? zone
        let base = options.clusterDomains.contains(zone) ? zone : primary
        return ResourceRecord(name: zone, ttl: min(options.ttl, 300), rdata: .soa(.init(
            mname: name(["ns", "dns"], base), rname: name(["hostmaster"], base),
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
