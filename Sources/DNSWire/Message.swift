/// A whole DNS message, decoded. The server does not build one of these per query (it reads the
/// header and question in place: `QueryProcessor.respond(to:)` and `respondDirect`); tests, the
/// forwarder and the command-line client do.
public struct Message: Hashable, Sendable {
    public var header: Header
    public var questions: [Question]
    public var answers: [ResourceRecord]
    public var authority: [ResourceRecord]
    public var additional: [ResourceRecord]
    public var edns: EDNS?

    public init(header: Header = Header(), questions: [Question] = [], answers: [ResourceRecord] = [], authority: [ResourceRecord] = [], additional: [ResourceRecord] = [], edns: EDNS? = nil) {
        self.header = header
        self.questions = questions
        self.answers = answers
        self.authority = authority
        self.additional = additional
        self.edns = edns
    }

    /// The full 12-bit RCODE: header bits plus the OPT's high bits.
    public var rcode: ResponseCode {
        ResponseCode(rawValue: UInt16(edns?.extendedRcodeHigh ?? 0) << 4 | UInt16(header.rcodeLow))
    }

    /// Decodes a whole message. Counts are trusted only as far as the bytes go: nothing is
    /// reserved by count, a count larger than the records present fails with `.truncated`.
    public init(decoding bytes: [UInt8]) throws {
        guard bytes.count >= Header.size else { throw WireError(.truncated(needed: Header.size - bytes.count), at: 0) }
        header = Header(bytes: bytes)
        var reader = WireReader(bytes, offset: Header.size)
        questions = []
        for _ in 0..<header.qdCount { questions.append(try reader.readQuestion()) }
        answers = []
        authority = []
        additional = []
        edns = nil
        for section in 0..<3 {
            let count = section == 0 ? header.anCount : section == 1 ? header.nsCount : header.arCount
            for _ in 0..<count {
                let at = reader.offset
                switch try reader.readEntry() {
                case .record(let rr):
                    switch section {
                    case 0: answers.append(rr)
                    case 1: authority.append(rr)
                    default: additional.append(rr)
                    }
                case .opt(let e):
                    guard section == 2 else { throw WireError(.optOutsideAdditional, at: at) }
                    guard edns == nil else { throw WireError(.duplicateOPT, at: at) }
                    edns = e
                }
            }
        }
        guard reader.remaining == 0 else { throw WireError(.trailingBytes(count: reader.remaining), at: reader.offset) }
    }
}
