import Synchronization

/// The one shared reference to the current snapshot. Builders replace it whole; the query path
/// reads it through a `SnapshotView`, which takes the lock only when a new one was published.
public final class SnapshotStore: Sendable {
    private let current: Mutex<Snapshot>
    /// Bumped after each publish: a reader that saw this value has the snapshot it stands for.
    private let generation = Atomic<Int>(0)

    public init(_ initial: Snapshot = .empty) {
        current = Mutex(initial)
    }

    public var snapshot: Snapshot {
        current.withLock { $0 }
    }

    public func publish(_ snapshot: Snapshot) {
        current.withLock { $0 = snapshot }
        generation.add(1, ordering: .releasing)
    }

    /// One handler's (one event loop's) copy of the current snapshot: one atomic load per query,
    /// the lock only after a publish. It keeps the snapshot it last read alive until its next
    /// query after a publish.
    public struct View {
        let store: SnapshotStore
        private var seen: Int
        private var cached: Snapshot

        public init(_ store: SnapshotStore) {
            self.store = store
            seen = store.generation.load(ordering: .acquiring)
            cached = store.snapshot
        }

        public mutating func current() -> Snapshot {
            let g = store.generation.load(ordering: .acquiring)
            if g != seen {
                // The generation is read first: the snapshot read after it is at least as new.
                seen = g
                cached = store.snapshot
            }
            return cached
        }
    }
}
