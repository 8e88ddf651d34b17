/// A DNS message built from record values into a growing array (errors, forwarded and cached
/// answers, everything off the direct path). The encoding itself is `WireCore`'s, shared with
/// `DirectWriter`: each record is first put in its uncompressed form, then written compressed.
public struct MessageWriter {
    public enum Section: Int { case answer = 0, authority = 1, additional = 2 }

    private var core: WireCore<ArrayStorage>
    /// One record's uncompressed bytes, reused.
    private var scratch: [UInt8] = []

    public init(limit: Int = 65535, header: Header) {
        var storage = ArrayStorage()
        storage.bytes.reserveCapacity(min(limit, 1232))
        core = WireCore(storage, limit: limit, header: header)
    }

    public var bytes: [UInt8] { core.s.bytes }
    /// Size the message may not exceed.
    public var limit: Int { core.limit }
    /// Bytes written so far plus the space reserved for OPT.
    public var size: Int { core.size }

    /// Sets or clears TC in the header already written.
    public mutating func setTruncated(_ on: Bool) {
        let b = core.s.byte(2)
        core.s.set(2, on ? b | 0x02 : b & ~0x02)
    }

    /// Copies a question exactly as the client sent it (name bytes in its case, type, class):
    /// owners equal to it then compress to offset 12 and keep the client's case (DESIGN.md).
    /// The bytes must be an uncompressed name followed by four bytes.
    public mutating func appendQuestion(verbatim question: ArraySlice<UInt8>) {
        question.withUnsafeBytes { core.appendQuestion(verbatim: $0, 0..<$0.count) }
    }

    public mutating func appendQuestion(_ q: Question) {
        q.name.wire.withUnsafeBytes { _ = core.writeName($0, 0, compress: true) }
        core.u16(q.type.rawValue)
        core.u16(q.recordClass.rawValue)
        core.counts.qd += 1
    }

    /// Keeps `n` bytes free for a record written at the end (the OPT).
    public mutating func reserve(_ n: Int) {
        core.reserved += n
    }

    /// Appends an RRset whole. Returns false, leaving the message as it was, when it does not
    /// fit. `rotate` starts an A or AAAA set at its `rotate % count`th record (`loadbalance`).
    @discardableResult
    public mutating func append<C: Collection>(_ records: C, to section: Section, rotate: Int = 0) -> Bool where C.Element == ResourceRecord {
        let mark = core.mark
        for rr in records {
            scratch.removeAll(keepingCapacity: true)
            rr.appendUncompressed(to: &scratch)
            scratch.withUnsafeBytes { _ = core.writeRecord($0, at: 0, owner: .inPlace) }
            if core.overLimit { break }
        }
        if rotate != 0, let first = records.first, first.type == .a || first.type == .aaaa {
            core.rotate(since: mark, records: records.count, by: rotate)
        }
        return core.commit(mark, records: records.count, section: section)
    }

    /// Writes the OPT record (into the space reserved for it) and returns the finished message.
    public mutating func finish(edns: EDNS? = nil) -> [UInt8] {
        core.finish(edns: edns)
        return core.s.bytes
    }
}

/// The array `MessageWriter` grows.
struct ArrayStorage: WireStorage {
    var bytes: [UInt8] = []
    var targets: [Int] = []

    var count: Int { bytes.count }
    var fits: Bool { true }
    func byte(_ i: Int) -> UInt8 { bytes[i] }
    mutating func set(_ i: Int, _ v: UInt8) { bytes[i] = v }
    mutating func append(_ b: UInt8) { bytes.append(b) }
    mutating func append(_ src: UnsafeRawBufferPointer, _ range: Range<Int>) {
        bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: src[range]))
    }
    mutating func truncate(_ n: Int) { bytes.removeSubrange(n...) }
    var targetCount: Int { targets.count }
    func target(_ i: Int) -> Int { targets[i] }
    mutating func appendTarget(_ offset: Int) { targets.append(offset) }
    mutating func truncateTargets(_ n: Int) { targets.removeSubrange(n...) }
}

/// A reply written straight into a caller's buffer, with the compression table in a caller's
/// (stack) buffer: no allocation. Same encoding as `MessageWriter`. Writes past the buffer are
/// counted, not made, and show as `overLimit`; the RRset being written is then taken back.
public struct DirectWriter {
    private var core: WireCore<UnsafeStorage>

    /// Compression targets a message keeps (the rest of its names are written whole).
    public static let targetCapacity = 512

    /// Calls `body` with a compression table on the stack.
    @inlinable
    public static func withTargets<R>(_ body: (UnsafeMutableBufferPointer<UInt16>) throws -> R) rethrows -> R {
        try withUnsafeTemporaryAllocation(of: UInt16.self, capacity: targetCapacity) { try body($0) }
    }

    /// `buffer` and `targets` must outlive the writer. A buffer smaller than `limit` is fine:
    /// what does not fit shows as `overflowed`.
    public init(into buffer: UnsafeMutableRawBufferPointer, targets: UnsafeMutableBufferPointer<UInt16>, limit: Int, header: Header) {
        core = WireCore(UnsafeStorage(base: buffer, targets: targets), limit: limit, header: header)
    }

    public typealias Mark = (count: Int, targets: Int)

    public var mark: Mark { core.mark }
    public var count: Int { core.s.count }
    public var overLimit: Bool { core.overLimit }
    /// True once any write went past the buffer's end, even if taken back since: the reply may
    /// differ from one written with room (additional records left out), so the caller should
    /// not send it.
    public var overflowed: Bool { core.s.overflowed }

    public mutating func appendQuestion(verbatim bytes: UnsafeRawBufferPointer, _ range: Range<Int>) {
        core.appendQuestion(verbatim: bytes, range)
    }

