/// The one message encoder: name compression (RFC 1035 §4.1.4), RRsets appended whole or not at
/// all, room kept for the OPT record. It writes records from their *uncompressed* wire form (the
/// form the index stores), so a reply is copied from stored bytes with no decoded values in
/// between. Two storages share this code: `MessageWriter` (a growing array, for replies built
/// from values) and `DirectWriter` (a caller's buffer and a stack table: no allocation, for the
/// query path). Both produce the same bytes for the same records, which the tests check.
@usableFromInline
protocol WireStorage {
    /// Bytes written, counting any that did not fit (see `fits`).
    var count: Int { get }
    /// False once a write went past the storage's end; reset by a truncation below it.
    var fits: Bool { get }
    func byte(_ i: Int) -> UInt8
    mutating func set(_ i: Int, _ v: UInt8)
    mutating func append(_ b: UInt8)
    mutating func append(_ src: UnsafeRawBufferPointer, _ range: Range<Int>)
    mutating func truncate(_ n: Int)
    var targetCount: Int { get }
    func target(_ i: Int) -> Int
    mutating func appendTarget(_ offset: Int)
    mutating func truncateTargets(_ n: Int)
}

/// Where the owner of a record being written comes from.
public enum RecordOwner {
    /// The record bytes start with their owner.
    case inPlace
    /// The record bytes start with a placeholder name (skipped); the owner is a pointer to an
    /// offset already in the message (12: the question). Used only where the compression search
    /// would find that same offset first, so the bytes equal the searched form.
    case pointer(UInt16)
    /// The record bytes start with a placeholder name (skipped); the owner is the uncompressed
    /// name at `start` in `bytes`.
    case name(UnsafeRawBufferPointer, start: Int)
}

struct WireCore<S: WireStorage> {
    var s: S
    let limit: Int
    var reserved = 0
    var counts: (qd: UInt16, an: UInt16, ns: UInt16, ar: UInt16) = (0, 0, 0, 0)
    static var maxTargets: Int { 512 }

    init(_ storage: S, limit: Int, header: Header) {
        s = storage
        self.limit = min(limit, 65535)
        u16(header.id)
        let (f1, f2) = header.flagBytes
        s.append(f1)
        s.append(f2)
        for _ in 0..<8 { s.append(0) }
    }

    /// Bytes written plus the space reserved for OPT.
    var size: Int { s.count + reserved }
    var overLimit: Bool { !s.fits || s.count + reserved > limit }

    @inline(__always)
    mutating func u16(_ v: UInt16) {
        s.append(UInt8(truncatingIfNeeded: v >> 8))
        s.append(UInt8(truncatingIfNeeded: v))
    }

    @inline(__always)
    mutating func put16(_ v: UInt16, at i: Int) {
        s.set(i, UInt8(truncatingIfNeeded: v >> 8))
        s.set(i + 1, UInt8(truncatingIfNeeded: v))
    }

    mutating func registerTarget(_ offset: Int) {
        if offset < 0x3FFF && s.targetCount < Self.maxTargets && s.fits { s.appendTarget(offset) }
    }

    /// The question exactly as the client sent it: an uncompressed name and four bytes. Owners
    /// equal to it then compress to offset 12 and keep the client's case (DESIGN.md).
    mutating func appendQuestion(verbatim q: UnsafeRawBufferPointer, _ range: Range<Int>) {
        let start = s.count
        s.append(q, range)
        counts.qd += 1
        var i = range.lowerBound
        while q[i] != 0 {
            registerTarget(start + (i - range.lowerBound))  // none unless the question fit
            i += Int(q[i]) + 1
        }
    }

    /// The uncompressed name at `start` in `src`, compressed against the names already written.
    /// Returns the offset just past the name in `src`.
    @discardableResult
    mutating func writeName(_ src: UnsafeRawBufferPointer, _ start: Int, compress: Bool) -> Int {
        var i = start
        // Label starts of this name become targets only once it is complete: a pointer into a
        // name still being written would lead past its end.
        let firstNew = s.count
        var newLabels = 0
        var end = -1
        while src[i] != 0 {
            if compress, let target = findSuffix(src, from: i) {
                u16(0xC000 | UInt16(target))
                end = skipName(src, i)
                break
            }
            let len = Int(src[i])
            s.append(src, i..<(i + len + 1))
            newLabels += 1
            i += len + 1
        }
        if end < 0 {
            s.append(0)
            end = i + 1
        }
        var offset = firstNew
        for _ in 0..<newLabels where s.fits {
            registerTarget(offset)
            offset += Int(s.byte(offset)) + 1
        }
        return end
    }

    @inline(__always)
    func skipName(_ src: UnsafeRawBufferPointer, _ start: Int) -> Int {
        var i = start
        while src[i] != 0 { i += Int(src[i]) + 1 }
        return i + 1
    }

    /// The offset of an earlier name equal (ignoring case) to the suffix of `src` at `i`.
    func findSuffix(_ src: UnsafeRawBufferPointer, from i: Int) -> Int? {
        let first = src[i]
        for k in 0..<s.targetCount {
            let t = s.target(k)
            // Targets are label starts written by us, never pointers: a cheap first test.
            if s.byte(t) == first, matches(at: t, src, from: i) { return t }
        }
        return nil
    }

