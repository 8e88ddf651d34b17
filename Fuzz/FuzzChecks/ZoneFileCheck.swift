import DNSWire
import Foundation
import KubeModel
import KubeSources
import RecordIndex

#if canImport(Glibc)
import Glibc
#endif

/// Target `zonefile`: any bytes as `x.zone` → `ZoneFileLoader.load` gives a zone or a
/// `SourceError` naming the file and a line of it. A zone holds only names below its apex, each
/// record encodes and decodes back unchanged, and the zone printed as master-file text (what
/// `clusterdns check` shows) loads back to the same records.
public enum ZoneFileCheck {
    static let directory: String = {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("clusterdns-fuzz-zone-\(getpid())").path
        try! FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    public static func check(_ bytes: [UInt8]) throws {
        // A file per call: the regression tests run saved inputs in parallel.
        let path = directory + "/x-\(UUID().uuidString).zone"
        try write(bytes, to: path)
        defer { unlink(path) }
        let zone: Zone
        do throws(SourceError) {
            zone = try ZoneFileLoader.load(path: path, displayName: "x.zone")
        } catch {
            let lines = bytes.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
            try require(error.file == "x.zone" && !error.message.isEmpty, "error without file or message: \(error)")
            try require(error.line >= 1 && error.line <= lines, "error line \(error.line) outside a \(lines)-line file: \(error)")
            return
        }

        let records = zone.allRecords()
        try require(zone.soa.type == .soa && zone.soa.name == zone.apex, "SOA \(zone.soa) is not at the apex \(zone.apex)")
        for rr in records {
            try require(rr.name.isSubdomain(of: zone.apex), "\(rr) is outside the zone \(zone.apex)")
        }
        for rr in records + [zone.soa] {
            let m = Message(answers: [rr])
            let back = try? Message(decoding: m.encoded())
            try require(back?.answers == [rr], "\(rr) does not survive encode → decode: \(String(describing: back?.answers))")
        }

        // The zone as text, loaded again by the same loader. libldns reads a name only while its
        // presentation text is under about 253 characters, and escapes (`\255`) take four per
        // byte: a zone with such a name is one libldns cannot read back, whatever we print.
        // Opaque RDATA (RFC 3597 `\# n hex`) is left out: we print its bytes as they are, and
        // libldns re-reads them by its own idea of the type, which its text parser does not always
        // share (it reads "TYPE65 \# ..." as bytes it then rejects as HTTPS wire data).
        guard records.allSatisfy({ rr in WireCheck.names(of: rr).allSatisfy { $0.description.utf8.count < 250 } }) else { return }
        let printable = records.filter { if case .opaque = $0.rdata { return false } else { return true } }
        let text = "$ORIGIN \(zone.apex)\n" + (printable.contains(zone.soa) ? printable : [zone.soa] + printable).map { $0.description + "\n" }.joined()
        try write(Array(text.utf8), to: path)
        let reloaded: Zone
        do {
            reloaded = try ZoneFileLoader.load(path: path, displayName: "x.zone")
        } catch {
            throw CheckFailure("the zone printed as text does not load: \(error)\n\(text)")
        }
        let a = Set(printable), b = Set(reloaded.allRecords())
        try require(reloaded.apex == zone.apex && a == b,
                    "the zone printed as text loads as a different zone:\n\(text)\nonly first: \(a.subtracting(b))\nonly reloaded: \(b.subtracting(a))")
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        guard let fp = fopen(path, "w") else { throw CheckFailure("cannot write \(path)") }
        defer { fclose(fp) }
        guard bytes.isEmpty || fwrite(bytes, 1, bytes.count, fp) == bytes.count else { throw CheckFailure("short write to \(path)") }
    }
}
