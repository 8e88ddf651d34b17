import Synchronization

/// What `/ready` reports: every data source registers and says when it has synced; lame duck
/// (after SIGTERM) turns the answer to 503 at once. Sources keep their reason, so the body says
/// what an operator would otherwise dig out of the logs.
///
/// A source that synced once and then fails (a broken file, a watch that drops) is *degraded*:
/// it keeps serving its last good data and `/ready` stays 200 with the reason in the body. Turning
/// 503 there would take every replica out of the kube-dns Service at once for one bad file.
public final class Readiness: Sendable {
    enum State: Equatable {
        case syncing(String)
        case ready
        case degraded(String)
    }

    struct Source {
        var name: String
        var state: State
    }

    private let state = Mutex<(sources: [Source], lameDuck: Bool)>(([], false))

    public init() {}

    /// Marks a source not (yet) synced for `reason` (registering it if new): 503.
    public func notReady(_ source: String, _ reason: String) {
        update(source, .syncing(reason))
    }

    /// Marks a source synced.
    public func ready(_ source: String) {
        update(source, .ready)
    }

    /// A synced source now failing: still 200 (its last good data is served), reason shown.
    /// Before the first sync this is the same as `notReady`.
    public func degraded(_ source: String, _ reason: String) {
        state.withLock { s in
            if let i = s.sources.firstIndex(where: { $0.name == source }), case .syncing = s.sources[i].state {
                s.sources[i].state = .syncing(reason)
            } else if let i = s.sources.firstIndex(where: { $0.name == source }) {
                s.sources[i].state = .degraded(reason)
            } else {
                s.sources.append(Source(name: source, state: .syncing(reason)))
            }
        }
    }

    public func enterLameDuck() {
        state.withLock { $0.lameDuck = true }
    }

    public var isLameDuck: Bool { state.withLock { $0.lameDuck } }

    /// 200-worthy when true; the text is the plain-text body.
    public func status() -> (ready: Bool, text: String) {
        state.withLock { s in
            var blocking: [String] = []
            var warnings: [String] = []
            if s.lameDuck { blocking.append("shutting down (lame duck)") }
            for source in s.sources {
                switch source.state {
                case .syncing(let why): blocking.append("\(source.name): not ready: \(why)")
                case .degraded(let why): warnings.append("\(source.name): serving last good data: \(why)")
                case .ready: break
                }
            }
            let ready = blocking.isEmpty
            let lines = (ready ? ["OK"] : blocking) + warnings
            return (ready, lines.joined(separator: "\n") + "\n")
        }
    }

    private func update(_ name: String, _ new: State) {
        state.withLock { s in
            if let i = s.sources.firstIndex(where: { $0.name == name }) {
                s.sources[i].state = new
            } else {
                s.sources.append(Source(name: name, state: new))
            }
        }
    }
}
