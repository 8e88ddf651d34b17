import DNSWire
import KubeModel

/// The index of the cluster zones and reverse zones, kept up to date one object event at a time
/// (DESIGN.md, "an update's path"). It owns the objects (`ObjectStore`) and what is derived from
/// them; `publish` turns the current state into zones that share every unchanged node with the
/// previous snapshot's (persistent `TreeDictionary`s), so an event costs what it touches:
///
/// - a Service or one of its EndpointSlices → that Service's subtree (`<svc>.<ns>.svc.<zone>`),
///   which no other object writes into, and the PTRs of the addresses that came or went;
/// - a Namespace → its `<ns>.svc` (and `<ns>.pod`) node, reference-counted by every object in it;
/// - a Pod → its `pods verified` record, and the Services whose selector it matches when their
///   endpoints are derived from Pods (a directory without EndpointSlices);
/// - shared names go exactly when their last contributor does: a PTR is kept as the Services
///   that ask for it (`PTRTable`, its record written when a query asks), and the reverse tree's
///   empty non-terminals count the names below them.
///
/// Not thread-safe: one owner applies events and publishes; queries read published zones.
public struct ClusterIndex {
    public let options: IndexOptions
    var rules: RecordRules
    var store = ObjectStore()
    /// Origins not served yet (the API before its first full sync), each with the objects it
    /// delivered so far: bounded by what it holds, however many events and relists it sends.
    var held: [Origin: ObjectStore] = [:]

    // What depends on what.
    /// A Service's EndpointSlices by name: almost always one, so no set each.
    var slicesByService: [ObjectName: OneOrMany<String>] = [:]
    var podsByNamespace: [String: Set<String>] = [:]
    /// Services with a selector, by namespace: the candidates when a Pod changes.
    var selectorServices: [String: Set<String>] = [:]
    /// Declared Namespace + every object in it: the namespace exists while this is above 0.
    var namespaceRefs: [String: Int] = [:]
    /// `pods verified`: pods holding each (namespace, IP).
    var podAddressRefs: [PodAddress: Int] = [:]
    /// Who asks for each address's PTR: the reverse zones' records, shared with each snapshot.
    var ptrs: PTRTable
    /// What each Service's last derivation produced, to remove it when it changes.
    var derived: [ObjectName: ServiceOutput] = [:]
    /// Numbers for `ptrs`' askers: given back when a Service stops asking, taken again first.
    var freePTRIDs: [UInt32] = []
    var nextPTRID: UInt32 = 0

    // Touched since the last publish.
    var dirtyServices: Set<ObjectName> = []
    var dirtyNamespaces: Set<String> = []
    var dirtyPodAddresses: Set<PodAddress> = []
    /// Addresses whose askers changed, with their PTR records at the last publish.
    var dirtyPTRs: [PTRTable.Key: Int] = [:]
    /// `ptrs` was empty when this publish began: `dirtyPTRs` is not kept (see `publish`).
    var ptrsFromEmpty = false

    var forward: [ZoneTree]
    var reverse: [ZoneTree]
    var insecurePodNamespaces: Set<String> = []
    /// Client addresses by namespace, for autopath (`options.clientNamespaces`); kept as events
    /// arrive and shared with each snapshot.
    public private(set) var clientNamespaces = ClientNamespaces()
    var counts = (services: 0, endpoints: 0)

    struct PodAddress: Hashable {
        var namespace: String
        var ip: IPAddress
    }

    struct ServiceOutput: Equatable {
        /// Names written, per cluster zone, by their NodeMap hash (8 bytes, not a name each).
        var names: [[UInt64]]
        /// The addresses whose PTR this Service asks for: all it takes to take its askers back
        /// out of `ptrs`. IPv4 packed in 4 bytes each (a contribution with its hostname took 32,
        /// and there is one per endpoint in the cluster).
        var ptrV4: [UInt32]
        var ptrV6: [PTRTable.Key]
        /// The Service's number in `ptrs` while it asks for any PTR.
        var ptrID: UInt32?
        var endpoints: Int
        var counted: Bool

        static let empty = ServiceOutput(names: [], ptrV4: [], ptrV6: [], ptrID: nil, endpoints: 0, counted: false)
    }

