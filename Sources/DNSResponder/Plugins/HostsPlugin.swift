import DNSWire
import Synchronization

/// The names and addresses of an /etc/hosts-format text (hosts(5)): `ADDRESS NAME [ALIAS...]`,
/// `#` comments. As CoreDNS's hosts plugin reads it: names outside the plugin's zones are left
/// out, lines that do not start with an address are skipped, and every name of an address
/// gets a PTR unless `no_reverse`.
public struct HostsTable: Sendable, Equatable {
    var v4: [DNSName: [IPAddress]] = [:]
    var v6: [DNSName: [IPAddress]] = [:]
    /// Reverse name (`4.3.2.1.in-addr.arpa.`) → the names, in file order.
    var reverse: [DNSName: [DNSName]] = [:]
    /// `foldedHash` of every name above (forward and reverse): the direct path asks whether a
    /// name read in place may be held, without building a DNSName.
    var hashes: Set<UInt64> = []

    public init() {}

    public init(parsing text: String, zones: [DNSName], reverse withReverse: Bool = true) {
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = content.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2 else { continue }
            var text = String(fields[0])
            // An IPv6 zone index (fe80::1%eth0) is not part of the address.
            if let percent = text.firstIndex(of: "%") { text = String(text[..<percent]) }
            guard let address = IPAddress(text) else { continue }
            for field in fields.dropFirst() {
                guard let name = try? DNSName(parsing: String(field).lowercased()), zones.contains(where: { name.isSubdomain(of: $0) }) else { continue }
                if address.isIPv4 { v4[name, default: []].append(address) } else { v6[name, default: []].append(address) }
                hashes.insert(name.foldedHash)
                if withReverse {
                    reverse[address.reverseName, default: []].append(name)
                    hashes.insert(address.reverseName.foldedHash)
                }
            }
        }
    }

    /// The entries of `other` after this table's own (CoreDNS: the file, then the inline lines).
    public func merging(_ other: HostsTable) -> HostsTable {
        var out = self
        for (k, v) in other.v4 { out.v4[k, default: []] += v }
        for (k, v) in other.v6 { out.v6[k, default: []] += v }
        for (k, v) in other.reverse { out.reverse[k, default: []] += v }
        out.hashes.formUnion(other.hashes)
        return out
    }

    /// Names with an address.
    public var count: Int { Set(v4.keys).union(v6.keys).count }
    public func addresses(_ name: DNSName) -> [IPAddress] { (v4[name] ?? []) + (v6[name] ?? []) }
}

/// The table a hosts plugin answers from: its inline entries plus the file's as last read.
/// `reload` swaps it whole under the lock (a query copies the reference out, never waits on I/O).
public final class HostsSource: Sendable {
    /// The file, absolute; nil for inline entries only (never in CoreDNS: it defaults to /etc/hosts).
    public let path: String?
    public let inline: HostsTable
    public let zones: [DNSName]
    public let reverse: Bool
    private let table: Mutex<HostsTable>

    public init(path: String?, inline: HostsTable, file: HostsTable?, zones: [DNSName], reverse: Bool) {
        self.path = path
        self.inline = inline
        self.zones = zones
        self.reverse = reverse
        table = Mutex((file ?? HostsTable()).merging(inline))
    }

    public var current: HostsTable { table.withLock { $0 } }

    /// Whether a name with this `foldedHash` may be in the table (false: it certainly is not).
    public func mayHold(hash: UInt64) -> Bool { table.withLock { $0.hashes.contains(hash) } }

    /// The file's new contents (nil: the file is gone, so the inline entries alone, as in CoreDNS).
    public func replace(fileText: String?) {
        let file = fileText.map { HostsTable(parsing: $0, zones: zones, reverse: reverse) } ?? HostsTable()
        let merged = file.merging(inline)
        table.withLock { $0 = merged }
    }
}

/// CoreDNS `hosts [FILE [ZONES...]] { INLINE; ttl; no_reverse; reload; fallthrough }`.
public struct HostsPlugin: Sendable {
    public var zones: [DNSName]
    public var ttl: UInt32
    /// How often the file is checked; zero: never after the first read.
    public var reload: Duration
    public var fall: Fallthrough?
    public let source: HostsSource

    public init(zones: [DNSName], ttl: UInt32 = 3600, reload: Duration = .seconds(5), fall: Fallthrough? = nil, source: HostsSource) {
        self.zones = zones
        self.ttl = ttl
        self.reload = reload
        self.fall = fall
        self.source = source
    }

    /// CoreDNS hosts.go: A/AAAA for names in its zones, PTR for addresses it holds (whatever the
    /// zone: reverse zones need not be listed). A name it holds asked for another type is NODATA
    /// (no SOA: a hosts file has none). A name it does not hold: the next plugin with
    /// `fallthrough`, else SERVFAIL — CoreDNS's choice ("we want to send an NXDOMAIN, but because of
    /// /etc/hosts' setup we don't have a SOA"), followed so that `compare` stays quiet. A PTR it
    /// does not hold always goes on.
    func answer(_ q: Question) -> PluginStep {
        let inZone = zones.contains { q.name.isSubdomain(of: $0) }
        guard inZone || q.type == .ptr else { return .next }
        let table = source.current
        var records: [ResourceRecord] = []
        switch q.type {
        case .ptr:
            guard let names = table.reverse[q.name], !names.isEmpty else { return .next }
            records = names.map { ResourceRecord(name: q.name, ttl: ttl, rdata: .ptr($0)) }
        case .a:
            records = (table.v4[q.name] ?? []).map { ResourceRecord(name: q.name, ttl: ttl, rdata: .a($0)) }
        case .aaaa:
            records = (table.v6[q.name] ?? []).map { ResourceRecord(name: q.name, ttl: ttl, rdata: .aaaa($0)) }
        default:
            break
        }
        if records.isEmpty && table.v4[q.name] == nil && table.v6[q.name] == nil {
            if let fall, fall.through(q.name) { return .next }
            return .answer(.error(.servFail))
        }
        var answer = Answer(rcode: .noError, authoritative: true)
        if !records.isEmpty { answer.answer = [records] }
        return .answer(answer)
    }
}
