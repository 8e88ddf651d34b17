import DNSServer
import RecordIndex

/// Everything `clusterdns serve` is told: where data comes from, what the index holds, how the
/// listeners behave. Built by the command line, consumed here.
public struct ServeConfiguration: Sendable {
    public var zonesDirectory: String?
    public var index: IndexOptions
    public var server: ServerConfiguration
    /// How often the zones directory is checked for changes (issue 3: visible within a second).
    public var reloadInterval: Duration = .milliseconds(400)

    public init(zonesDirectory: String?, index: IndexOptions, server: ServerConfiguration) {
        self.zonesDirectory = zonesDirectory
        self.index = index
        self.server = server
    }
}