    public init(options: IndexOptions, serial: UInt32 = 1) {
        self.options = options
        let rules = RecordRules(options: options, serial: serial)
        self.rules = rules
        ptrs = PTRTable(suffix: options.clusterDomains.first.map { rules.svcSuffix($0) }, ttl: options.ttl)
        forward = options.clusterDomains.map { ZoneTree(apex: $0) }
        reverse = options.reverseZones.map { ZoneTree(apex: $0) }
        for i in forward.indices {
            let fixed = rules.fixedClusterNodes(forward[i].apex)
            for (name, node) in zip(fixed.names, fixed.nodes) { forward[i].set(name, node) }
        }
        for i in reverse.indices {
            let fixed = rules.fixedReverseNodes(reverse[i].apex)
            for (name, node) in zip(fixed.names, fixed.nodes) { reverse[i].set(name, node) }
        }
    }

    /// Objects in the index, by kind (effective copies).
    public func objectCount(_ kind: ObjectKind) -> Int { store.count(kind) }

    // MARK: - Events

    /// How one event changed the store, for relist diffs and metrics.
    public enum Effect: Sendable { case added, changed, unchanged, deleted }

    /// From now on, `origin`'s objects are kept aside, not served, until `release`.
    public mutating func hold(_ origin: Origin) {
        if held[origin] == nil { held[origin] = ObjectStore() }
    }

    /// Serves what `origin` holds now; its later events apply directly.
    public mutating func release(_ origin: Origin) {
        guard let aside = held.removeValue(forKey: origin) else { return }
        if store.isEmpty {
            // The first sync of the only source: what it holds becomes the store as it is (with
            // its open replaces), each object booked as added, not stored a second time.
            store = aside
            for kind in ObjectKind.allCases {
                for object in store.all(kind) { react(ObjectStore.Change(old: nil, new: object)) }
            }
            return
        }
        for kind in ObjectKind.allCases {
            for object in aside.all(kind) { apply(.upsert(object), from: origin) }
        }
        // A relist still open (another resource's 410 while this one completed the first
        // sync) ends here: what it has not delivered again must still go then.
        store.resume(aside.openReplaces)
    }

    @discardableResult
    public mutating func apply(_ event: ObjectEvent, from origin: Origin) -> Effect {
        if held[origin] != nil {
            switch event {
            case .upsert(let object):
                switch held[origin]!.upsert(object, from: origin).1 {
                case .added: return .added
                case .changed: return .changed
                case .unchanged, .deleted: return .unchanged
                }
            case .delete(let kind, let name):
                return held[origin]!.delete(kind, name, from: origin) == nil ? .unchanged : .deleted
            }
        }
        switch event {
        case .upsert(let object):
            let (change, effect) = store.upsert(object, from: origin)
            if let change { react(change) }
            switch effect {
            case .added: return .added
            case .changed: return .changed
            case .unchanged, .deleted: return .unchanged
            }
        case .delete(let kind, let name):
            guard let change = store.delete(kind, name, from: origin) else { return .unchanged }
            react(change)
            return .deleted
        }
    }

    public mutating func beginReplace(_ origin: Origin, kinds: [ObjectKind]) {
        if held[origin] != nil { held[origin]!.beginReplace(origin, kinds: kinds); return }
        store.beginReplace(origin, kinds: kinds)
    }

    /// Ends a relist or a file's re-read: what the origin held of these kinds and did not
    /// deliver again goes. Returns how many objects went.
    @discardableResult
    public mutating func endReplace(_ origin: Origin, kinds: [ObjectKind]) -> Int {
        if held[origin] != nil { return held[origin]!.endReplace(origin, kinds: kinds).count }
        let changes = store.endReplace(origin, kinds: kinds)
        changes.forEach { react($0) }
        return changes.count
    }

    /// Books one effective change: reference counts now, derivation at `publish`.
    mutating func react(_ change: ObjectStore.Change) {
        if let old = change.old { account(old, sign: -1) }
        if let new = change.new { account(new, sign: +1) }
    }

