import CLDNS
import DNSWire

#if canImport(Glibc)
import Glibc
#endif

/// libldns as an independent decoder (issue 2): every response the tests see is decoded by
/// `ldns_wire2pkt` too, and the two readings must agree on header, counts, EDNS and each record.
public enum LDNSCheck {
    public struct Disagreement: Error, CustomStringConvertible {
        public var description: String
    }

    /// Decodes `bytes` with both decoders and compares. Returns our decoded message.
    @discardableResult
    public static func decodeBoth(_ bytes: [UInt8]) throws -> Message {
        let ours = try Message(decoding: bytes)
        var pkt: UnsafeMutablePointer<ldns_pkt>? = nil
        let status = bytes.withUnsafeBufferPointer { ldns_wire2pkt(&pkt, $0.baseAddress, $0.count) }
        guard status == LDNS_STATUS_OK, let pkt else {
            throw Disagreement(description: "libldns rejects a message we decode: \(String(cString: ldns_get_errorstr_by_id(status)))")
        }
        defer { ldns_pkt_free(pkt) }
        func check(_ ok: Bool, _ what: @autoclosure () -> String) throws {
            if !ok { throw Disagreement(description: "libldns disagrees on \(what())") }
        }
        let h = ours.header
        try check(ldns_pkt_id(pkt) == h.id, "id")
        try check((ldns_pkt_qr(pkt) != 0) == h.isResponse, "QR")
        try check((ldns_pkt_aa(pkt) != 0) == h.authoritative, "AA")
        try check((ldns_pkt_tc(pkt) != 0) == h.truncated, "TC")
        try check((ldns_pkt_rd(pkt) != 0) == h.recursionDesired, "RD")
        try check((ldns_pkt_cd(pkt) != 0) == h.checkingDisabled, "CD")
        try check((ldns_pkt_ad(pkt) != 0) == h.authenticData, "AD")
        try check(UInt8(ldns_pkt_get_opcode(pkt).rawValue) == h.opcode.rawValue, "opcode")
        try check(ldns_pkt_qdcount(pkt) == h.qdCount, "QDCOUNT")
        try check(ldns_pkt_ancount(pkt) == h.anCount, "ANCOUNT")
        try check(ldns_pkt_nscount(pkt) == h.nsCount, "NSCOUNT")
        // libldns takes the OPT out of the additional section and counts it separately.
        try check(Int(ldns_pkt_arcount(pkt)) == ours.additional.count, "ARCOUNT without OPT")
        try check((ldns_pkt_edns(pkt) != 0) == (ours.edns != nil), "EDNS presence")
        if let e = ours.edns {
            try check(ldns_pkt_edns_udp_size(pkt) == e.udpPayloadSize, "EDNS UDP size")
            try check(ldns_pkt_edns_version(pkt) == e.version, "EDNS version")
            try check((ldns_pkt_edns_do(pkt) != 0) == e.dnssecOK, "DO")
            try check(ldns_pkt_edns_extended_rcode(pkt) == e.extendedRcodeHigh, "extended RCODE")
        }
        try check(UInt8(ldns_pkt_get_rcode(pkt).rawValue) == h.rcodeLow, "RCODE")
        let sections: [(ldns_pkt_section, [String])] = [
            (LDNS_SECTION_QUESTION, ours.questions.map { "\($0.name)\t\($0.recordClass)\t\($0.type)" }),
            (LDNS_SECTION_ANSWER, ours.answers.map(\.description)),
            (LDNS_SECTION_AUTHORITY, ours.authority.map(\.description)),
            (LDNS_SECTION_ADDITIONAL, ours.additional.map(\.description)),
        ]
        for (section, texts) in sections {
            guard let list = ldns_pkt_get_section_clone(pkt, section) else { continue }
            defer { ldns_rr_list_deep_free(list) }
            for i in 0..<ldns_rr_list_rr_count(list) {
                guard let rr = ldns_rr_list_rr(list, i) else { continue }
                if section == LDNS_SECTION_QUESTION {
                    // Compare numbers: libldns's mnemonics for meta-types differ (it prints 253 as MAILB).
                    let q = ours.questions[i]
                    try check(ldns_rr_get_type(rr).rawValue == UInt32(q.type.rawValue), "question type")
                    try check(ldns_rr_get_class(rr).rawValue == UInt32(q.recordClass.rawValue), "question class")
                    continue
                }
                guard let cText = ldns_rr2str(rr) else { continue }
                defer { free(cText) }
                let theirs = normalize(String(cString: cText), question: section == LDNS_SECTION_QUESTION)
                let mine = normalize(texts[i], question: section == LDNS_SECTION_QUESTION)
                try check(theirs == mine, "record \(i) of section \(section.rawValue): ldns \"\(theirs)\" vs ours \"\(mine)\"")
            }
        }
        return ours
    }

    /// Both printers write master-file text; compare it lower-cased with whitespace collapsed.
    /// libldns prints a question as `;name. IN A`.
    /// Inside quotes libldns prints tabs and spaces raw where we escape them: both become `\DDD`.
    public static func normalize(_ text: String, question: Bool) -> String {
        var out: [UInt8] = []
        var quoted = false
        var lastSpace = false
        var escaped = false
        for b in text.lowercased().utf8 {
            if quoted {
                if escaped {
                    escaped = false
                    out.append(b)
                } else if b == 0x5C {
                    escaped = true
                    out.append(b)
                } else if b == 0x22 {
                    quoted = false
                    out.append(b)
                } else if b <= 0x20 {
                    out += Array("\\\(String(format3: b))".utf8)
                } else {
                    out.append(b)
                }
                continue
            }
            if b == 0x20 || b == 0x09 || b == 0x0A {
                if !lastSpace && !out.isEmpty { out.append(0x20) }
                lastSpace = true
                continue
            }
            lastSpace = false
            if b == 0x22 { quoted = true }
            out.append(b)
        }
        while out.last == 0x20 { out.removeLast() }
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses one master-file record with libldns (for expectations written as zone text).
    public static func record(_ text: String) throws -> ResourceRecord {
        var rr: UnsafeMutablePointer<ldns_rr>? = nil
        let status = ldns_rr_new_frm_str(&rr, text, 3600, nil, nil)
        guard status == LDNS_STATUS_OK, let rr else {
            throw Disagreement(description: "bad zone text \"\(text)\": \(String(cString: ldns_get_errorstr_by_id(status)))")
        }
        defer { ldns_rr_free(rr) }
        var wire: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        guard ldns_rr2wire(&wire, rr, Int32(bitPattern: LDNS_SECTION_ANSWER.rawValue), &size) == LDNS_STATUS_OK, let wire else {
            throw Disagreement(description: "cannot encode \(text)")
        }
        defer { free(wire) }
        var reader = WireReader([UInt8](repeating: 0, count: 12) + Array(UnsafeBufferPointer(start: wire, count: size)), offset: 12)
        guard case .record(let record) = try reader.readEntry() else { throw Disagreement(description: "OPT in zone text") }
        return record
    }

    /// Zone text, one record per non-empty line (`;` comments allowed).
    public static func records(_ text: String) throws -> [ResourceRecord] {
        try text.split(separator: "\n").map { $0.trimmingCharacters(in: " \t") }.filter { !$0.isEmpty && !$0.hasPrefix(";") }.map { try record(String($0)) }
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> Substring {
        var s = self
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return s
    }
}

extension String {
    init(format3 b: UInt8) {
        self = String(b / 100) + String((b / 10) % 10) + String(b % 10)
    }
}
