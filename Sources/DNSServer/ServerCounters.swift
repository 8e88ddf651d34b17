import DNSResponder
import Synchronization

/// Event counts the listeners keep for logs and, later, metrics: lock-free, fixed set.
public final class ServerCounters: Sendable {
    public let queriesUDP = Atomic<Int>(0)
    public let queriesTCP = Atomic<Int>(0)
    public let droppedShort = Atomic<Int>(0)
    public let droppedResponse = Atomic<Int>(0)
    public let droppedReservedPort = Atomic<Int>(0)
    public let tcpRejected = Atomic<Int>(0)
    public let tcpOpen = Atomic<Int>(0)

    public init() {}

    func countDrop(_ reason: QueryProcessor.DropReason) {
        switch reason {
        case .short: droppedShort.add(1, ordering: .relaxed)
        case .response: droppedResponse.add(1, ordering: .relaxed)
        }
    }
}