    mutating func account(_ object: ClusterObject, sign: Int) {
        let ns = object.namespace
        let before = namespaceRefs[ns] ?? 0
        let after = before + sign
        namespaceRefs[ns] = after == 0 ? nil : after
        if (before == 0) != (after == 0) { dirtyNamespaces.insert(ns) }

        if options.clientNamespaces { claimClients(object, sign: Int32(sign)) }
        switch object {
        case .namespace:
            break
        case .service(let svc):
            let key = ObjectName(namespace: svc.namespace, name: svc.name)
            if svc.selector?.isEmpty == false {
                if sign > 0 { selectorServices[ns, default: []].insert(svc.name) } else { selectorServices[ns]?.remove(svc.name) }
            }
            dirtyServices.insert(key)
        case .endpointSlice(let slice):
            guard let svc = slice.serviceName else { break }
            let key = ObjectName(namespace: slice.namespace, name: svc)
            if sign > 0 {
                slicesByService[key] = slicesByService[key]?.inserting(slice.name) ?? .one(slice.name)
            } else {
                slicesByService[key] = slicesByService[key]?.removing(slice.name)
            }
            dirtyServices.insert(key)
        case .pod(let pod):
            if sign > 0 { podsByNamespace[ns, default: []].insert(pod.name) } else {
                podsByNamespace[ns]?.remove(pod.name)
                if podsByNamespace[ns]?.isEmpty == true { podsByNamespace[ns] = nil }
            }
            if options.pods == .verified, !pod.terminated {
                for ip in pod.ips.compactMap(IPAddress.init) {
                    let key = PodAddress(namespace: ns, ip: ip)
                    let n = (podAddressRefs[key] ?? 0) + sign
                    podAddressRefs[key] = n == 0 ? nil : n
                    dirtyPodAddresses.insert(key)
                }
            }
            // Services whose endpoints this Pod may be (derived when they have no slices).
            for name in selectorServices[ns] ?? [] {
                guard case .service(let svc)? = store.effective(.service, ObjectName(namespace: ns, name: name)),
                      let selector = svc.selector, selector.allSatisfy({ pod.labels[$0.key] == $0.value }) else { continue }
                dirtyServices.insert(ObjectName(namespace: ns, name: name))
            }
        }
    }

    /// The client addresses an object vouches for (`ClientNamespaces`).
    mutating func claimClients(_ object: ClusterObject, sign: Int32) {
        switch object {
        case .endpointSlice(let slice):
            for endpoint in slice.endpoints where endpoint.podName != nil {
                endpoint.forEachAddress { text in
                    if let ip = IPAddress(text) { clientNamespaces.claim(ip, namespace: slice.namespace, sign: sign) }
                }
            }
        case .pod(let pod) where !pod.terminated:
            for ip in pod.ips.compactMap(IPAddress.init) {
                clientNamespaces.claim(ip, namespace: pod.hostNetwork ? nil : pod.namespace, sign: sign)
            }
            if let host = pod.hostIP.flatMap(IPAddress.init) { clientNamespaces.claim(host, namespace: nil, sign: sign) }
        case .namespace, .service, .pod:
            break
        }
    }

    // MARK: - Publishing

    /// Derives what the events since the last call touched and returns the zones to serve.
    /// `synced: false` while a source feeding the cluster zones has not listed everything: names
    /// not found then answer SERVFAIL (D18).
    public mutating func publish(serial: UInt32, synced: Bool = true) -> (zones: [Zone], stats: Snapshot.Stats) {
        // A first build (or one after every PTR went): each address's records were 0 before, so
        // they need not be noted one by one; every address in the table is then new.
        ptrsFromEmpty = ptrs.count == 0
        for key in dirtyServices { rederive(key) }
        dirtyServices = []
        for ns in dirtyNamespaces { refreshNamespace(ns) }
        dirtyNamespaces = []
        for address in dirtyPodAddresses { refreshPodAddress(address) }
        dirtyPodAddresses = []
        if ptrsFromEmpty {
            let table = ptrs
            table.eachGroupRecordCount { group in countNewPTRs(group) }
            ptrsFromEmpty = false
        } else {
            for (key, before) in dirtyPTRs { refreshPTR(key, before: before, after: ptrs.records(key)) }
        }
        dirtyPTRs = [:]

        rules.serial = serial
        var zones: [Zone] = []
        var stats = Snapshot.Stats()
        stats.services = counts.services
        stats.endpoints = counts.endpoints
        let podNamespaces: Set<String>? = options.pods == .insecure ? insecurePodNamespaces : nil
        for i in forward.indices {
            forward[i].set(forward[i].apex, rules.apexNode(forward[i].apex))
            zones.append(forward[i].zone(kind: .cluster, soa: rules.soa(forward[i].apex), ttl: options.ttl,
                                         insecurePodNamespaces: podNamespaces, synced: synced))
        }
        for i in reverse.indices {
            reverse[i].set(reverse[i].apex, rules.apexNode(reverse[i].apex))
            zones.append(reverse[i].zone(kind: .reverse, soa: rules.soa(reverse[i].apex), ttl: options.ttl, synced: synced, ptrs: ptrs))
        }
        return (zones, stats)
    }

