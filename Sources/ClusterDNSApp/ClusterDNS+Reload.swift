import DNSServer
import FileContents
import Foundation
import Logging
import NIOPosix
import Synchronization

/// The DNS listeners now serving. A Corefile reload replaces them: the new ones bind the same
/// ports beside the old ones (SO_REUSEPORT), then the old ones close.
final class CurrentServer: Sendable {
    private let server: Mutex<DNSServer>
    init(_ server: DNSServer) { self.server = Mutex(server) }
    var current: DNSServer { server.withLock { $0 } }
    func replace(with new: DNSServer) -> DNSServer {
        server.withLock { old in
            defer { old = new }
            return old
        }
    }
}

extension ClusterDNS {
    /// CoreDNS `reload`: every INTERVAL (± JITTER) the Corefile and its imports are read again;
    /// when their text changed, the new configuration replaces the old without a restart. A
    /// Corefile that does not load, or that changes what needs a restart (the kubernetes plugin,
    /// the health/ready/prometheus addresses), leaves the running configuration serving and says
    /// why in the log and on /ready.
    func reloading(_ first: CorefileSource, every reload: CorefileLoad.Reload, server: CurrentServer,
                   group: MultiThreadedEventLoopGroup, metrics dnsMetrics: DNSMetrics, hostsReloads: [Task<Void, Never>]) async {
        var running = first
        var hostsReloads = hostsReloads
        defer { for t in hostsReloads { t.cancel() } }
        var text = Self.contents(running.load.files)
        var refused: [String: String]? = nil  // the text last refused, not retried until it changes
        while !Task.isCancelled {
            let jitter = reload.jitter.milliseconds
            let wait = reload.interval.milliseconds + (jitter > 0 ? Int64.random(in: -jitter...jitter) : 0)
            try? await Task.sleep(for: .milliseconds(max(wait, 100)))
            guard !Task.isCancelled else { return }
            let next: CorefileSource
            do {
                next = try running.reloaded()
            } catch {
                let now = Self.contents(running.load.files)
                guard now != refused else { continue }
                refused = now
                metrics.reloadError("corefile")
                readiness.degraded("corefile", "\(error); still serving the previous configuration")
                logger.error("Corefile reload failed; still serving the previous configuration", metadata: ["error": "\(error)"])
                continue
            }
            let newText = Self.contents(next.load.files)
            if newText == text {
                // Back to what runs (a bad edit undone): nothing to apply, nothing wrong.
                if refused != nil {
                    refused = nil
                    readiness.ready("corefile")
                }
                continue
            }
            guard newText != refused else { continue }
            let old = running.configuration, new = next.configuration
            if let why = Self.needsRestart(old, new) {
                refused = newText
                metrics.reloadError("corefile")
                readiness.degraded("corefile", "the new Corefile changes \(why), which needs a restart; still serving the previous configuration")
                logger.error("Corefile changed \(why): restart to apply it (kubectl -n kube-system rollout restart deployment/...); still serving the previous configuration")
                continue
            }
            do {
                let forwarding = try ForwardingSetup.resolve(new, logger: logger)
                let replacement = try DNSServer(configuration: new.server, store: store, group: group, metrics: dnsMetrics,
                                                forwarding: forwarding, logger: logger)
                try await replacement.start()
                for w in next.load.warnings { logger.warning("\(w)") }
                let previous = server.replace(with: replacement)
                // Both sets of sockets answer for a moment, so nothing queued on the old ones
                // is left unread; then they close, writing the answers in flight.
                try? await Task.sleep(for: .milliseconds(500))
                await previous.stop()
                for t in hostsReloads { t.cancel() }
                hostsReloads = new.server.plugins?.startReloading(logger: logger) ?? []
                running = next
                text = newText
                refused = nil
                metrics.synced("corefile")
                readiness.ready("corefile")
                logger.info("Corefile reloaded", metadata: ["corefile": "\(running.path)"])
            } catch {
                refused = newText
                metrics.reloadError("corefile")
                readiness.degraded("corefile", "\(error); still serving the previous configuration")
                logger.error("Corefile reload failed; still serving the previous configuration", metadata: ["error": "\(error)"])
            }
        }
    }

    /// What a reload cannot change in place: where objects come from and how the index derives
    /// records, and the HTTP endpoints.
    static func needsRestart(_ a: ServeConfiguration, _ b: ServeConfiguration) -> String? {
        if a.index != b.index { return "the kubernetes plugin's zones or options" }
        if "\(String(describing: a.kubernetes))" != "\(String(describing: b.kubernetes))" || a.zonesDirectory != b.zonesDirectory {
            return "where the objects come from (kubeconfig, endpoint)"
        }
        if a.autopathPods != b.autopathPods { return "autopath's Pod watch" }
        if a.operations.health != b.operations.health || a.operations.ready != b.operations.ready || a.operations.metrics != b.operations.metrics
            || a.operations.lameDuck != b.operations.lameDuck {
            return "the health (or its lameduck), ready or prometheus address"
        }
        return nil
    }

    static func contents(_ files: [String]) -> [String: String] {
        var out: [String: String] = [:]
        for f in files { out[f] = FileContents.text(f) ?? "" }
        return out
    }
}
