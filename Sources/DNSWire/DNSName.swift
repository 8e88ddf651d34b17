/// A domain name, kept as its uncompressed wire form (length-prefixed labels ending with the
/// root's zero byte). Labels are bytes, never split on ".": a label may hold a dot or a zero byte
/// (RFC 2181 §11). The case of the bytes is preserved; equality and hashing ignore ASCII case
/// (RFC 4343), so one value serves as a lookup key and as the text to echo.
public struct DNSName: Sendable {
    /// Uncompressed wire form, always ending with 0; at most 255 bytes.
    public let wire: [UInt8]

    /// Wraps bytes already known to be a valid uncompressed name (from the reader or a builder).
    @inlinable
    public init(validatedWire wire: [UInt8]) {
        self.wire = wire
    }

    public static let root = DNSName(validatedWire: [0])

    /// Builds `labels` followed by `suffix`. Throws when a label is empty or over 63 octets, or the
    /// name over 255.
    public init<S: Sequence>(labels: S, suffix: DNSName = .root) throws where S.Element: StringProtocol {
        var out: [UInt8] = []
        out.reserveCapacity(suffix.wire.count + 32)
        for label in labels {
            let bytes = Array(label.utf8)
            guard !bytes.isEmpty else { throw WireError(.badPresentation("empty label"), at: out.count) }
            guard bytes.count <= 63 else { throw WireError(.labelTooLong, at: out.count) }
            out.append(UInt8(bytes.count))
            out.append(contentsOf: bytes)
        }
        out.append(contentsOf: suffix.wire)
        guard out.count <= 255 else { throw WireError(.nameTooLong, at: 0) }
        self.wire = out
    }

    /// `init(labels:suffix:)` for the common case, without the generic label views: one exact
    /// allocation (indexes build hundreds of thousands of names).
    public init(labels: [String], suffix: DNSName = .root) throws {
        var size = suffix.wire.count
        for label in labels { size += label.utf8.count + 1 }
        guard size <= 255 else { throw WireError(.nameTooLong, at: 0) }
        var out: [UInt8] = []
        out.reserveCapacity(size)
        for label in labels {
            let count = label.utf8.count
            guard count > 0 else { throw WireError(.badPresentation("empty label"), at: out.count) }
            guard count <= 63 else { throw WireError(.labelTooLong, at: out.count) }
            out.append(UInt8(count))
            if label.utf8.withContiguousStorageIfAvailable({ out.append(contentsOf: $0) }) == nil {
                out.append(contentsOf: Array(label.utf8))
            }
        }
        out.append(contentsOf: suffix.wire)
        self.wire = out
    }

    /// One label, given as its bytes (1–63 of them), above `suffix`: one exact allocation, no
    /// String.
    public init(label: UnsafeRawBufferPointer, suffix: DNSName) throws {
        guard !label.isEmpty else { throw WireError(.badPresentation("empty label"), at: 0) }
        guard label.count <= 63 else { throw WireError(.labelTooLong, at: 0) }
        guard 1 + label.count + suffix.wire.count <= 255 else { throw WireError(.nameTooLong, at: 0) }
        var out: [UInt8] = []
        out.reserveCapacity(1 + label.count + suffix.wire.count)
        out.append(UInt8(label.count))
        out.append(contentsOf: label)
        out.append(contentsOf: suffix.wire)
        self.wire = out
    }

    /// The number of labels, not counting the root.
    public var labelCount: Int {
        var count = 0
        var i = 0
        while wire[i] != 0 {
            count += 1
            i += Int(wire[i]) + 1
        }
        return count
    }

    public var isRoot: Bool { wire.count == 1 }

    /// The labels, outermost first ("www", "example", "com").
    public var labels: [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        var i = 0
        while wire[i] != 0 {
            let len = Int(wire[i])
            out.append(wire[(i + 1)..<(i + 1 + len)])
            i += len + 1
        }
        return out
    }

    /// The first label's bytes (empty for the root).
    public var firstLabel: ArraySlice<UInt8> {
        let len = Int(wire[0])
        return wire[1..<(1 + len)]
    }

