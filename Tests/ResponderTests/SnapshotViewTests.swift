import DNSWire
import RecordIndex
import Testing

/// Issue 12: the query path reads the snapshot through a per-thread view, without the lock
/// until something was published; a publish is seen by the next read.
@Suite struct SnapshotViewTests {
    @Test func viewSeesEachPublish() {
        let first = Snapshot(zones: []), second = Snapshot(zones: [])
        let store = SnapshotStore(first)
        var view = SnapshotStore.View(store)
        #expect(view.current() === first)
        #expect(view.current() === first)
        store.publish(second)
        #expect(view.current() === second)
        // A view made after the publish starts from it.
        var late = SnapshotStore.View(store)
        #expect(late.current() === second)
    }
}
