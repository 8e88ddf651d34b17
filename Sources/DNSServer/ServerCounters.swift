import DNSResponder
import Synchronization

/// Event counts the listeners keep: lock-free, a fixed set. The source of truth for the
/// `clusterdns_dropped_packets_total` family (copied at scrape time) and for the periodic
/// summary of bad packets in the log.
public final class ServerCounters: Sendable {
    public let droppedShort = Atomic<Int>(0)
    public let droppedResponse = Atomic<Int>(0)
    public let droppedReservedPort = Atomic<Int>(0)
    public let tcpRejected = Atomic<Int>(0)
    public let tcpOpen = Atomic<Int>(0)
    /// Replies with FORMERR: a malformed query, answered.
    public let formErrReplies = Atomic<Int>(0)

    public init() {}

    func countDrop(_ reason: QueryProcessor.DropReason) {
        switch reason {
        case .short: droppedShort.add(1, ordering: .relaxed)
        case .response: droppedResponse.add(1, ordering: .relaxed)
        }
    }

    public struct Snapshot: Sendable {
        /// Drops by the `reason` label: malformed (shorter than a header), response (QR set),
        /// reserved_port (source port of a reflection service), over_capacity (TCP connection cap).
        public var drops: [(String, Int)]
        public var formErrReplies: Int
        public var tcpOpen: Int
    }

    public func snapshot() -> Snapshot {
        Snapshot(drops: [
            ("malformed", droppedShort.load(ordering: .relaxed)),
            ("response", droppedResponse.load(ordering: .relaxed)),
            ("reserved_port", droppedReservedPort.load(ordering: .relaxed)),
            ("over_capacity", tcpRejected.load(ordering: .relaxed)),
        ], formErrReplies: formErrReplies.load(ordering: .relaxed), tcpOpen: tcpOpen.load(ordering: .relaxed))
    }
}
