import DNSWire
import KubeModel
import RecordIndex
import TestSupport

/// Target `index`: the bytes as a sequence of object events, applied to a `ClusterIndex` one at a
/// time and checked against `ClusterIndex.build` of the objects they leave (issue 11's oracle,
/// `IndexComparison`): at the publishes the bytes ask for (the first eight) and at the end.
///
/// The first byte picks the options (`optionSets`) and, with its top bit, holds the API's
/// objects aside until a release. Then each step is two bytes, `a` and `b`:
/// `a & 15` the action, bit 4 the origin (the API or a file), `a >> 5` a small variant;
/// `b % 3` the namespace, `b / 3 % 4` the object's name, `b / 12` a second variant. An upsert
/// reads one byte more for the object's shape (a slice one more per endpoint). The pools are
/// small on purpose, so Services share addresses (PTRs), slices move between Services,
/// namespaces empty and come back, and Pods start and stop matching selectors.
public enum IndexCheck {
    static let optionSets: [IndexOptions] = {
        var list = [IndexOptions()]
        var o = IndexOptions()
        o.pods = .verified
        list.append(o)
        o = IndexOptions()
        o.pods = .insecure
        o.endpointPodNames = true
        list.append(o)
        o = IndexOptions()
        o.ignoreEmptyService = true
        o.namespaces = ["ns0", "ns2"]
        list.append(o)
        o = IndexOptions()
        o.noEndpoints = true
        list.append(o)
        o = IndexOptions()
        o.clusterDomains = [DNSName("cluster.local")!, DNSName("corp.internal")!]
        o.reverseZones = [DNSName("in-addr.arpa")!, DNSName("10.in-addr.arpa")!, DNSName("ip6.arpa")!]
        o.nameserverAddresses = [IPAddress("10.96.0.10")!]
        o.pods = .verified
        list.append(o)
        return list
    }()

    static let origins: [Origin] = [.api, .file("a.yaml")]
    static let namespaces = ["ns0", "ns1", "ns2"]
    static let services = ["web", "db", "api", "x"]
    static let v4 = ["10.0.0.1", "10.0.0.2", "10.0.1.1", "192.168.0.1"]
    static let v6 = ["fd00::1", "fd00::2", "2001:db8::1", "fd00::a"]
    static let maxComparisons = 8

    public static func check(_ bytes: [UInt8]) throws {
        guard let first = bytes.first else { return }
        let options = optionSets[Int(first & 0x7F) % optionSets.count]
        var index = ClusterIndex(options: options)
        var model = Model()
        if first & 0x80 != 0 {
            index.hold(.api)
            model.heldAside = true
        }
        var input = Input(bytes: bytes.dropFirst())
        var serial: UInt32 = 1
        var comparisons = 0
        var log: [String] = []

        func compare(_ when: String) throws {
            serial += 1
            let incremental = index.publish(serial: serial)
            let scratch = ClusterIndex.build(model.effective(), options: options, serial: serial)
            let differences = IndexComparison.differences(incremental, scratch)
            guard differences.isEmpty else {
                throw CheckFailure("\(when), after:\n  " + log.suffix(40).joined(separator: "\n  ") + "\n" + differences.prefix(12).joined(separator: "\n"))
            }
        }

        while let a = input.next() {
            let b = input.next() ?? 0
            let origin = origins[Int(a >> 4) & 1]
            let x = Int(a >> 5), ns = namespaces[Int(b) % 3], n = Int(b) / 3 % 4, y = Int(b) / 12
            let kinds = x < 4 ? [ObjectKind.allCases[x]] : ObjectKind.allCases
            switch a & 15 {
            case 0: model.upsert(.namespace(Namespace(name: ns)), origin, &index, &log)
            case 1, 2, 3: model.upsert(.service(service(ns, services[n], input.next() ?? 0, x)), origin, &index, &log)
            case 4, 5, 6: model.upsert(.endpointSlice(slice(ns, "s\(n)", input.next() ?? 0, y, &input)), origin, &index, &log)
            case 7: model.upsert(.pod(pod(ns, n, input.next() ?? 0, x)), origin, &index, &log)
            case 8: model.delete(x & 1 == 0 ? .namespace : .pod, ObjectName(namespace: x & 1 == 0 ? "" : ns, name: x & 1 == 0 ? ns : "p\(n)"), origin, &index, &log)
            case 9: model.delete(.service, ObjectName(namespace: ns, name: services[n]), origin, &index, &log)
            case 10: model.delete(.endpointSlice, ObjectName(namespace: ns, name: "s\(n)"), origin, &index, &log)
            case 11:
                log.append("beginReplace \(origin) \(kinds)")
                index.beginReplace(origin, kinds: kinds)
                model.beginReplace(origin, kinds)
            case 12:
                log.append("endReplace \(origin) \(kinds)")
                index.endReplace(origin, kinds: kinds)
                model.endReplace(origin, kinds)
            case 13:
                comparisons += 1
                if comparisons <= maxComparisons { try compare("publish \(comparisons)") }
            case 14:
                // A release (the API's first sync), else a publish nobody checks: several events
                // per batch, and a publish between them, must come out the same.
                if model.heldAside {
                    log.append("release api")
                    index.release(.api)
                    model.heldAside = false
                } else {
                    serial += 1
                    _ = index.publish(serial: serial)
                    log.append("publish")
                }
            default:
                // A Service and a slice of it in one go: endpoints arrive with their Service.
                let svc = services[n]
                model.upsert(.service(service(ns, svc, input.next() ?? 0, x)), origin, &index, &log)
                var s = slice(ns, "s\(n)", input.next() ?? 0, y, &input)
                s.serviceName = svc
                model.upsert(.endpointSlice(s), origin, &index, &log)
            }
        }
        try compare("the end")
    }