    func matches(at offset: Int, _ w: UnsafeRawBufferPointer, from start: Int) -> Bool {
        var p = offset
        var k = start
        while true {
            while s.byte(p) & 0xC0 == 0xC0 {
                p = Int(s.byte(p) & 0x3F) << 8 | Int(s.byte(p + 1))
            }
            let len = s.byte(p)
            guard len == w[k] else { return false }
            if len == 0 { return true }
            // Last byte first: sibling names (svc-0, svc-1, …) differ at the end of their label.
            var j = Int(len)
            while j >= 1 {
                let a = s.byte(p + j), b = w[k + j]
                if a != b && DNSName.fold(a) != DNSName.fold(b) { return false }
                j -= 1
            }
            p += Int(len) + 1
            k += Int(len) + 1
        }
    }

    /// Writes one record from its uncompressed form at `at` in `src`; returns the offset past it.
    /// RFC 3597 §4: only the RFC 1035 types (NS, CNAME, PTR, SOA here) have RDATA names
    /// compressed; an SRV target (RFC 2782) is written whole but may be pointed to later.
    @discardableResult
    mutating func writeRecord(_ src: UnsafeRawBufferPointer, at: Int, owner: RecordOwner) -> Int {
        var i: Int
        switch owner {
        case .inPlace:
            i = writeName(src, at, compress: true)
        case .pointer(let p):
            u16(0xC000 | p)
            i = skipName(src, at)
        case .name(let bytes, let start):
            writeName(bytes, start, compress: true)
            i = skipName(src, at)
        }
        let type = UInt16(src[i]) << 8 | UInt16(src[i + 1])
        let length = Int(src[i + 8]) << 8 | Int(src[i + 9])
        s.append(src, i..<(i + 8))
        let lengthAt = s.count
        u16(0)
        i += 10
        let end = i + length
        switch type {
        case RecordType.ns.rawValue, RecordType.cname.rawValue, RecordType.ptr.rawValue:
            writeName(src, i, compress: true)
        case RecordType.soa.rawValue:
            let afterMname = writeName(src, i, compress: true)
            let afterRname = writeName(src, afterMname, compress: true)
            s.append(src, afterRname..<end)
        case RecordType.srv.rawValue:
            s.append(src, i..<(i + 6))
            writeName(src, i + 6, compress: false)
        default:
            s.append(src, i..<end)
        }
        if s.fits { put16(UInt16(truncatingIfNeeded: s.count - lengthAt - 2), at: lengthAt) }
        return end
    }

    typealias Mark = (count: Int, targets: Int)
    var mark: Mark { (s.count, s.targetCount) }

    mutating func rollback(_ m: Mark) {
        s.truncate(m.count)
        s.truncateTargets(m.targets)
    }

    /// Counts `n` records written since `m` into `section`, or takes them back when they passed
    /// the limit. Returns whether they stay.
    mutating func commit(_ m: Mark, records n: Int, section: MessageWriter.Section) -> Bool {
        guard !overLimit else {
            rollback(m)
            return false
        }
        let n = UInt16(truncatingIfNeeded: n)
        switch section {
        case .answer: counts.an &+= n
        case .authority: counts.ns &+= n
        case .additional: counts.ar &+= n
        }
        return true
    }

    /// Puts the `n` records written since `m` in rotated order, starting with the `k % n`th, in
    /// place (three reversals): CoreDNS `loadbalance`. Only records that are an owner pointer
    /// and a fixed RDATA of one size move (an A or AAAA set: no name inside, nothing pointing
    /// into them); anything else stays as written.
    mutating func rotate(since m: Mark, records n: Int, by k: Int) {
        guard n > 1, s.fits else { return }
        let total = s.count - m.count
        guard total % n == 0 else { return }
        let size = total / n
        let shift = k % n
        guard shift != 0, size > 12 else { return }
        for r in 0..<n {
            let at = m.count + r * size
            guard s.byte(at) & 0xC0 == 0xC0, Int(s.byte(at + 10)) << 8 | Int(s.byte(at + 11)) == size - 12 else { return }
        }
        reverse(m.count, n, size)
        reverse(m.count, n - shift, size)
        reverse(m.count + (n - shift) * size, shift, size)
    }

    /// Reverses the order of `n` records of `size` bytes starting at `start`.
    private mutating func reverse(_ start: Int, _ n: Int, _ size: Int) {
        var a = 0, b = n - 1
        while a < b {
            let x = start + a * size, y = start + b * size
            for j in 0..<size {
                let t = s.byte(x + j)
                s.set(x + j, s.byte(y + j))
                s.set(y + j, t)
            }
            a += 1
            b -= 1
        }
    }

    /// Writes the OPT record into the space reserved for it, then the section counts.
    mutating func finish(edns: EDNS?) {
        var ar = counts.ar
        if let edns {
            reserved = max(0, reserved - edns.wireSize)
            s.append(0)  // root owner
            u16(RecordType.opt.rawValue)
            u16(edns.udpPayloadSize)
            s.append(edns.extendedRcodeHigh)
            s.append(edns.version)
            u16((edns.dnssecOK ? 0x8000 : 0) | (edns.otherFlags & 0x7FFF))
            var length = 0
            for o in edns.options { length += 4 + o.data.count }
            u16(UInt16(truncatingIfNeeded: length))
            for o in edns.options {
                u16(o.code)
                u16(UInt16(truncatingIfNeeded: o.data.count))
                o.data.withUnsafeBytes { s.append($0, 0..<$0.count) }
            }
            ar &+= 1
        }
        guard s.fits else { return }
        put16(counts.qd, at: 4)
        put16(counts.an, at: 6)
        put16(counts.ns, at: 8)
        put16(ar, at: 10)
    }
}