    func exposed(_ ns: String) -> Bool {
        options.namespaces?.contains(ns) ?? true
    }

    /// The slices a Service's records come from: its own (IPv4/IPv6, by name), or when it has
    /// none and a selector, the ones the EndpointSlice controller would write from its Pods.
    func slices(for key: ObjectName, _ svc: Service) -> [EndpointSlice] {
        if options.noEndpoints { return [] }
        if let names = slicesByService[key]?.all {
            return names.sorted().compactMap { n -> EndpointSlice? in
                guard case .endpointSlice(let s)? = store.effective(.endpointSlice, ObjectName(namespace: key.namespace, name: n)),
                      s.addressType != .fqdn else { return nil }
                return s
            }
        }
        guard svc.selector?.isEmpty == false, let podNames = podsByNamespace[key.namespace] else { return [] }
        var world = ClusterObjects(services: [svc])
        world.pods = podNames.sorted().compactMap { n in
            guard case .pod(let p)? = store.effective(.pod, ObjectName(namespace: key.namespace, name: n)) else { return nil }
            return p
        }
        return world.derivedEndpointSlices()
    }

    mutating func rederive(_ key: ObjectName) {
        let old = derived[key] ?? .empty
        var output = ServiceOutput.empty
        var nodesPerZone: [BuiltNodes] = forward.map { _ in .empty }
        var serviceNames: [DNSName?] = forward.map { _ in nil }
        var asked: [(ip: PTRTable.Key, host: PTRContribution.Host)] = []
        if case .service(let svc)? = store.effective(.service, key), exposed(key.namespace) {
            let ready = rules.readyAddresses(slices(for: key, svc))
            output.names = forward.map { _ in [] }
            for i in forward.indices {
                guard let (svcName, nodes) = rules.serviceNodes(svc, zone: forward[i].apex, ready: ready) else { continue }
                nodesPerZone[i] = nodes
                serviceNames[i] = svcName
                output.names[i] = nodes.names.map(\.hash)
                if i == 0 {
                    output.counted = true
                    asked = rules.servicePTRs(svc, nodes: nodes, ready: ready).map { (PTRTable.Key($0.ip), $0.host) }
                    for (k, _) in asked {
                        if k.v6 { output.ptrV6.append(k) } else { output.ptrV4.append(UInt32(k.low)) }
                    }
                    output.endpoints = ready.count
                }
            }
        }
        for i in forward.indices {
            // Names no longer written: found by hash, and only this Service's (below its name,
            // which no other object writes under) and only those not written again.
            let svcName = serviceNames[i] ?? rules.serviceName(key, zone: forward[i].apex)
            for hash in i < old.names.count ? old.names[i] : [] {
                forward[i].remove(hash: hash) { node in
                    let owner = node.name
                    return !nodesPerZone[i].contains(HashedName(owner)) && svcName.map { owner.isSubdomain(of: $0) } == true
                }
            }
            // A first derivation writes names nobody holds: no need to look for an equal node.
            let fresh = i >= old.names.count || old.names[i].isEmpty
            for (name, node) in zip(nodesPerZone[i].names, nodesPerZone[i].nodes) { forward[i].set(name, node, fresh: fresh) }
        }
        // The Service's askers go and come back whole: which hostname each address had is not
        // kept, and an unchanged asker set costs a few table writes, no record work (its counts
        // do not change).
        let oldPTRs = old.ptrV4.map(PTRTable.Key.init(v4:)) + old.ptrV6
        for ip in oldPTRs { touchPTR(ip) }
        for (ip, _) in asked { touchPTR(ip) }
        output.ptrID = old.ptrID
        if !asked.isEmpty, output.ptrID == nil {
            if let id = freePTRIDs.popLast() {
                output.ptrID = id
            } else {
                output.ptrID = nextPTRID
                nextPTRID += 1
            }
        }
        if let id = output.ptrID {
            ptrs.setAsks(of: id, service: key, old: oldPTRs, asks: asked)
            if asked.isEmpty {
                freePTRIDs.append(id)
                output.ptrID = nil
            }
        }
        counts.services += (output.counted ? 1 : 0) - (old.counted ? 1 : 0)
        counts.endpoints += output.endpoints - old.endpoints
        // Kept while any zone holds names of it (a name may be valid in one domain only).
        derived[key] = output.counted || output.names.contains(where: { !$0.isEmpty }) ? output : nil
        assert(derived[key] != nil || output.ptrID == nil, "a Service asking for PTRs is counted")
    }

