import DNSWire

/// What the responder decided for one question, before any bytes are written (DESIGN.md:
/// decide first, encode second). Sections hold whole RRsets so the encoder truncates only at
/// their boundaries.
public struct Answer: Sendable, Equatable {
    public var rcode: ResponseCode
    public var authoritative: Bool
    public var answer: [[ResourceRecord]] = []
    public var authority: [[ResourceRecord]] = []
    public var additional: [[ResourceRecord]] = []
    /// The zone the question fell in (before any CNAME chase), nil when it is not ours: the
    /// `zone` label of the query metrics.
    public var zone: DNSName?
    /// RA: set on answers that needed recursion (forwarded names), never on our own zones.
    public var recursionAvailable = false

    public init(rcode: ResponseCode, authoritative: Bool) {
        self.rcode = rcode
        self.authoritative = authoritative
    }

    public static func error(_ rcode: ResponseCode) -> Answer {
        Answer(rcode: rcode, authoritative: false)
    }
}