    /// The bytes after the first, one at a time.
    struct Input {
        var bytes: ArraySlice<UInt8>
        mutating func next() -> UInt8? { bytes.popFirst() }
    }

    /// `c`: kind (3 bits), address (2), ports (2); `x`: selector (2), publishNotReadyAddresses (1).
    static func service(_ ns: String, _ name: String, _ c: UInt8, _ x: Int) -> Service {
        let ip = Int(c >> 3) & 3
        let kind: Service.Kind
        switch c & 7 {
        case 0: kind = .headless
        case 1: kind = .externalName("example.com")
        case 2: kind = .externalName(ip == 0 ? "db.ns1.svc.cluster.local" : "10.1.1.1")
        case 3: kind = .clusterIP([v4[ip]])
        case 4: kind = .clusterIP([v4[ip], v6[ip]])
        case 5: kind = .clusterIP([v6[ip]])
        case 6: kind = .clusterIP([])
        default: kind = .headless
        }
        let ports: [Service.Port]
        switch c >> 6 {
        case 0: ports = []
        case 1: ports = [.init(name: "http", proto: "TCP", port: 80, targetPort: .name("http"))]
        case 2: ports = [.init(name: nil, proto: "TCP", port: 80), .init(name: "dns", proto: "UDP", port: 53, targetPort: .number(5353))]
        default: ports = [.init(name: "http", proto: "TCP", port: 80), .init(name: "http", proto: "UDP", port: 80)]
        }
        let selector: [String: String]? = [nil, ["app": "a"], ["app": "b"], [:]][x & 3]
        return Service(namespace: ns, name: name, kind: kind, ports: ports, selector: selector, publishNotReadyAddresses: x & 4 != 0)
    }

    /// `c`: family (1 bit: IPv4, IPv6; FQDN when `y` is 21), Service label (3), endpoints (2),
    /// ports (2). Each endpoint reads a byte: address (2 bits), ready (2: nil, true, false),
    /// hostname (2), pod name (1), a second address (1).
    static func slice(_ ns: String, _ name: String, _ c: UInt8, _ y: Int, _ input: inout Input) -> EndpointSlice {
        let type: EndpointSlice.AddressType = y == 21 ? .fqdn : (c & 1 == 0 ? .ipv4 : .ipv6)
        let pool = type == .ipv6 ? v6 : type == .ipv4 ? v4 : ["a.example.com", "b.example.com", "c.example.com", "d.example.com"]
        let service: String? = ["web", "db", "api", "x", nil, "web", "db", nil][Int(c >> 1) & 7]
        var endpoints: [EndpointSlice.Endpoint] = []
        for _ in 0..<(Int(c >> 4) & 3) {
            let e = input.next() ?? 0
            let address = Int(e) & 3
            endpoints.append(.init(addresses: e & 0x80 == 0 ? [pool[address]] : [pool[address], pool[(address + 1) & 3]],
                                   ready: [nil, true, false, nil][Int(e >> 2) & 3],
                                   hostname: [nil, "db-0", "db-1", "h"][Int(e >> 4) & 3],
                                   podName: e & 0x40 == 0 ? nil : "p\(address)"))
        }
        let ports: [EndpointSlice.Port]
        switch c >> 6 {
        case 0: ports = []
        case 1: ports = [.init(name: "http", proto: "TCP", port: 8080)]
        case 2: ports = [.init(name: nil, proto: "TCP", port: 8080)]
        default: ports = [.init(name: "http", proto: "TCP", port: nil), .init(name: "dns", proto: "UDP", port: 53)]
        }
        return EndpointSlice(namespace: ns, name: name, serviceName: service, addressType: type, endpoints: endpoints, ports: ports)
    }

