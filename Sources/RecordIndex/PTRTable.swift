import DNSWire
import HashTreeCollections
import KubeModel

/// The PTR records of the reverse zones, kept as who asks for each address rather than as
/// nodes: at 10,000 Services × 10 endpoints they are 110,000 of the 240,000 names, and a node
/// each (owner, target, map entry) cost about 200 bytes where an entry here costs about 40. A
/// PTR's record is written when a query asks for it (`write`, into the caller's stack, no
/// allocation) or built as a `Node` for the long way and for `clusterdns check`
/// (`node(for:)`). Persistent, like `NodeMap`: each snapshot shares it with the next.
///
/// The rules (kubernetes-dns.md S13, S14, S22, S23; D15): one PTR per distinct owner; a
/// ClusterIP's owner alone when one asks (it wins over endpoint names), the canonically
/// smallest of several; owners in canonical order, so the answer does not depend on the order
/// events came in.
public struct PTRTable: Sendable {
    /// An address as a map key without a heap object (`IPAddress.v6` holds an array), so a
    /// question's reverse name is looked up without allocating.
    public struct Key: Hashable, Sendable {
        var high: UInt64
        var low: UInt64
        var v6: Bool

        public init(_ ip: IPAddress) {
            switch ip {
            case let .v4(a, b, c, d):
                high = 0
                low = UInt64(a) << 24 | UInt64(b) << 16 | UInt64(c) << 8 | UInt64(d)
                v6 = false
            case .v6(let bytes):
                high = bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
                low = bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
                v6 = true
            }
        }

        init(high: UInt64, low: UInt64, v6: Bool) {
            self.high = high
            self.low = low
            self.v6 = v6
        }

        init(v4: UInt32) {
            high = 0
            low = UInt64(v4)
            v6 = false
        }

        public var address: IPAddress {
            guard v6 else { return .v4(UInt8(low >> 24 & 0xFF), UInt8(low >> 16 & 0xFF), UInt8(low >> 8 & 0xFF), UInt8(low & 0xFF)) }
            return .v6((0..<16).map { i in UInt8(truncatingIfNeeded: (i < 8 ? high : low) >> (56 - 8 * UInt64(i % 8))) })
        }

        /// The address whose reverse name (`IPAddress.reverseName`) is the uncompressed name in
        /// `bytes[range]`, ignoring case; nil for any other name. Octets are decimal without
        /// leading zeros and nibbles single hex digits, exactly as the reverse names are
        /// written, so `01.0.0.10.in-addr.arpa` is not 10.0.0.1's name.
        public init?(reverseName bytes: UnsafeRawBufferPointer, _ range: Range<Int>) {
            var i = range.lowerBound
            func label() -> Range<Int>? {
                guard i < range.upperBound else { return nil }
                let n = Int(bytes[i])
                guard n > 0, i + 1 + n <= range.upperBound else { return nil }
                defer { i += 1 + n }
                return (i + 1)..<(i + 1 + n)
            }
            func isTail(_ tail: [UInt8]) -> Bool {
                range.upperBound - i == tail.count
                    && tail.withUnsafeBytes { DNSName.equalFolded(bytes, i..<range.upperBound, $0, 0..<tail.count) }
            }
            guard let first = label() else { return nil }
            if first.count == 1, i < range.upperBound, bytes[i] == 1, PTRTable.nibble(bytes[first.lowerBound]) != nil,
               range.count == 32 * 2 + IPAddress.ip6Arpa.count {
                // 32 nibbles, lowest first.
                var high: UInt64 = 0, low: UInt64 = 0
                var r: Range<Int>? = first
                for k in 0..<32 {
                    guard let l = r, l.count == 1, let v = PTRTable.nibble(bytes[l.lowerBound]) else { return nil }
                    if k < 16 { low |= UInt64(v) << (4 * UInt64(k)) } else { high |= UInt64(v) << (4 * UInt64(k - 16)) }
                    if k < 31 { r = label() }
                }
                guard isTail(IPAddress.ip6Arpa) else { return nil }
                self.high = high
                self.low = low
                v6 = true
                return
            }
            var value: UInt64 = 0
            var r: Range<Int>? = first
            for k in 0..<4 {
                guard let l = r, let octet = PTRTable.octet(bytes, l) else { return nil }
                value |= UInt64(octet) << (8 * UInt64(k))
                if k < 3 { r = label() }
            }
            guard isTail(IPAddress.inAddrArpa) else { return nil }
            high = 0
            low = value
            v6 = false
        }

        public init?(reverseName name: DNSName) {
            guard let key = name.wire.withUnsafeBytes({ Key(reverseName: $0, 0..<name.wire.count) }) else { return nil }
            self = key
        }
    }

    /// Who asks for one address's PTR: a Service, by its number in `services`, and the name of
    /// the endpoint below it. Eight bytes, no heap object: there is one per endpoint in the
    /// cluster. Askers come only from Services whose name is valid in the primary cluster
    /// domain (their records were written there).
    struct Asker: Hashable, Sendable {
        var service: UInt32
        /// `Self.clusterIP`: none (a ClusterIP, which wins over endpoint names, D15);
        /// `Self.dashed`: the IPv4 address with dashes (S5, what most endpoints are called);
        /// `n ≥ 2`: the Service's `hostnames[n - 2]`.
        var host: UInt32

