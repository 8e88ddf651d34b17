import DNSResponder
import DNSWire
import KubeModel
import RecordIndex
import Testing
import TestSupport

/// Issue 11: "Incremental equals from scratch: a property test applies random sequences of adds,
/// modifies and deletes … and after each step compares the incremental snapshot with a fresh
/// build of the same objects: every record, and NXDOMAIN vs NODATA for every name and its
/// parents."
///
/// The worlds are small on purpose (a handful of namespaces, names and addresses), so Services
/// collide on PTRs, slices move between Services, namespaces empty out and come back, and Pods
/// match and stop matching selectors: the cases where reference counts go wrong.
@Suite struct IncrementalIndexTests {
    static let optionSets: [(String, IndexOptions)] = {
        var list: [(String, IndexOptions)] = [("defaults", IndexOptions())]
        var o = IndexOptions()
        o.pods = .verified
        list.append(("pods verified", o))
        o = IndexOptions()
        o.pods = .insecure
        o.endpointPodNames = true
        list.append(("pods insecure, endpoint pod names", o))
        o = IndexOptions()
        o.ignoreEmptyService = true
        o.namespaces = ["ns0", "ns2"]
        list.append(("ignore empty, two namespaces", o))
        o = IndexOptions()
        o.noEndpoints = true
        list.append(("no endpoints", o))
        o = IndexOptions()
        o.clusterDomains = [DNSName("cluster.local")!, DNSName("corp.internal")!]
        o.reverseZones = [DNSName("in-addr.arpa")!, DNSName("10.in-addr.arpa")!, DNSName("ip6.arpa")!]
        o.nameserverAddresses = [IPAddress("10.96.0.10")!]
        list.append(("two domains, nested reverse zone", o))
        // Reverse zones as CoreDNS writes a CIDR narrower than an octet: one zone per address,
        // so an apex is an address's own name (10.0.0.1), below a /24's parent.
        o = IndexOptions()
        o.reverseZones = [DNSName("1.0.0.10.in-addr.arpa")!, DNSName("0.10.in-addr.arpa")!, DNSName("9.9.9.10.in-addr.arpa")!]
        list.append(("reverse zones per address", o))
        return list
    }()

    @Test(arguments: 0..<optionSets.count)
    func incrementalEqualsFromScratch(_ which: Int) throws {
        let (label, options) = Self.optionSets[which]
        for seed in 1...3 {
            var rng = SplitMix(seed: UInt64(seed * 7919 + which))
            var model = Model()
            var index = ClusterIndex(options: options)
            for step in 0..<250 {
                for (event, origin) in model.randomStep(&rng) {
                    switch event {
                    case .begin(let kinds): index.beginReplace(origin, kinds: kinds)
                    case .end(let kinds): index.endReplace(origin, kinds: kinds)
                    case .event(let e): index.apply(e, from: origin)
                    }
                }
                // Publish after most steps, not all: several events per batch must work too.
                guard step % 3 != 1 else { continue }
                let serial = UInt32(step + 1)
                let incremental = index.publish(serial: serial)
                let scratch = ClusterIndex.build(model.effective(), options: options, serial: serial)
                try Self.compare(incremental, scratch, "\(label), seed \(seed), step \(step)")
            }
        }
    }

    /// "Before the first sync … SERVFAIL": the API's objects are held aside (however many
    /// events and relists arrive) and served all at once on release; until then the index is
    /// exactly the other origins', and after it exactly everything.
    @Test func heldOriginIsServedOnlyOnRelease() throws {
        let options = IndexOptions()
        var rng = SplitMix(seed: 4242)
        var model = Model()
        var index = ClusterIndex(options: options)
        index.hold(.api)
        for step in 0..<300 {
            if step == 150 { index.release(.api) }
            for (event, origin) in model.randomStep(&rng) {
                switch event {
                case .begin(let kinds): index.beginReplace(origin, kinds: kinds)
                case .end(let kinds): index.endReplace(origin, kinds: kinds)
                case .event(let e): index.apply(e, from: origin)
                }
            }
            let serial = UInt32(step + 1)
            let served = model.effective(excluding: step < 150 ? [.api] : [])
            try Self.compare(index.publish(serial: serial), ClusterIndex.build(served, options: options, serial: serial), "held, step \(step)")
        }
    }

