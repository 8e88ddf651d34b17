/// The 12-byte message header (RFC 1035 §4.1.1), flags unpacked.
public struct Header: Hashable, Sendable {
    public var id: UInt16 = 0
    public var isResponse = false
    public var opcode = Opcode.query
    public var authoritative = false
    public var truncated = false
    public var recursionDesired = false
    public var recursionAvailable = false
    /// The reserved Z bit (RFC 8906 §8.1.3.3: answered normally, cleared in replies).
    public var zero = false
    public var authenticData = false
    public var checkingDisabled = false
    /// Low four bits of the RCODE; the high bits live in OPT.
    public var rcodeLow: UInt8 = 0
    public var qdCount: UInt16 = 0
    public var anCount: UInt16 = 0
    public var nsCount: UInt16 = 0
    public var arCount: UInt16 = 0

    public init() {}

    public static let size = 12

    /// Reads a header from the first 12 bytes (an array, or a received buffer read in place). The
    /// caller checks the length first.
    @inlinable
    public init<C: RandomAccessCollection>(bytes: C) where C.Element == UInt8, C.Index == Int {
        precondition(bytes.count >= 12)
        let b = bytes.startIndex
        id = UInt16(bytes[b + 0]) << 8 | UInt16(bytes[b + 1])
        let f1 = bytes[b + 2], f2 = bytes[b + 3]
        isResponse = f1 & 0x80 != 0
        opcode = Opcode(rawValue: (f1 >> 3) & 0x0F)
        authoritative = f1 & 0x04 != 0
        truncated = f1 & 0x02 != 0
        recursionDesired = f1 & 0x01 != 0
        recursionAvailable = f2 & 0x80 != 0
        zero = f2 & 0x40 != 0
        authenticData = f2 & 0x20 != 0
        checkingDisabled = f2 & 0x10 != 0
        rcodeLow = f2 & 0x0F
        qdCount = UInt16(bytes[b + 4]) << 8 | UInt16(bytes[b + 5])
        anCount = UInt16(bytes[b + 6]) << 8 | UInt16(bytes[b + 7])
        nsCount = UInt16(bytes[b + 8]) << 8 | UInt16(bytes[b + 9])
        arCount = UInt16(bytes[b + 10]) << 8 | UInt16(bytes[b + 11])
    }

    /// The two flag bytes.
    public var flagBytes: (UInt8, UInt8) {
        var f1: UInt8 = (opcode.rawValue & 0x0F) << 3
        if isResponse { f1 |= 0x80 }
        if authoritative { f1 |= 0x04 }
        if truncated { f1 |= 0x02 }
        if recursionDesired { f1 |= 0x01 }
        var f2: UInt8 = rcodeLow & 0x0F
        if recursionAvailable { f2 |= 0x80 }
        if zero { f2 |= 0x40 }
        if authenticData { f2 |= 0x20 }
        if checkingDisabled { f2 |= 0x10 }
        return (f1, f2)
    }
}