        static let clusterIP: UInt32 = 0
        static let dashed: UInt32 = 1
    }

    /// A Service that asks for PTRs, and the endpoint names its askers point at (other than
    /// the dashed addresses, which are not stored).
    struct Asking: Sendable, Equatable {
        var service: ObjectName
        var hostnames: [String]
    }

    typealias Askers = OneOrMany<Asker>

    private(set) var entries = PTREntries()
    /// The Services of `Asker.service`.
    private(set) var services = TreeDictionary<UInt32, Asking>()
    /// `svc.<primary cluster domain>`: every target ends with it. Nil without a cluster domain.
    let suffix: DNSName?
    let ttl: UInt32

    init(suffix: DNSName?, ttl: UInt32) {
        self.suffix = suffix
        self.ttl = ttl
    }

    /// Addresses with a PTR.
    public var count: Int { entries.count }

    /// Every address with a PTR, in no particular order.
    public var addresses: [IPAddress] { entries.keys.map(\.address) }

    func askers(_ key: Key) -> [Asker] { entries[key]?.all ?? [] }

    /// Replaces everything Service number `id` asks for: `old` are the addresses it asked for
    /// before, `asks` what it asks for now, and under which name.
    mutating func setAsks(of id: UInt32, service: ObjectName, old: [Key], asks: [(ip: Key, host: PTRContribution.Host)]) {
        for key in old { remove(key, askedBy: id) }
        guard !asks.isEmpty else {
            services[id] = nil
            return
        }
        var hostnames: [String] = []
        var numbers: [String: UInt32] = [:]
        for (key, name) in asks {
            let host: UInt32
            switch name {
            case .clusterIP:
                host = Asker.clusterIP
            case .dashed where !key.v6:
                host = Asker.dashed
            case .dashed, .named:
                // Kept as text: a hostname, or an IPv6 address's dashed name.
                let hostname: String
                if case .named(let h) = name { hostname = h } else { hostname = EndpointName.dashed(key.address) }
                if !key.v6, hostname == EndpointName.dashed(key.address) {
                    host = Asker.dashed
                } else if let n = numbers[hostname] {
                    host = n
                } else {
                    host = UInt32(hostnames.count + 2)
                    numbers[hostname] = host
                    hostnames.append(hostname)
                }
            }
            add(key, Asker(service: id, host: host))
        }
        let asking = Asking(service: service, hostnames: hostnames)
        if services[id] != asking { services[id] = asking }
    }

    private mutating func add(_ key: Key, _ asker: Asker) {
        entries.update(key) { askers in
            askers = askers.map { Askers($0.all + [asker])! } ?? .one(asker)
        }
    }

    /// Takes every asker of Service number `id` out of `key`'s.
    private mutating func remove(_ key: Key, askedBy id: UInt32) {
        guard let list = entries[key]?.all else { return }
        let kept = list.filter { $0.service != id }
        if kept.count != list.count { entries.update(key) { $0 = Askers(kept) } }
    }

    // MARK: - Records

    /// The PTR targets of `key`, in the order they are answered.
    public func owners(_ key: Key) -> [DNSName] {
        let askers = askers(key)
        if askers.count == 1 { return target(askers[0], key).map { [$0] } ?? [] }
        let clusterIP = askers.filter { $0.host == Asker.clusterIP }
        if !clusterIP.isEmpty {
            return clusterIP.compactMap { target($0, key) }.min(by: Zone.canonicalLess).map { [$0] } ?? []
        }
        return Array(Set(askers.compactMap { target($0, key) })).sorted(by: Zone.canonicalLess)
    }

    /// PTR records of `key` (what `clusterdns_index_records` counts).
    func records(_ key: Key) -> Int {
        entries[key].map { records(key, $0) } ?? 0
    }

    private func records(_ key: Key, _ askers: Askers) -> Int {
        if case .one = askers { return 1 }
        return owners(key).count
    }

    /// Calls `body` with every address and its PTR records, walking the table once, a group at
    /// a time: the addresses that share all but their last byte (an IPv4 group shares its
    /// reverse names' parent).
    func eachGroupRecordCount(_ body: ([(key: Key, records: Int)]) -> Void) {
        var group: [(key: Key, records: Int)] = []
        entries.forEachGroup { prefix, members in
            group.removeAll(keepingCapacity: true)
            for entry in members {
                let key = prefix.key(entry.last)
                group.append((key, records(key, entry.askers)))
            }
            body(group)
        }
    }

    /// A PTR's target: the Service's name for a ClusterIP, `<hostname>.<svc>` for an endpoint
    /// (the Service's name when that would not be a name).
    func target(_ asker: Asker, _ key: Key) -> DNSName? {
        guard let suffix, let asking = services[asker.service],
              let svcName = try? DNSName(labels: [asking.service.name, asking.service.namespace], suffix: suffix) else { return nil }
        guard let hostname = hostname(asker, key, asking) else { return svcName }
        return (try? DNSName(labels: [hostname], suffix: svcName)) ?? svcName
    }

