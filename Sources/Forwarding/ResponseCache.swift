import Synchronization

/// Upstream answers by `CacheKey`, bounded in entries. Sharded so the event loops rarely meet on
/// one lock; a full shard evicts an expired entry if one of a few random picks is, else a random
/// one (CoreDNS's cache evicts at random too). Stale entries are kept for the serve-stale window.
final class ResponseCache: Sendable {
    enum Lookup {
        case fresh(CachedResponse)
        /// Expired, but inside the serve-stale window (RFC 8767): usable only when upstreams fail.
        case stale(CachedResponse)
        case miss
    }

    private final class Shard: Sendable {
        struct Slot {
            var entry: CachedResponse
            var index: Int
        }
        struct Table {
            var slots: [CacheKey: Slot] = [:]
            var keys: [CacheKey] = []
        }
        let table = Mutex(Table())
    }

    private let shards: [Shard]
    private let perShard: Int
    private let staleNanos: UInt64
    let evictions = Atomic<Int>(0)

    init(size: Int, serveStale: Duration?) {
        let count = max(1, min(16, size))
        shards = (0..<count).map { _ in Shard() }
        perShard = max(1, size / count)
        staleNanos = serveStale.map { UInt64($0.components.seconds) * 1_000_000_000 + UInt64($0.components.attoseconds / 1_000_000_000) } ?? 0
    }

    private func shard(_ key: CacheKey) -> Shard {
        shards[Int(UInt(bitPattern: key.hash) % UInt(shards.count))]
    }

    func lookup(_ key: CacheKey, now: UInt64) -> Lookup {
        let staleNanos = self.staleNanos
        return shard(key).table.withLock { t -> Lookup in
            guard let slot = t.slots[key] else { return .miss }
            let entry = slot.entry
            if !entry.expires(now) { return .fresh(entry) }
            if now < entry.stored + UInt64(entry.lifetime) * 1_000_000_000 + staleNanos { return .stale(entry) }
            Self.remove(key, from: &t)
            return .miss
        }
    }

    func insert(_ key: CacheKey, _ entry: CachedResponse, now: UInt64) {
        guard entry.kind != .uncacheable else { return }
        let perShard = self.perShard, staleNanos = self.staleNanos
        let evicted = shard(key).table.withLock { t -> Bool in
            if t.slots[key] != nil {
                t.slots[key]!.entry = entry
                return false
            }
            var evicted = false
            if t.keys.count >= perShard {
                var victim = Int.random(in: 0..<t.keys.count)
                for _ in 0..<3 {
                    let i = Int.random(in: 0..<t.keys.count)
                    let e = t.slots[t.keys[i]]!.entry
                    if now >= e.stored + UInt64(e.lifetime) * 1_000_000_000 + staleNanos {
                        victim = i
                        break
                    }
                }
                Self.remove(t.keys[victim], from: &t)
                evicted = true
            }
            t.slots[key] = Shard.Slot(entry: entry, index: t.keys.count)
            t.keys.append(key)
            return evicted
        }
        if evicted { evictions.add(1, ordering: .relaxed) }
    }

    /// Swap-remove: O(1), the last key moves into the hole.
    private static func remove(_ key: CacheKey, from t: inout Shard.Table) {
        guard let slot = t.slots.removeValue(forKey: key) else { return }
        let last = t.keys.removeLast()
        if slot.index < t.keys.count {
            t.keys[slot.index] = last
            t.slots[last]!.index = slot.index
        }
    }

    /// Entries by kind, for `coredns_cache_entries`.
    func counts() -> (success: Int, denial: Int) {
        var s = 0, d = 0
        for shard in shards {
            shard.table.withLock { t in
                for slot in t.slots.values {
                    if slot.entry.kind == .success { s += 1 } else { d += 1 }
                }
            }
        }
        return (s, d)
    }
}
