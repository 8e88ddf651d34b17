import DNSWire
import Testing

/// Compression pointers point to a prior occurrence (RFC 9267 §2): before the labels that lead
/// to them, never into the name being read.
@Suite struct WireReaderTests {
    static let header: [UInt8] = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]

    /// Found by the query fuzzer: the label at 12 spans the pointer's target, the pointer jumps
    /// back into it, and the label read there spans the pointer itself. The reader took it as a
    /// name; the server then copied the "uncompressed" question verbatim, walked off its end and
    /// trapped: one 22-byte datagram took clusterdns down.
    @Test func pointerIntoTheNamesOwnLabelIsRejected() {
        let query = Self.header + [0x03, 0x05, 0x61, 0x61, 0xC0, 0x0D, 0x62, 0x00, 0x00, 0x01]
        var reader = WireReader(query, offset: 12)
        #expect(throws: WireError(.pointerNotBackwards(target: 13), at: 16)) { try reader.readName() }
        #expect(throws: WireError.self) { try Message(decoding: query) }
    }

    /// After a jump, the next pointer must point before the jump's target: the same trick
    /// reached through a pointer from a later name.
    @Test func pointerIntoTheSegmentJumpedToIsRejected() {
        let bytes = Self.header + [0x03, 0x05, 0x61, 0x61, 0xC0, 0x0D, 0x62, 0x00] + [0xC0, 0x0C]
        var reader = WireReader(bytes, offset: 20)
        #expect(throws: WireError(.pointerNotBackwards(target: 13), at: 16)) { try reader.readName() }
    }

    /// What compressors write still reads: pointers to earlier names, chained.
    @Test func pointersToEarlierNamesRead() throws {
        // 12: "svc.local." 23: "x" + → 12, 27: "y" + → 23.
        let bytes = Self.header + [0x03, 0x73, 0x76, 0x63, 0x05, 0x6C, 0x6F, 0x63, 0x61, 0x6C, 0x00]
            + [0x01, 0x78, 0xC0, 0x0C] + [0x01, 0x79, 0xC0, 0x17]
        var reader = WireReader(bytes, offset: 27)
        #expect(try reader.readName() == DNSName("y.x.svc.local.")!)
        #expect(reader.offset == 31)
    }
}
