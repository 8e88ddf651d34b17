import DNSWire

/// A question for the upstreams, as the forwarder sees it: what to ask, and the client's flags
/// that choose the cache entry (DO, CD) and recognise a query of ours coming back. Whoever
/// answers the client builds the reply from an `UpstreamAnswer`; the forwarder knows nothing of
/// our zones.
public struct UpstreamRequest: Sendable {
    /// What to ask: the client's name (or the target it leads to), type and class.
    public var question: Question
    /// The client's header: its ID and spelling recognise our own queries, RD and CD are kept.
    public var header: Header
    /// The client asked for DNSSEC data (its OPT's DO bit).
    public var dnssecOK: Bool
    /// The question exactly as the client sent it (a query arriving with the bytes we sent is ours).
    public var questionBytes: [UInt8]
    /// The name that chooses the upstreams: the one the client asked, before any rewrite (its
    /// server block's `forward`, as in CoreDNS).
    public var routingName: DNSName

    public init(question: Question, header: Header, dnssecOK: Bool, questionBytes: [UInt8], routingName: DNSName) {
        self.question = question
        self.header = header
        self.dnssecOK = dnssecOK
        self.questionBytes = questionBytes
        self.routingName = routingName
    }
}

/// What the upstreams said about an `UpstreamRequest`.
public enum UpstreamAnswer: Sendable {
    /// Their response, kept ready to send. `staleTTL` is set when it expired and is served
    /// because the upstreams failed (RFC 8767).
    case response(CachedResponse, staleTTL: UInt32?)
    /// No usable answer, and nothing stale to give instead: why.
    case failed(String)
}
