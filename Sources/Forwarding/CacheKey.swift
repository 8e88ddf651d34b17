import DNSWire

/// What makes two questions the same answer: the name ignoring case, type, class, and the DO and
/// CD bits (CoreDNS missed CD in CVE-2024-0874 and QCLASS in coredns#8261; reliability.md §1.3).
struct CacheKey: Hashable, Sendable {
    let name: DNSName
    let type: UInt16
    let recordClass: UInt16
    /// Bit 0: DO, bit 1: CD.
    let flags: UInt8

    init(_ question: Question, dnssecOK: Bool, checkingDisabled: Bool) {
        name = question.name
        type = question.type.rawValue
        recordClass = question.recordClass.rawValue
        flags = (dnssecOK ? 1 : 0) | (checkingDisabled ? 2 : 0)
    }

    var dnssecOK: Bool { flags & 1 != 0 }
    var checkingDisabled: Bool { flags & 2 != 0 }
    var question: Question { Question(name: name, type: RecordType(type), recordClass: RecordClass(rawValue: recordClass)) }
}
