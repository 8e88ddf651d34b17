import DNSServer
import Dispatch
import Foundation
import KubeSources
import Logging
import NIOCore
import NIOPosix
import RecordIndex
import Synchronization

/// The running server: sources → snapshot store → listeners. The one place where the long-running
/// parts are composed (DESIGN.md).
public final class ClusterDNS: Sendable {
    public let configuration: ServeConfiguration
    public let store = SnapshotStore()
    let logger: Logger

    public init(configuration: ServeConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Loads the data, binds the listeners, then serves until SIGTERM or SIGINT. Exits cleanly:
    /// listeners close, answers in flight are written, the function returns.
    public func run() async throws {
        var assembler = SnapshotAssembler(options: configuration.index)
        let directory = configuration.zonesDirectory.map(ManifestDirectory.init(root:))
        if let directory {
            // The first load must succeed as a directory; bad files inside are reported, not fatal.
            try refresh(directory, &assembler, first: true)
        } else {
            store.publish(assembler.assemble(ManifestDirectory.Load(), now: Self.unixTime(), logger: logger))
        }

        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let server = DNSServer(configuration: configuration.server, store: store, group: group, logger: logger)
        do {
            try await server.start()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }

        let reload = Task { [assembler] in
            var assembler = assembler
            guard let directory else { return }
            while !Task.isCancelled {
                try? await Task.sleep(for: configuration.reloadInterval)
                do {
                    try refresh(directory, &assembler, first: false)
                } catch {
                    logger.error("zones directory unreadable; still serving the last good data", metadata: ["error": "\(error)"])
                }
            }
        }

        let signal = await Self.waitForTermination()
        logger.info("shutting down", metadata: ["signal": "\(signal)"])
        reload.cancel()
        await server.stop()
        try? await group.shutdownGracefully()
        logger.info("stopped")
    }

    /// Re-reads what changed under the directory and publishes a new snapshot (on the first call
    /// always, later only when something changed).
    func refresh(_ directory: ManifestDirectory, _ assembler: inout SnapshotAssembler, first: Bool) throws {
        let clock = ContinuousClock()
        let start = clock.now
        guard let load = try directory.scan() ?? (first ? directory.current() : nil) else { return }
        let loaded = clock.now
        report(load, first: first)
        store.publish(assembler.assemble(load, now: Self.unixTime(), logger: logger))
        logStats(load: loaded - start, build: clock.now - loaded)
    }

    func report(_ load: ManifestDirectory.Load, first: Bool) {
        for problem in load.problems {
            logger.error("\(problem)")
        }
        if first {
            for (kind, n) in load.skippedKinds.sorted(by: { $0.key < $1.key }) {
                logger.info("skipping objects of a kind DNS does not read", metadata: ["kind": "\(kind)", "count": "\(n)"])
            }
        }
    }

    /// `load`: reading and decoding changed files; `build`: the snapshot from the objects.
    func logStats(load: Duration, build: Duration) {
        let s = store.snapshot.stats
        logger.info("snapshot published", metadata: [
            "services": "\(s.services)", "endpoints": "\(s.endpoints)", "names": "\(s.names)", "records": "\(s.records)",
            "load_ms": "\(load.milliseconds)", "build_ms": "\(build.milliseconds)",
        ])
    }

    static func unixTime() -> UInt32 {
        UInt32(truncatingIfNeeded: Int(Date().timeIntervalSince1970))
    }

    /// Suspends until SIGTERM or SIGINT arrives; returns its name.
    static func waitForTermination() async -> String {
        await withCheckedContinuation { (continuation: CheckedContinuation<String, Never>) in
            let queue = DispatchQueue(label: "clusterdns.signals")
            let fired = SignalLatch(continuation)
            for (sig, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
                source.setEventHandler { fired.fire(name) }
                source.resume()
                fired.keep(source)
            }
        }
    }
}

/// Resumes the continuation once, whichever signal comes first; keeps the sources alive.
private final class SignalLatch: Sendable {
    private let state: Mutex<(continuation: CheckedContinuation<String, Never>?, sources: [DispatchSourceSignal])>

    init(_ c: CheckedContinuation<String, Never>) { state = Mutex((c, [])) }

    func keep(_ s: DispatchSourceSignal) { state.withLock { $0.sources.append(s) } }

    func fire(_ name: String) {
        let c = state.withLock { s -> CheckedContinuation<String, Never>? in
            defer { s.continuation = nil }
            return s.continuation
        }
        c?.resume(returning: name)
    }
}

extension Duration {
    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