    /// The endpoint's name of an asker (nil for a ClusterIP).
    func hostname(_ asker: Asker, _ key: Key, _ asking: Asking) -> String? {
        switch asker.host {
        case Asker.clusterIP: return nil
        case Asker.dashed: return EndpointName.dashed(key.address)
        default:
            let i = Int(asker.host) - 2
            return i < asking.hostnames.count ? asking.hostnames[i] : nil
        }
    }

    /// The node of the address whose reverse name is `name`, built: for the long way, `check`
    /// and tests.
    public func node(for key: Key, name: DNSName) -> Node? {
        let owners = owners(key)
        guard !owners.isEmpty else { return nil }
        return Node(name: name, rrsets: [RRSet(type: .ptr, records: owners.map { ResourceRecord(name: name, ttl: ttl, rdata: .ptr($0)) })])
    }

    /// What `write` found.
    public enum Lookup: Equatable {
        /// Nobody asks for the address: its name does not exist.
        case none
        /// Several Services ask: the caller answers the long way (`node(for:name:)`).
        case many
        /// One Service asks: its record is the first `count` bytes of the buffer.
        case one(count: Int)
    }

    /// Bytes `write` may need: a placeholder owner, the record's fixed fields, a whole name.
    public static let maxRecordSize = 11 + 255

    /// The common case without an allocation: when one Service asks for `key`, writes its PTR
    /// record into `buffer` (at least `maxRecordSize` bytes, the caller's stack) as a `Node`
    /// stores a record: a placeholder owner, then the record with its target uncompressed. Its
    /// RRset's header is `(.ptr, 1, 0, 0..<count)`.
    public func write(_ key: Key, into buffer: UnsafeMutableRawBufferPointer) -> Lookup {
        guard let askers = entries[key] else { return .none }
        guard case .one(let asker) = askers, let suffix, buffer.count >= PTRTable.maxRecordSize,
              let asking = services[asker.service] else { return .many }
        var service = asking.service.name, namespace = asking.service.namespace
        let svcLength = 2 + service.utf8.count + namespace.utf8.count + suffix.wire.count
        // Valid by construction (see `Asker`), so this holds; the long way decides otherwise.
        guard (1...63).contains(service.utf8.count), (1...63).contains(namespace.utf8.count), svcLength <= 255 else { return .many }
        // The dashed IPv4 address is written from the key: at most 15 bytes, always a label.
        let dashed = asker.host == Asker.dashed && !key.v6
        var host = dashed ? nil : hostname(asker, key, asking)
        if let h = host, h.utf8.isEmpty || h.utf8.count > 63 || svcLength + 1 + h.utf8.count > 255 { host = nil }
        var i = 0
        func put(_ b: UInt8) {
            buffer[i] = b
            i += 1
        }
        func put(label: inout String) {
            put(UInt8(label.utf8.count))
            label.withUTF8 { src in
                buffer.baseAddress!.advanced(by: i).copyMemory(from: src.baseAddress!, byteCount: src.count)
                i += src.count
            }
        }
        put(0)  // the placeholder owner
        put(0); put(UInt8(RecordType.ptr.rawValue))
        put(0); put(UInt8(RecordClass.in.rawValue))
        put(UInt8(truncatingIfNeeded: ttl >> 24)); put(UInt8(truncatingIfNeeded: ttl >> 16))
        put(UInt8(truncatingIfNeeded: ttl >> 8)); put(UInt8(truncatingIfNeeded: ttl))
        let lengthAt = i  // the target's length, written once the target is
        put(0); put(0)
        if var h = host { put(label: &h) }
        if dashed {
            let labelAt = i
            i = EndpointName.writeDashed(UInt32(truncatingIfNeeded: key.low), into: buffer, at: i + 1)
            buffer[labelAt] = UInt8(i - labelAt - 1)
        }
        put(label: &service)
        put(label: &namespace)
        suffix.wire.withUnsafeBytes { src in
            buffer.baseAddress!.advanced(by: i).copyMemory(from: src.baseAddress!, byteCount: src.count)
            i += src.count
        }
        let targetLength = i - lengthAt - 2
        buffer[lengthAt] = UInt8(targetLength >> 8)
        buffer[lengthAt + 1] = UInt8(targetLength & 0xFF)
        return .one(count: i)
    }

    static func nibble(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// A decimal octet as the reverse names write it: 1–3 digits, no leading zero, at most 255.
    static func octet(_ bytes: UnsafeRawBufferPointer, _ r: Range<Int>) -> UInt8? {
        guard r.count <= 3, r.count == 1 || bytes[r.lowerBound] != UInt8(ascii: "0") else { return nil }
        var v = 0
        for i in r {
            let d = bytes[i]
            guard d >= UInt8(ascii: "0"), d <= UInt8(ascii: "9") else { return nil }
            v = v * 10 + Int(d - UInt8(ascii: "0"))
        }
        return v <= 255 ? UInt8(v) : nil
    }
}
