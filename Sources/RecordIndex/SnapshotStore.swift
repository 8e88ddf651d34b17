import Synchronization

/// The one shared reference to the current snapshot. Queries read it once per query; builders
/// replace it whole. A Mutex around a class reference: the critical section is a retain.
public final class SnapshotStore: Sendable {
    private let current: Mutex<Snapshot>

    public init(_ initial: Snapshot = .empty) {
        current = Mutex(initial)
    }

    public var snapshot: Snapshot {
        current.withLock { $0 }
    }

    public func publish(_ snapshot: Snapshot) {
        current.withLock { $0 = snapshot }
    }
}
