import ClusterDNSApp
import DNSResponder
import DNSServer
import DNSWire
import Foundation
import KubeModel
import KubeSources
import Logging
import NIOPosix
import RecordIndex
import Synchronization

/// A cluster described in YAML (and optional zone files), loaded through the real directory
/// loader, answered in-process and by a real server on loopback.
public final class World: Sendable {
    public let snapshot: Snapshot
    public let problems: [SourceError]
    public let directory: String
    private let server = Mutex<(DNSServer, Int)?>(nil)
    /// Answers as `--autopath` does: the index keeps client namespaces, the processor walks.
    public let autopath: Bool

    public init(yaml: String, zoneFiles: [String: String] = [:], options: IndexOptions = IndexOptions(), autopath: Bool = false) throws {
        var options = options
        options.clientNamespaces = options.clientNamespaces || autopath
        self.autopath = autopath
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clusterdns-world-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try yaml.write(toFile: dir + "/world.yaml", atomically: true, encoding: .utf8)
        for (name, text) in zoneFiles { try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8) }
        let (load, snapshot) = try OfflineTools.load(directory: dir, options: options)
        self.snapshot = snapshot
        self.problems = load.problems
        self.directory = dir
    }

    /// The in-process answer (TCP limits), cross-checked by libldns. `client` is the sender's
    /// address (autopath).
    public func ask(_ query: [UInt8], transport: QueryProcessor.Transport = .tcp, client: IPAddress? = nil) throws -> Message? {
        let processor = QueryProcessor(autopath: autopath)
        guard case .reply(let bytes, _) = processor.respond(to: query, transport: transport, snapshot: snapshot, client: client) else { return nil }
        return try LDNSCheck.decodeBoth(bytes)
    }

    /// The port of a real server answering from this world's snapshot, started on first use.
    public func port() async throws -> Int {
        if let running = server.withLock({ $0 }) { return running.1 }
        let store = SnapshotStore(snapshot)
        var config = ServerConfiguration(listen: [.init(host: "127.0.0.1", port: 0)])
        config.udpSocketsPerAddress = 1
        config.autopath = autopath
        let s = try DNSServer(configuration: config, store: store, group: TestGroup.shared,
                          metrics: DNSMetrics(registry: .init(), recordQueries: true), logger: Logger(label: "test"))
        let bound = try await s.start()
        let port = bound[0].port
        return server.withLock { current in
            if let current { Task { await s.stop() }; return current.1 }
            current = (s, port)
            return port
        }
    }
}

public enum TestGroup {
    public static let shared = MultiThreadedEventLoopGroup(numberOfThreads: 2)
}
