/// Why a message could not be decoded, and where. Every failure of `WireReader` is one of these:
/// hostile bytes never trap, they become a value the server turns into FORMERR or a drop.
public struct WireError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// A read needed more bytes than the message holds.
        case truncated(needed: Int)
        /// Label length byte with the top bits 01 or 10 (RFC 6891 §5: extended labels are gone).
        case badLabelType(UInt8)
        /// A compression pointer that does not point strictly before the labels leading to it
        /// (RFC 9267 §2): forwards, at itself, or into the name being read.
        case pointerNotBackwards(target: Int)
        /// A compression pointer into the 12-byte header.
        case pointerIntoHeader(target: Int)
        /// More compression pointers in one name than any legal name needs.
        case tooManyPointers
        /// More than 255 octets once expanded (RFC 1035 §2.3.4).
        case nameTooLong
        /// A label over 63 octets (presentation input only; on the wire the type bits catch it).
        case labelTooLong
        /// RDATA shorter or longer than its type consumed.
        case rdataLength(type: UInt16, declared: Int, consumed: Int)
        /// More than one OPT record (RFC 6891 §6.1.1).
        case duplicateOPT
        /// OPT outside the additional section.
        case optOutsideAdditional
        /// OPT owner other than the root (RFC 6891 §6.1.2).
        case optOwnerNotRoot
        /// An EDNS option whose length runs past the RDATA.
        case optionOverrun
        /// A DNS COOKIE option of a length RFC 7873 §5.2.2 does not allow.
        case badCookieLength(Int)
        /// Bytes left over after the last record the counts announce.
        case trailingBytes(count: Int)
        /// A presentation-format name that does not parse.
        case badPresentation(String)
    }

    public var kind: Kind
    /// Offset in the message (or character index in presentation text) where it went wrong.
    public var offset: Int

    public init(_ kind: Kind, at offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    public var description: String {
        switch kind {
        case .truncated(let n): return "truncated at offset \(offset): \(n) more byte(s) needed"
        case .badLabelType(let b): return "label type 0x\(String(b, radix: 16)) at offset \(offset) is not supported"
        case .pointerNotBackwards(let t): return "compression pointer at offset \(offset) to \(t) does not point backwards"
        case .pointerIntoHeader(let t): return "compression pointer at offset \(offset) points into the header (\(t))"
        case .tooManyPointers: return "too many compression pointers in the name at offset \(offset)"
        case .nameTooLong: return "name at offset \(offset) is longer than 255 octets"
        case .labelTooLong: return "label at \(offset) is longer than 63 octets"
        case .rdataLength(let t, let d, let c): return "RDATA of type \(t) at offset \(offset) declares \(d) bytes but holds \(c)"
        case .duplicateOPT: return "second OPT record at offset \(offset)"
        case .optOutsideAdditional: return "OPT record outside the additional section at offset \(offset)"
        case .optOwnerNotRoot: return "OPT record at offset \(offset) is not owned by the root"
        case .optionOverrun: return "EDNS option at offset \(offset) runs past the RDATA"
        case .badCookieLength(let l): return "COOKIE option at offset \(offset) has length \(l)"
        case .trailingBytes(let n): return "\(n) trailing byte(s) after the last record at offset \(offset)"
        case .badPresentation(let s): return "bad name at \(offset): \(s)"
        }
    }
}