    /// A relist still open when the API's first sync completes (another resource relisting after
    /// a 410) ends after the release: what it did not deliver again goes then, as in a build of
    /// what the API holds. (Found by the index fuzz target: 80 01 00 03 2b 00 0e 00 2c 00 0d 00.)
    @Test func relistOpenAtReleaseStillDeletes() throws {
        let options = IndexOptions()
        var index = ClusterIndex(options: options)
        index.hold(.api)
        let web = Service(namespace: "default", name: "web", kind: .clusterIP(["10.96.0.20"]), ports: [])
        let db = Service(namespace: "default", name: "db", kind: .clusterIP(["10.96.0.21"]), ports: [])
        index.apply(.upsert(.service(web)), from: .api)
        index.apply(.upsert(.service(db)), from: .api)
        index.beginReplace(.api, kinds: [.service])
        index.apply(.upsert(.service(db)), from: .api)  // the relist delivers db, not web
        index.release(.api)
        index.endReplace(.api, kinds: [.service])
        try Self.compare(index.publish(serial: 1), ClusterIndex.build(ClusterObjects(services: [db]), options: options, serial: 1), "release")
    }

    /// An RRset larger than a message can carry is kept to what can be answered, not a crash.
    @Test func hugeRRSetIsClamped() {
        let owner = DNSName("big.ns.svc.cluster.local.")!
        var records: [ResourceRecord] = []
        for i in 0..<70_000 {
            let ip = IPAddress.v4(10, UInt8(i >> 16), UInt8((i >> 8) & 255), UInt8(i & 255))
            records.append(ResourceRecord(name: owner, ttl: 5, rdata: .a(ip)))
        }
        let node = Node(name: owner, rrsets: [RRSet(type: .a, records: records)])
        #expect(node.rrset(.a)?.records.count == Node.maxRecordsPerSet)
    }

    static func compare(_ a: (zones: [Zone], stats: Snapshot.Stats), _ b: (zones: [Zone], stats: Snapshot.Stats), _ context: String) throws {
        for difference in IndexComparison.differences(a, b) { Issue.record("\(context): \(difference)") }
    }
}

/// What the sources hold: objects per origin. The index must serve, for each object, the copy
/// of its smallest origin.
struct Model {
    enum Step {
        case begin([ObjectKind])
        case event(ObjectEvent)
        case end([ObjectKind])
    }

    var held: [Origin: [String: ClusterObject]] = [:]
    /// The API's open relists, by kind: what each has delivered so far. They overlap, as the
    /// watcher's per-resource loops do, with other kinds' events in between.
    var relists: [ObjectKind: Set<String>] = [:]
    static let origins: [Origin] = [.api, .api, .api, .file("a.yaml"), .file("b.yaml")]

    func effective(excluding: Set<Origin> = []) -> ClusterObjects {
        var best: [String: (Origin, ClusterObject)] = [:]
        for (origin, objects) in held where !excluding.contains(origin) {
            for (key, o) in objects where best[key].map({ origin < $0.0 }) ?? true { best[key] = (origin, o) }
        }
        var out = ClusterObjects()
        for (_, o) in best.values.sorted(by: { Self.key($0.1) < Self.key($1.1) }) {
            switch o {
            case .namespace(let n): out.namespaces.append(n)
            case .service(let s): out.services.append(s)
            case .endpointSlice(let s): out.endpointSlices.append(s)
            case .pod(let p): out.pods.append(p)
            }
        }
        return out
    }

    static func key(_ o: ClusterObject) -> String { "\(o.kind)/\(o.name)" }

