import DNSResponder
import Synchronization

/// Event counts the listeners keep: lock-free, a fixed set. The source of truth for the
/// `clusterdns_dropped_packets_total` family (copied at scrape time) and for the periodic
/// summary of bad packets in the log.
public final class ServerCounters: Sendable {
    public let droppedShort = Atomic<Int>(0)
    public let droppedResponse = Atomic<Int>(0)
    public let droppedReservedPort = Atomic<Int>(0)
    /// UDP datagrams larger than any query a client sends unfragmented (4 KiB).
    public let droppedOversized = Atomic<Int>(0)
    /// UDP replies the kernel did not take (socket buffer full, no route back to the client).
    public let replySendFailed = Atomic<Int>(0)
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
        /// reserved_port (source port of a reflection service), over_capacity (TCP connection cap),
        /// oversized (a UDP datagram over 4 KiB), send_failed (a UDP reply the kernel refused).
        public var drops: [(String, Int)]
        public var formErrReplies: Int
        public var tcpOpen: Int
    }

    public func snapshot() -> Snapshot {
        Snapshot(drops: [
            ("malformed", droppedShort.load(ordering: .relaxed)),
            ("response", droppedResponse.load(ordering: .relaxed)),
            ("reserved_port", droppedReservedPort.load(ordering: .relaxed)),
            ("oversized", droppedOversized.load(ordering: .relaxed)),
            ("send_failed", replySendFailed.load(ordering: .relaxed)),
            ("over_capacity", tcpRejected.load(ordering: .relaxed)),
        ], formErrReplies: formErrReplies.load(ordering: .relaxed), tcpOpen: tcpOpen.load(ordering: .relaxed))
    }
}
