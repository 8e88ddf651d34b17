import DNSResponder
import DNSWire
import Foundation
import KubeSources
import RecordIndex

/// `clusterdns check` and `clusterdns query`: the same loader, builder and responder as the
/// server, without sockets.
public enum OfflineTools {
    /// Loads a zones directory once. Throws only when the directory itself cannot be read.
    public static func load(directory: String, options: IndexOptions) throws -> (ManifestDirectory.Load, Snapshot) {
        let load = try ManifestDirectory(root: directory).scan() ?? ManifestDirectory.Load()
        var index = ClusterIndex(options: options)
        for file in load.changedFiles {
            for object in file.objects { index.apply(.upsert(object), from: .file(file.path)) }
        }
        let (zones, stats) = index.publish(serial: UInt32(truncatingIfNeeded: Int(Date().timeIntervalSince1970)))
        return (load, Snapshot.assemble(cluster: zones, files: load.zones ?? [], stats: stats, clients: index.clientNamespaces).snapshot)
    }

    /// Every record the snapshot serves, zone by zone, as master-file text.
    public static func zoneText(_ snapshot: Snapshot) -> String {
        var out = ""
        for zone in snapshot.zones.sorted(by: { $0.apex.description < $1.apex.description }) {
            out += "; zone \(zone.apex) (\(zone.kind.label))\n$ORIGIN \(zone.apex)\n"
            for rr in zone.allRecords() { out += rr.description + "\n" }
            out += "\n"
        }
        return out
    }

    /// Answers one question as the server would over TCP (no size limit) and prints it the way
    /// `dig` does.
    public static func query(name: DNSName, type: RecordType, snapshot: Snapshot, udpSize: Int = 1232) -> String {
        var header = Header()
        header.id = 0
        header.recursionDesired = true
        let query = Message(header: header, questions: [Question(name: name, type: type)], edns: EDNS(udpPayloadSize: 1232))
        let outcome = QueryProcessor(udpSize: udpSize).respond(to: query.encoded(), transport: .tcp, snapshot: snapshot)
        guard case .reply(let bytes, _) = outcome, let message = try? Message(decoding: bytes) else {
            return ";; no answer\n"
        }
        return digText(message)
    }

    public static func digText(_ m: Message) -> String {
        var flags: [String] = ["qr"]
        if m.header.authoritative { flags.append("aa") }
        if m.header.truncated { flags.append("tc") }
        if m.header.recursionDesired { flags.append("rd") }
        if m.header.recursionAvailable { flags.append("ra") }
        var out = ";; ->>HEADER<<- opcode: QUERY, status: \(m.rcode), id: \(m.header.id)\n"
        out += ";; flags: \(flags.joined(separator: " ")); QUERY: \(m.questions.count), ANSWER: \(m.answers.count), "
        out += "AUTHORITY: \(m.authority.count), ADDITIONAL: \(m.additional.count + (m.edns == nil ? 0 : 1))\n"
        if let e = m.edns {
            out += "\n;; OPT PSEUDOSECTION:\n; EDNS: version: \(e.version), flags:\(e.dnssecOK ? " do" : ""); udp: \(e.udpPayloadSize)\n"
        }
        out += "\n;; QUESTION SECTION:\n"
        for q in m.questions { out += ";\(q.name)\t\t\(q.recordClass)\t\(q.type)\n" }
        for (title, records) in [("ANSWER", m.answers), ("AUTHORITY", m.authority), ("ADDITIONAL", m.additional)] where !records.isEmpty {
            out += "\n;; \(title) SECTION:\n"
            for rr in records { out += rr.description + "\n" }
        }
        return out
    }
}

extension Zone.Kind {
    var label: String {
        switch self {
        case .cluster: return "cluster"
        case .reverse: return "reverse"
        case .file(let path): return "file \(path)"
        }
    }
}
