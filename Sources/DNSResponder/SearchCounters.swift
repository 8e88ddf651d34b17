import Synchronization

/// What autopath and AAAA filtering did, counted where it is decided: the query processor, and
/// the forwarder for autopath's upstream step. `/metrics` shows them as
/// `clusterdns_autopath_total{result}`, `clusterdns_autopath_saved_queries_total` and
/// `clusterdns_filtered_aaaa_total`.
public final class SearchCounters: Sendable {
    /// Walks that found a name: answered with a CNAME to it.
    public let hits = Atomic<Int>(0)
    /// Walks that found nothing (or whose upstream failed): the plain answer went out.
    public let misses = Atomic<Int>(0)
    /// Questions the clients did not have to ask: per hit, the search-path steps it skipped.
    public let savedQueries = Atomic<Int>(0)
    /// AAAA questions answered NODATA instead of going upstream.
    public let filteredAAAA = Atomic<Int>(0)

    public init() {}

    public func hit(saving steps: Int) {
        hits.add(1, ordering: .relaxed)
        savedQueries.add(steps, ordering: .relaxed)
    }

    public func miss() {
        misses.add(1, ordering: .relaxed)
    }
}