    /// Notes an address's PTR records before its first change since the last publish.
    mutating func touchPTR(_ ip: PTRTable.Key) {
        if !ptrsFromEmpty, dirtyPTRs[ip] == nil { dirtyPTRs[ip] = ptrs.records(ip) }
    }

    mutating func refreshNamespace(_ ns: String) {
        let exists = exposed(ns) && (namespaceRefs[ns] ?? 0) > 0
        if options.pods == .insecure {
            if exists { insecurePodNamespaces.insert(ns) } else { insecurePodNamespaces.remove(ns) }
        }
        for i in forward.indices {
            let zone = forward[i].apex
            if let name = try? DNSName(labels: [ns], suffix: rules.svcSuffix(zone)) {
                forward[i].set(name, exists ? Node(name: name) : nil)
            }
            if options.pods != .disabled, let name = try? DNSName(labels: [ns, "pod"], suffix: zone) {
                forward[i].set(name, exists ? Node(name: name) : nil)
            }
        }
    }

    mutating func refreshPodAddress(_ address: PodAddress) {
        let exists = exposed(address.namespace) && (podAddressRefs[address] ?? 0) > 0
        for i in forward.indices {
            guard let name = try? DNSName(labels: [EndpointName.dashed(address.ip), address.namespace, "pod"], suffix: forward[i].apex) else { continue }
            forward[i].set(name, exists ? Node(name: name, rrsets: [RRSet(type: address.ip.isIPv4 ? .a : .aaaa, records: [rules.addressRecord(name, address.ip)])]) : nil)
        }
    }

    /// Books what an address's changed askers did to the reverse zones: its PTR records, and
    /// when its name came or went, the empty non-terminals above it (the records themselves are
    /// `ptrs`', written when asked for).
    mutating func refreshPTR(_ ip: PTRTable.Key, before: Int, after: Int) {
        guard after != before else { return }
        let name = ip.address.reverseName
        for i in reverse.indices where name.isSubdomain(of: reverse[i].apex) && name != reverse[i].apex {
            reverse[i].countPTR(name, before: before, after: after)
        }
    }

    /// `refreshPTR` for a first build, a group at a time: IPv4 addresses that differ only in
    /// their last byte share their reverse name's parent, where the group is counted at once
    /// (110,000 reverse names built and walked up one by one were a tenth of a first build).
    mutating func countNewPTRs(_ group: [(key: PTRTable.Key, records: Int)]) {
        guard let first = group.first, !first.key.v6 else {
            for (key, records) in group { refreshPTR(key, before: 0, after: records) }
            return
        }
        let parent = first.key.address.reverseName.parent
        let names = group.reduce(0) { $0 + ($1.records > 0 ? 1 : 0) }
        let records = group.reduce(0) { $0 + $1.records }
        // A zone deeper than the group's parent has an address's own name as its apex (a CIDR
        // narrower than /24 becomes a zone per address): nothing lies below it, and the PTR at
        // its apex is not counted by `refreshPTR` either.
        for i in reverse.indices where parent.isSubdomain(of: reverse[i].apex) {
            reverse[i].countNewPTRs(below: parent, names: names, records: records)
        }
    }
}

extension ClusterIndex {
    /// The zones of `objects` built from nothing: what `clusterdns check` prints, and the oracle
    /// the incremental path is tested against.
    public static func build(_ objects: ClusterObjects, options: IndexOptions, serial: UInt32, synced: Bool = true) -> (zones: [Zone], stats: Snapshot.Stats) {
        var index = ClusterIndex(options: options, serial: serial)
        for object in objects.all { index.apply(.upsert(object), from: .file("")) }
        return index.publish(serial: serial, synced: synced)
    }
}

/// One zone's nodes as a persistent map, with the counts `/metrics` shows kept as nodes change,
/// and reference counts for the empty non-terminals above shared names (the reverse tree).
struct ZoneTree {
    let apex: DNSName
    private(set) var nodes = NodeMap()
    private var records = RecordCounts()
    /// Names in `PTRTable` below the apex.
    private(set) var ptrNames = 0
    /// PTR records below the apex (`PTRTable`'s, counted apart from `records`: a first
    /// build counts one per address).
    private var ptrRecords = 0
    /// Names with a node of their own below each empty non-terminal (reverse zones only).
    private var entRefs: [HashedName: Int] = [:]

    init(apex: DNSName) { self.apex = apex }