    mutating func randomStep(_ rng: inout SplitMix) -> [(Step, Origin)] {
        let origin = Self.origins[rng.below(Self.origins.count)]
        let roll = rng.below(100)
        if roll < 4, origin == .api, let kind = ObjectKind.allCases.filter({ relists[$0] == nil }).randomElement(using: &rng) {
            // A relist of one kind starts and delivers part of what it will: some objects again
            // (some changed), maybe new ones. It ends at a later step.
            var steps: [(Step, Origin)] = [(.begin([kind]), origin)]
            var seen = Set<String>()
            for (_, o) in (held[origin] ?? [:]).sorted(by: { $0.key < $1.key }) where o.kind == kind && rng.below(3) != 0 {
                let next = rng.below(3) == 0 ? Self.mutate(o, &rng) : o
                held[origin]![Self.key(next)] = next
                seen.insert(Self.key(next))
                steps.append((.event(.upsert(next)), origin))
            }
            relists[kind] = seen
            return steps
        }
        if roll < 8, origin == .api, let kind = relists.keys.sorted(by: { $0.rawValue < $1.rawValue }).first {
            // The relist completes: what it did not deliver is gone.
            let seen = relists.removeValue(forKey: kind)!
            held[origin] = (held[origin] ?? [:]).filter { $0.value.kind != kind || seen.contains($0.key) }
            return [(.end([kind]), origin)]
        }
        if roll < 10, case .file = origin {
            // A file re-read: some objects again (some changed), the rest gone.
            let kinds = ObjectKind.allCases
            var steps: [(Step, Origin)] = [(.begin(kinds), origin)]
            var kept: [String: ClusterObject] = [:]
            for (_, o) in (held[origin] ?? [:]).sorted(by: { $0.key < $1.key }) {
                guard rng.below(4) != 0 else { continue }
                let next = rng.below(3) == 0 ? Self.mutate(o, &rng) : o
                kept[Self.key(next)] = next
                steps.append((.event(.upsert(next)), origin))
            }
            for _ in 0..<rng.below(3) {
                let o = Self.randomObject(&rng)
                kept[Self.key(o)] = o
                steps.append((.event(.upsert(o)), origin))
            }
            held[origin] = kept
            steps.append((.end(kinds), origin))
            return steps
        }
        return [singleEvent(origin, roll, &rng)]
    }

    /// One upsert or delete. During a relist of a kind, the API sends no watch events of that
    /// kind: its upserts are the relist's items, and nothing of it is deleted one by one.
    mutating func singleEvent(_ origin: Origin, _ roll: Int, _ rng: inout SplitMix) -> (Step, Origin) {
        func deliver(_ o: ClusterObject) -> (Step, Origin) {
            held[origin, default: [:]][Self.key(o)] = o
            if origin == .api { relists[o.kind]?.insert(Self.key(o)) }
            return (.event(.upsert(o)), origin)
        }
        if roll < 35, let (key, o) = pick(origin, &rng), origin != .api || relists[o.kind] == nil {
            held[origin]?[key] = nil
            return (.event(.delete(o.kind, o.name)), origin)
        }
        if roll < 65, let (_, o) = pick(origin, &rng) {
            return deliver(Self.mutate(o, &rng))
        }
        return deliver(Self.randomObject(&rng))
    }

    /// A held object chosen by the generator alone (dictionary order differs between runs).
    func pick(_ origin: Origin, _ rng: inout SplitMix) -> (String, ClusterObject)? {
        let keys = (held[origin] ?? [:]).keys.sorted()
        guard !keys.isEmpty else { return nil }
        let key = keys[rng.below(keys.count)]
        return (key, held[origin]![key]!)
    }

    static let namespaces = ["ns0", "ns1", "ns2"]
    static let services = ["web", "db", "api", "x"]
    static let v4 = ["10.0.0.1", "10.0.0.2", "10.0.1.1", "192.168.0.1", "10.9.9.9"]
    static let v6 = ["fd00::1", "fd00::2", "2001:db8::1"]