    /// The name without its first label (the root's parent is the root).
    public var parent: DNSName {
        if isRoot { return self }
        return DNSName(validatedWire: Array(wire[(Int(wire[0]) + 1)...]))
    }

    /// True when `self` equals `ancestor` or lies below it. No allocation: walks label starts and
    /// compares the remaining bytes case-insensitively.
    public func isSubdomain(of ancestor: DNSName) -> Bool {
        labelsAbove(ancestor) != nil
    }

    /// How many labels `self` has above `ancestor`, or nil when it is not below it.
    public func labelsAbove(_ ancestor: DNSName) -> Int? {
        let target = ancestor.wire.count
        var i = 0
        var n = 0
        while true {
            let remaining = wire.count - i
            if remaining == target {
                return DNSName.equalFolded(wire, from: i, ancestor.wire, from: 0, count: target) ? n : nil
            }
            if remaining < target || wire[i] == 0 { return nil }
            i += Int(wire[i]) + 1
            n += 1
        }
    }

    /// A copy with ASCII letters lowered.
    public func lowercased() -> DNSName {
        DNSName(validatedWire: wire.map(DNSName.fold))
    }

    /// ASCII lower case of one byte (RFC 4343): the comparison every name match uses.
    @inlinable
    public static func fold(_ b: UInt8) -> UInt8 {
        (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b
    }

    @usableFromInline
    static func equalFolded(_ a: [UInt8], from ai: Int, _ b: [UInt8], from bi: Int, count: Int) -> Bool {
        var k = 0
        while k < count {
            if fold(a[ai + k]) != fold(b[bi + k]) { return false }
            k += 1
        }
        return true
    }
}

extension DNSName: Hashable {
    public static func == (lhs: DNSName, rhs: DNSName) -> Bool {
        // Over the bytes, each pair folded only when it differs: the maps of an index build
        // compare every name they find (three times as many instructions through the arrays).
        lhs.wire.count == rhs.wire.count && lhs.wire.withUnsafeBytes { a in
            rhs.wire.withUnsafeBytes { b in equalFolded(a, 0..<a.count, b, 0..<b.count) }
        }
    }

    public func hash(into hasher: inout Hasher) {
        // FNV-1a over the folded bytes, fed to the hasher once: cheaper than one combine per byte.
        hasher.combine(foldedHash)
    }

    /// FNV-1a over the case-folded wire bytes: equal for names equal under RFC 4343. A key that
    /// needs no allocation, for maps that keep the name itself elsewhere.
    public var foldedHash: UInt64 {
        wire.withUnsafeBytes { DNSName.foldedHash($0, 0..<$0.count) }
    }

    /// `foldedHash` of the uncompressed name in `bytes[range]` (a question read in place).
    @inlinable
    public static func foldedHash(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in range {
            h = (h ^ UInt64(fold(bytes[i]))) &* 0x100_0000_01b3
        }
        return h
    }

    /// How many labels the uncompressed name `bytes[range]` has above `ancestor`, or nil when it
    /// is not at or below it. No allocation.
    public static func labelsAbove(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ ancestor: DNSName) -> Int? {
        ancestor.wire.withUnsafeBytes { a in
            var i = range.lowerBound
            var n = 0
            while true {
                let remaining = range.upperBound - i
                if remaining == a.count {
                    return equalFolded(bytes, i..<range.upperBound, a, 0..<a.count) ? n : nil
                }
                if remaining < a.count || bytes[i] == 0 { return nil }
                i += Int(bytes[i]) + 1
                n += 1
            }
        }
    }

    /// Whether the uncompressed names `a[ra]` and `b[rb]` are equal ignoring case.
    @inlinable
    public static func equalFolded(_ a: UnsafeRawBufferPointer, _ ra: Range<Int>, _ b: UnsafeRawBufferPointer, _ rb: Range<Int>) -> Bool {
        guard ra.count == rb.count else { return false }
        var i = ra.lowerBound, j = rb.lowerBound
        while i < ra.upperBound {
            let x = a[i], y = b[j]
            if x != y && fold(x) != fold(y) { return false }
            i += 1
            j += 1
        }
        return true
    }
}