    /// Removes the nodes under `hash` that `pick` chooses, keeping the record counts.
    mutating func remove(hash: UInt64, where pick: (Node) -> Bool) {
        for node in nodes.removeNodes(hash: hash, where: pick) { count(node, -1) }
    }

    /// Sets or removes one node, keeping the record counts; returns the node it replaced. An
    /// equal node is not written: the map is shared with published snapshots, and a write
    /// copies its path. `fresh`: the name is most likely new, so that look is skipped (a walk
    /// of the tree; the write is right either way).
    @discardableResult
    mutating func set(_ name: DNSName, _ node: Node?, fresh: Bool = false) -> Node? {
        set(HashedName(name), node, fresh: fresh)
    }

    @discardableResult
    mutating func set(_ name: HashedName, _ node: Node?, fresh: Bool = false) -> Node? {
        if !fresh {
            let current = nodes.node(name)
            guard current != node else { return current }
        }
        let old = nodes.replace(name, with: node)
        if let old { count(old, -1) }
        if let node { count(node, +1) }
        return old
    }

    /// A PTR (kept in `PTRTable`, not in `nodes`) whose records went from `before` to `after`:
    /// the counts, and when the name comes or goes, its ancestors up to the apex are kept as
    /// empty non-terminals while any name below them exists (RFC 8020). Each empty non-terminal
    /// counts its children that exist, so a name's arrival or departure walks up only as far as
    /// the first ancestor that already existed or still does.
    mutating func countPTR(_ name: DNSName, before: Int, after: Int) {
        ptrRecords += after - before
        let existed = before > 0, exists = after > 0
        guard existed != exists else { return }
        ptrNames += exists ? 1 : -1
        countChildren(of: name.parent, exists ? 1 : -1)
    }

    /// `countPTR` for `names` new names with `records` PTR records in all, every one a child of
    /// `parent` (a first build's IPv4 group).
    mutating func countNewPTRs(below parent: DNSName, names: Int, records: Int) {
        ptrRecords += records
        guard names > 0 else { return }
        ptrNames += names
        countChildren(of: parent, names)
    }

    /// `parent` gained (`delta` > 0) or lost children that exist: it and its ancestors are
    /// made or removed as empty non-terminals as far up as that changes whether they exist.
    private mutating func countChildren(of parent: DNSName, _ delta: Int) {
        var p = parent
        var delta = delta
        while p != apex && !p.isRoot {
            let key = HashedName(p)
            let n = Self.add(delta, to: &entRefs[key, default: 0])
            if delta > 0 {
                guard n == delta else { return }
                set(key, Node(name: p))
            } else {
                guard n == 0 else { return }
                entRefs[key] = nil
                set(key, nil)
            }
            // The parent's own parent gains or loses one child: the parent.
            delta = delta > 0 ? 1 : -1
            p = p.parent
        }
    }

    /// Adds to a count in place (one lookup of its map) and returns the new count.
    private static func add(_ delta: Int, to count: inout Int) -> Int {
        count += delta
        return count
    }

    private mutating func count(_ node: Node, _ sign: Int) {
        node.eachHeader { h in
            records.add(h.type, sign * h.records)
            return true
        }
    }

    func zone(kind: Zone.Kind, soa: ResourceRecord, ttl: UInt32, insecurePodNamespaces: Set<String>? = nil, synced: Bool,
              ptrs: PTRTable? = nil) -> Zone {
        var recordsByType = records.byType
        if ptrRecords != 0 { recordsByType[.ptr, default: 0] += ptrRecords }
        return Zone(apex: apex, kind: kind, soa: soa, nodes: nodes, insecurePodNamespaces: insecurePodNamespaces, ttl: ttl,
                    synced: synced, recordsByType: recordsByType, ptrs: ptrs, ptrNames: ptrNames)
    }
}

/// Records by type, kept as nodes come and go: the types below 256 (every type the index
/// writes) in a flat table, so counting a node's records costs no hash lookup (a first build
/// counts 130,000 nodes).
struct RecordCounts {
    private var low = [Int](repeating: 0, count: 256)
    private var other: [RecordType: Int] = [:]

    mutating func add(_ type: RecordType, _ n: Int) {
        if type.rawValue < 256 {
            low[Int(type.rawValue)] += n
        } else {
            let total = (other[type] ?? 0) + n
            other[type] = total == 0 ? nil : total
        }
    }

    /// The types with records.
    var byType: [RecordType: Int] {
        var out = other
        for (type, n) in low.enumerated() where n != 0 { out[RecordType(rawValue: UInt16(type))] = n }
        return out
    }
}
