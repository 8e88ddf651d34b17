import CLDNS
import DNSWire
import FileContents
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
        // Read once, parsed twice from memory (the SOA scan, then the zone): both passes see the
        // same bytes even if the file is rewritten in between.
        guard var text = FileContents.bytes(path) else { throw SourceError(file: displayName, line: 1, message: "cannot read") }
        // fmemopen wants a buffer of at least one byte; an empty file reads as "\n" (still empty).
        if text.isEmpty { text = [0x0A] }
        let base = String(path.split(separator: "/").last ?? "")
        let originText = (base.hasSuffix(".zone") ? String(base.dropLast(5)) : base) + "."
        let origin = ldns_dname_new_frm_str(originText)
        defer { if let origin { ldns_rdf_deep_free(origin) } }
        let result = text.withUnsafeMutableBytes { buffer in
            Result { () throws(SourceError) -> Zone in
                guard let fp = fmemopen(buffer.baseAddress, buffer.count, "r") else { throw SourceError(file: displayName, line: 1, message: "cannot read") }
                defer { fclose(fp) }
                try checkRecords(fp, UnsafeRawBufferPointer(buffer), origin: origin, displayName)
                rewind(fp)
                return try load(fp, origin: origin, displayName)
            }
        }
        return try result.get()
    }

    static func load(_ fp: UnsafeMutablePointer<FILE>, origin: UnsafeMutablePointer<ldns_rdf>?, _ displayName: String) throws(SourceError) -> Zone {
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

    /// A zone has one SOA. libldns 1.8.3 skips a second one, but frees it while still holding it
    /// as the record before the next (whose TTL it then reads from freed memory: `@ IN SOA …`
    /// twice, then `ns IN A 192.0.2.1`, is a heap use-after-free). So the file is read record by
    /// record first, with the reader `ldns_zone_new_frm_fp_l` itself uses and the origin it would
    /// have, and a second SOA is an error at its line before libldns builds a zone. A syntax
    /// error is reported here, at its line and in libldns's words, as the zone parser would report
    /// it: the zone parser is only run on a file that reads cleanly, because when it fails after
    /// the SOA it leaks that record (found by the LeakSanitizer run, `make leakcheck`).
    static func checkRecords(_ fp: UnsafeMutablePointer<FILE>, _ text: UnsafeRawBufferPointer, origin: UnsafeMutablePointer<ldns_rdf>?,
                                _ displayName: String) throws(SourceError) {
        var ttl: UInt32 = 3600
        var currentOrigin = origin.flatMap { ldns_rdf_clone($0) }
        var previous = origin.flatMap { ldns_rdf_clone($0) }
        defer {
            if let currentOrigin { ldns_rdf_deep_free(currentOrigin) }
            if let previous { ldns_rdf_deep_free(previous) }
        }
        var line: Int32 = 0
        var firstError: (status: ldns_status, line: Int32)?
        var soaSeen = false
        reading: while feof(fp) == 0 {
            let offset = ftell(fp)
            var rr: UnsafeMutablePointer<ldns_rr>? = nil
            let status = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &currentOrigin, &previous, &line)
            switch status {
            case LDNS_STATUS_OK:
                guard let rr else { continue }
                defer { ldns_rr_free(rr) }
                guard ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA else { continue }
                guard soaSeen else {
                    soaSeen = true
                    // As the zone parser does: without an origin, the SOA's owner is one.
                    if currentOrigin == nil { currentOrigin = ldns_rdf_clone(ldns_rr_owner(rr)) }
                    continue
                }
                if let e = firstError {
                    throw SourceError(file: displayName, line: Int(max(e.line, 1)), message: message(e.status))
                }
                throw SourceError(file: displayName, line: startLine(text, from: offset),
                                  message: "a second SOA record: a zone has exactly one, at its apex")
            case LDNS_STATUS_SYNTAX_EMPTY, LDNS_STATUS_SYNTAX_TTL, LDNS_STATUS_SYNTAX_ORIGIN:
                continue
            default:
                if let rr { ldns_rr_free(rr) }
                if firstError == nil { firstError = (status, line) }
                // An error that read nothing would read nothing again.
                if ftell(fp) == offset { break reading }
            }
        }
        if let e = firstError {
            throw SourceError(file: displayName, line: Int(max(e.line, 1)), message: message(e.status))
        }
    }

    /// The line of the first record text at or after `offset`: libldns reads blank lines and
    /// comments before a record with it, and counts lines only to the record's end.
    static func startLine(_ text: UnsafeRawBufferPointer, from offset: Int) -> Int {
        var line = 1 + text[..<min(max(offset, 0), text.count)].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        var i = max(offset, 0), comment = false
        while i < text.count {
            switch text[i] {
            case 0x0A: line += 1; comment = false
            case 0x3B: comment = true
            case 0x20, 0x09, 0x0D: break
            default: if !comment { return line }
            }
            i += 1
        }
        return line
    }

    /// libldns's words for a status, as its zone parser reports it (`$INCLUDE` is unsupported).
    static func message(_ status: ldns_status) -> String {
        String(cString: ldns_get_errorstr_by_id(status == LDNS_STATUS_SYNTAX_INCLUDE ? LDNS_STATUS_SYNTAX_INCLUDE_ERR_NOTIMPL : status))
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