    /// `c`: app label (2 bits), addresses (2), ready (1), hostname (1), subdomain (2);
    /// `x`: which address of the pools (2), terminated (1).
    static func pod(_ ns: String, _ n: Int, _ c: UInt8, _ x: Int) -> Pod {
        let ip = x & 3
        let ips: [String] = [[], [v4[ip]], [v4[ip], IPAddress(v6[ip])!.description], [IPAddress(v6[ip])!.description]][Int(c >> 2) & 3]
        let labels: [String: String] = [["app": "a"], ["app": "b"], ["app": "a", "tier": "x"], [:]][Int(c) & 3]
        return Pod(namespace: ns, name: "p\(n)", labels: labels, ips: ips, ready: c & 0x10 != 0,
                   hostname: c & 0x20 != 0 ? "p\(n)" : nil, subdomain: [nil, "web", "db", "x"][Int(c >> 6)],
                   containerPorts: [.init(name: "http", port: 8080, proto: "TCP")], terminated: x & 4 != 0)
    }

    /// What the sources hold, by origin, written from the events' meaning alone (SourceUpdate):
    /// an upsert or delete changes the origin's copy; a replace of some kinds ends by dropping
    /// what the origin held of them and did not upsert since it began; the copy served is the
    /// smallest origin's (the API's, then the file's); an origin held aside is not served.
    struct Model {
        var held: [Origin: [Key: ClusterObject]] = [:]
        var replacing: [Origin: [ObjectKind: Set<Key>]] = [:]
        var heldAside = false

        struct Key: Hashable, Comparable {
            var kind: ObjectKind
            var name: ObjectName
            static func < (a: Key, b: Key) -> Bool { (a.kind.rawValue, a.name) < (b.kind.rawValue, b.name) }
        }

        mutating func upsert(_ o: ClusterObject, _ origin: Origin, _ index: inout ClusterIndex, _ log: inout [String]) {
            log.append("upsert \(origin) \(o)")
            index.apply(.upsert(o), from: origin)
            let key = Key(kind: o.kind, name: o.name)
            held[origin, default: [:]][key] = o
            replacing[origin]?[o.kind]?.insert(key)
        }

        mutating func delete(_ kind: ObjectKind, _ name: ObjectName, _ origin: Origin, _ index: inout ClusterIndex, _ log: inout [String]) {
            log.append("delete \(origin) \(kind) \(name)")
            index.apply(.delete(kind, name), from: origin)
            held[origin]?[Key(kind: kind, name: name)] = nil
        }

        mutating func beginReplace(_ origin: Origin, _ kinds: [ObjectKind]) {
            for kind in kinds { replacing[origin, default: [:]][kind] = [] }
        }

        mutating func endReplace(_ origin: Origin, _ kinds: [ObjectKind]) {
            for kind in kinds {
                guard let seen = replacing[origin]?.removeValue(forKey: kind) else { continue }
                held[origin] = held[origin]?.filter { $0.key.kind != kind || seen.contains($0.key) }
            }
        }

        func effective() -> ClusterObjects {
            var best: [Key: (Origin, ClusterObject)] = [:]
            for (origin, objects) in held where !(heldAside && origin == .api) {
                for (key, o) in objects where best[key].map({ origin < $0.0 }) ?? true { best[key] = (origin, o) }
            }
            var out = ClusterObjects()
            for (_, (_, o)) in best.sorted(by: { $0.key < $1.key }) {
                switch o {
                case .namespace(let n): out.namespaces.append(n)
                case .service(let s): out.services.append(s)
                case .endpointSlice(let s): out.endpointSlices.append(s)
                case .pod(let p): out.pods.append(p)
                }
            }
            return out
        }
    }
}