    static func randomObject(_ rng: inout SplitMix) -> ClusterObject {
        let ns = namespaces[rng.below(namespaces.count)]
        switch rng.below(4) {
        case 0: return .namespace(Namespace(name: ns))
        case 1: return .service(randomService(ns, services[rng.below(services.count)], &rng))
        case 2: return .endpointSlice(randomSlice(ns, "slice\(rng.below(5))", &rng))
        default: return .pod(randomPod(ns, "pod\(rng.below(5))", &rng))
        }
    }

    static func mutate(_ o: ClusterObject, _ rng: inout SplitMix) -> ClusterObject {
        switch o {
        case .namespace: return o
        case .service(let s): return .service(randomService(s.namespace, s.name, &rng))
        case .endpointSlice(let s): return .endpointSlice(randomSlice(s.namespace, s.name, &rng))
        case .pod(let p): return .pod(randomPod(p.namespace, p.name, &rng))
        }
    }

    static func randomService(_ ns: String, _ name: String, _ rng: inout SplitMix) -> Service {
        let kind: Service.Kind
        switch rng.below(5) {
        case 0: kind = .headless
        case 1: kind = .externalName(["example.com", "db.ns1.svc.cluster.local", "10.1.1.1"][rng.below(3)])
        case 2: kind = .clusterIP([v4[rng.below(v4.count)], v6[rng.below(v6.count)]])
        default: kind = .clusterIP([v4[rng.below(v4.count)]])
        }
        var ports: [Service.Port] = []
        for i in 0..<rng.below(3) {
            ports.append(Service.Port(name: rng.below(3) == 0 ? nil : ["http", "dns"][i % 2], proto: ["TCP", "UDP"][rng.below(2)],
                                      port: 80 + i, targetPort: rng.below(2) == 0 ? .name("http") : nil))
        }
        let selector: [String: String]? = rng.below(2) == 0 ? ["app": ["a", "b"][rng.below(2)]] : nil
        return Service(namespace: ns, name: name, kind: kind, ports: ports, selector: selector, publishNotReadyAddresses: rng.below(4) == 0)
    }

    static func randomSlice(_ ns: String, _ name: String, _ rng: inout SplitMix) -> EndpointSlice {
        let six = rng.below(3) == 0
        var endpoints: [EndpointSlice.Endpoint] = []
        for _ in 0..<rng.below(4) {
            let pool = six ? v6 : v4
            endpoints.append(.init(addresses: [pool[rng.below(pool.count)]], ready: [nil, true, false][rng.below(3)],
                                   hostname: rng.below(3) == 0 ? ["db-0", "db-1"][rng.below(2)] : nil,
                                   podName: rng.below(2) == 0 ? "pod\(rng.below(5))" : nil))
        }
        let ports: [EndpointSlice.Port] = rng.below(3) == 0 ? [] : [.init(name: ["http", nil][rng.below(2)], proto: "TCP", port: [8080, nil][rng.below(2)])]
        let service: String? = rng.below(6) == 0 ? nil : services[rng.below(services.count)]
        return EndpointSlice(namespace: ns, name: name, serviceName: service, addressType: six ? .ipv6 : .ipv4, endpoints: endpoints, ports: ports)
    }

    static func randomPod(_ ns: String, _ name: String, _ rng: inout SplitMix) -> Pod {
        let ips = rng.below(4) == 0 ? [] : [v4[rng.below(v4.count)]] + (rng.below(3) == 0 ? [v6[rng.below(v6.count)]] : [])
        return Pod(namespace: ns, name: name, labels: ["app": ["a", "b", "c"][rng.below(3)]], ips: ips, ready: rng.below(3) != 0,
                   hostname: rng.below(2) == 0 ? name : nil, subdomain: rng.below(2) == 0 ? services[rng.below(services.count)] : nil,
                   containerPorts: [.init(name: "http", port: 8080, proto: "TCP")], terminated: rng.below(6) == 0)
    }
}

/// A small seeded generator, so a failing sequence replays exactly.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}
