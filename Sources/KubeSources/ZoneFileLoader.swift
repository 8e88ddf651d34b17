import CLDNS
import DNSWire
import KubeModel
import RecordIndex

#if canImport(Glibc)
import Glibc
#endif

/// RFC 1035 master files, parsed by libldns (the same parser as `ldns-read-zone`), then turned
/// into our records through our own wire decoder: libldns owns the text format, we own the data.
public enum ZoneFileLoader {
    /// Loads `path`. The origin is `$ORIGIN` when the file sets it, else the file name without
    /// `.zone`. Errors come back as `file:line: message`.
    public static func load(path: String, displayName: String) throws(SourceError) -> Zone {
        guard let fp = fopen(path, "r") else { throw SourceError(file: displayName, line: 1, message: "cannot open") }
        defer { fclose(fp) }
        let base = String(path.split(separator: "/").last ?? "")
        let originText = (base.hasSuffix(".zone") ? String(base.dropLast(5)) : base) + "."
        let origin = ldns_dname_new_frm_str(originText)
        defer { if let origin { ldns_rdf_deep_free(origin) } }
        var zone: UnsafeMutablePointer<ldns_zone>? = nil
        var line: Int32 = 0
        let status = ldns_zone_new_frm_fp_l(&zone, fp, origin, 3600, LDNS_RR_CLASS_IN, &line)
        guard status == LDNS_STATUS_OK, let zone else {
            throw SourceError(file: displayName, line: Int(max(line, 1)), message: String(cString: ldns_get_errorstr_by_id(status)))
        }
        defer { ldns_zone_deep_free(zone) }
        guard let soaRR = ldns_zone_soa(zone) else { throw SourceError(file: displayName, line: 1, message: "no SOA record") }
        let soa = try convert(soaRR, displayName)
        var records = [soa]
        if let list = ldns_zone_rrs(zone) {
            for i in 0..<ldns_rr_list_rr_count(list) {
                guard let rr = ldns_rr_list_rr(list, i) else { continue }
                let record = try convert(rr, displayName)
                guard record.name.isSubdomain(of: soa.name) else {
                    throw SourceError(file: displayName, line: 1, message: "\(record.name) is outside the zone \(soa.name)")
                }
                records.append(record)
            }
        }
        guard let z = Zone.fromRecords(apex: soa.name, kind: .file(path: displayName), records: records) else {
            throw SourceError(file: displayName, line: 1, message: "no SOA at the apex")
        }
        return z
    }

    static func convert(_ rr: UnsafeMutablePointer<ldns_rr>, _ file: String) throws(SourceError) -> ResourceRecord {
        var wire: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        guard ldns_rr2wire(&wire, rr, Int32(bitPattern: LDNS_SECTION_ANSWER.rawValue), &size) == LDNS_STATUS_OK, let wire else {
            throw SourceError(file: file, line: 1, message: "record cannot be encoded")
        }
        defer { free(wire) }
        // The reader expects a message: put the record after a blank header.
        let bytes = [UInt8](repeating: 0, count: Header.size) + Array(UnsafeBufferPointer(start: wire, count: size))
        var reader = WireReader(bytes, offset: Header.size)
        do {
            guard case .record(let record) = try reader.readEntry() else {
                throw SourceError(file: file, line: 1, message: "OPT records do not belong in a zone file")
            }
            return record
        } catch let e as SourceError {
            throw e
        } catch {
            throw SourceError(file: file, line: 1, message: "\(error)")
        }
    }
}
