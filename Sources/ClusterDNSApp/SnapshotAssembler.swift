import DNSWire
import KubeSources
import Logging
import RecordIndex

/// Turns what the sources hold into one snapshot: the cluster and reverse zones built from
/// objects, plus the zone files. The SOA serial is the Unix time of the change, kept increasing.
public struct SnapshotAssembler {
    public var options: IndexOptions
    private var lastSerial: UInt32 = 0

    public init(options: IndexOptions) {
        self.options = options
    }

    /// `synced: false` while a source that feeds the cluster zones (the API watcher) has not
    /// listed everything yet: missing names then answer SERVFAIL, not NXDOMAIN (D18).
    public mutating func assemble(_ load: ManifestDirectory.Load, now: UInt32, synced: Bool = true, logger: Logger? = nil) -> Snapshot {
        lastSerial = max(lastSerial &+ 1, now)
        let (zones, stats) = ClusterIndexBuilder(options: options, serial: lastSerial).build(load.objects, synced: synced)
        var all = zones
        let taken = Set(zones.map(\.apex))
        for z in load.zones {
            if taken.contains(z.apex) {
                logger?.error("zone file ignored: its apex is served from cluster objects", metadata: ["zone": "\(z.apex)", "file": "\(z.kind)"])
                continue
            }
            all.append(z)
        }
        return Snapshot(zones: all, stats: stats)
    }
}