    public mutating func reserve(_ n: Int) { core.reserved += n }

    /// One record from its uncompressed form at `at`; returns the offset past it in `src`.
    @discardableResult
    public mutating func writeRecord(_ src: UnsafeRawBufferPointer, at: Int, owner: RecordOwner) -> Int {
        core.writeRecord(src, at: at, owner: owner)
    }

    /// Counts the records written since `mark`, or takes them back when they passed the limit.
    public mutating func commit(_ mark: Mark, records: Int, section: MessageWriter.Section) -> Bool {
        core.commit(mark, records: records, section: section)
    }

    public mutating func rollback(_ mark: Mark) { core.rollback(mark) }

    public mutating func rotate(since mark: Mark, records: Int, by k: Int) {
        core.rotate(since: mark, records: records, by: k)
    }

    /// Writes the OPT and the counts; returns the message's length.
    public mutating func finish(edns: EDNS?) -> Int {
        core.finish(edns: edns)
        return core.s.count
    }
}

struct UnsafeStorage: WireStorage {
    let base: UnsafeMutableRawBufferPointer
    let targets: UnsafeMutableBufferPointer<UInt16>
    var count = 0
    var targetCount = 0
    var overflowed = false

    init(base: UnsafeMutableRawBufferPointer, targets: UnsafeMutableBufferPointer<UInt16>) {
        self.base = base
        self.targets = targets
    }

    var fits: Bool { count <= base.count }
    @inline(__always) func byte(_ i: Int) -> UInt8 { base[i] }
    @inline(__always) mutating func set(_ i: Int, _ v: UInt8) { if i < base.count { base[i] = v } }
    @inline(__always) mutating func append(_ b: UInt8) {
        if count < base.count { base[count] = b } else { overflowed = true }
        count += 1
    }
    @inline(__always) mutating func append(_ src: UnsafeRawBufferPointer, _ range: Range<Int>) {
        let n = range.count
        if count + n <= base.count, n > 0 {
            (base.baseAddress! + count).copyMemory(from: src.baseAddress! + range.lowerBound, byteCount: n)
        } else if n > 0 {
            overflowed = true
        }
        count += n
    }
    mutating func truncate(_ n: Int) { count = n }
    func target(_ i: Int) -> Int { Int(targets[i]) }
    mutating func appendTarget(_ offset: Int) {
        guard targetCount < targets.count else { return }
        targets[targetCount] = UInt16(offset)
        targetCount += 1
    }
    mutating func truncateTargets(_ n: Int) { targetCount = n }
}

extension RData {
    /// Bytes `appendUncompressed` writes.
    public var uncompressedSize: Int {
        switch self {
        case .a: return 4
        case .aaaa: return 16
        case .ns(let n), .cname(let n), .ptr(let n): return n.wire.count
        case .soa(let soa): return soa.mname.wire.count + soa.rname.wire.count + 20
        case .srv(let srv): return 6 + srv.target.wire.count
        case .txt(let strings): return strings.reduce(0) { $0 + 1 + $1.count }
        case .opaque(let data): return data.count
        }
    }

    /// The RDATA with every name written whole: bytes that stand alone.
    public func appendUncompressed(to out: inout [UInt8]) {
        func u16(_ v: UInt16) { out.append(UInt8(v >> 8)); out.append(UInt8(v & 0xFF)) }
        func u32(_ v: UInt32) { u16(UInt16(v >> 16)); u16(UInt16(v & 0xFFFF)) }
        switch self {
        case .a(let ip), .aaaa(let ip):
            switch ip {
            case let .v4(a, b, c, d): out.append(a); out.append(b); out.append(c); out.append(d)
            case let .v6(b): out.append(contentsOf: b)
            }
        case .ns(let n), .cname(let n), .ptr(let n):
            out.append(contentsOf: n.wire)
        case .soa(let soa):
            out.append(contentsOf: soa.mname.wire)
            out.append(contentsOf: soa.rname.wire)
            for v in [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum] { u32(v) }
        case .srv(let srv):
            u16(srv.priority)
            u16(srv.weight)
            u16(srv.port)
            out.append(contentsOf: srv.target.wire)
        case .txt(let strings):
            for s in strings {
                out.append(UInt8(s.count))
                out.append(contentsOf: s)
            }
        case .opaque(let data):
            out.append(contentsOf: data)
        }
    }
}

extension ResourceRecord {
    /// Appends the record in wire form with every name uncompressed, bytes that stand alone to
    /// be stored and copied into messages; `owner: false` writes the root in place of the
    /// owner (the store knows it).
    public func appendUncompressed(to out: inout [UInt8], owner: Bool = true) {
        if owner { out.append(contentsOf: name.wire) } else { out.append(0) }
        func u16(_ v: UInt16) { out.append(UInt8(v >> 8)); out.append(UInt8(v & 0xFF)) }
        u16(type.rawValue)
        u16(recordClass.rawValue)
        u16(UInt16(ttl >> 16))
        u16(UInt16(ttl & 0xFFFF))
        let lengthAt = out.count
        out.append(0)
        out.append(0)
        rdata.appendUncompressed(to: &out)
        let n = out.count - lengthAt - 2
        out[lengthAt] = UInt8(truncatingIfNeeded: n >> 8)
        out[lengthAt + 1] = UInt8(truncatingIfNeeded: n)
    }
}

extension Message {
    /// Encodes the whole message with compression and no size limit beyond 65535.
    public func encoded() -> [UInt8] {
        var w = MessageWriter(limit: 65535, header: header)
        for q in questions { w.appendQuestion(q) }
        if let edns { w.reserve(edns.wireSize) }
        w.append(answers, to: .answer)
        w.append(authority, to: .authority)
        w.append(additional, to: .additional)
        return w.finish(edns: edns)
    }
}
