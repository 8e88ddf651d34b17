import DNSWire

/// What makes two questions the same answer: the name ignoring case, type, class, and the DO and
/// CD bits (CoreDNS missed CD in CVE-2024-0874 and QCLASS in coredns#8261; reliability.md §1.3).
struct CacheKey: Hashable, Sendable {
    let name: DNSName
    let type: UInt16
    let recordClass: UInt16
    /// Bit 0: DO, bit 1: CD.
    let flags: UInt8
    /// Computed once: it picks the shard and feeds the shard's dictionary.
    let hash: Int

    init(_ question: Question, dnssecOK: Bool, checkingDisabled: Bool) {
        name = question.name
        type = question.type.rawValue
        recordClass = question.recordClass.rawValue
        flags = (dnssecOK ? 1 : 0) | (checkingDisabled ? 2 : 0)
        hash = Self.fnv(name.wire, UInt64(type) << 24 | UInt64(recordClass) << 8 | UInt64(flags))
    }

    /// FNV-1a over the case-folded name, seeded with the rest of the key.
    static func fnv(_ wire: [UInt8], _ seed: UInt64) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
        for b in wire {
            h = (h ^ UInt64((b >= 0x41 && b <= 0x5A) ? b | 0x20 : b)) &* 0x100_0000_01b3
        }
        return Int(truncatingIfNeeded: h)
    }

    static func == (a: CacheKey, b: CacheKey) -> Bool {
        a.hash == b.hash && a.type == b.type && a.recordClass == b.recordClass && a.flags == b.flags && a.name == b.name
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(hash)
    }

    var dnssecOK: Bool { flags & 1 != 0 }
    var checkingDisabled: Bool { flags & 2 != 0 }
    var question: Question { Question(name: name, type: RecordType(type), recordClass: RecordClass(rawValue: recordClass)) }
}
