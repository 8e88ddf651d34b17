import DNSResponder
import DNSWire
import Testing
import TestSupport

/// reliability.md §2.1–2.4, in-process: every row gets its exact outcome, the reply (if any) is
/// well-formed for libldns, echoes the ID, and keeps the question only when it parsed.
@Suite struct MalformedPacketTests {
    @Test(arguments: MalformedPackets.rows)
    func row(_ row: MalformedPackets.Row) throws {
        let outcome = QueryProcessor().respond(to: row.bytes, transport: .udp, snapshot: SpecWorld.world.snapshot)
        switch (outcome, row.outcome) {
        case (.drop, .drop):
            break
        case (.reply(let bytes, let info), .rcode(let expected)):
            #expect(info.rcode == expected)
            let m = try LDNSCheck.decodeBoth(bytes)
            #expect(m.rcode == expected)
            #expect(m.header.id == 0xABCD)
            #expect(m.header.isResponse)
            #expect(bytes.count <= 512)
            #expect(!m.header.zero && !m.header.authenticData)
            if expected == .notImp || (expected == .formErr && m.questions.isEmpty) {
                // RFC 8906 §8.1.4: empty sections, no OPT.
                #expect(m.answers.isEmpty && m.authority.isEmpty && m.edns == nil)
            }
            if expected == .badVers {
                // RFC 6891 §6.1.3: OPT version 0, no answer, AA=0.
                #expect(m.edns?.version == 0)
                #expect(m.answers.isEmpty && !m.header.authoritative)
            }
            if let e = m.edns {
                #expect(e.options.isEmpty, "options are never echoed")
                #expect(e.otherFlags == 0, "unknown EDNS flags are cleared")
            }
        default:
            Issue.record("\(row.name): got \(outcome), expected \(row.outcome)")
        }
    }

    @Test func tableIsLargeEnough() {
        #expect(MalformedPackets.rows.count >= 40)
    }
}
