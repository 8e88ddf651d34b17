import DNSServer
import Forwarding
import RecordIndex

/// Everything `clusterdns serve` is told: where data comes from, what the index holds, how the
/// listeners behave. Built by the command line, consumed here.
public struct ServeConfiguration: Sendable {
    public var zonesDirectory: String?
    /// Where the Kubernetes API is, when objects come from it (`--kubernetes`, `--kubeconfig`).
    public var kubernetes: Kubernetes?
    public var index: IndexOptions
    public var server: ServerConfiguration
    /// How often the zones directory is checked for changes (issue 3: visible within a second).
    public var reloadInterval: Duration = .milliseconds(400)
    /// `--autopath-pods`: watch Pods (addresses only) so autopath knows every pod's namespace,
    /// not only those of Service endpoints.
    public var autopathPods = false
    public var operations = Operations()
    /// Forwarding of names outside our zones; nil: they are REFUSED (`--upstream off`).
    public var forwarding: ForwardConfiguration? = ForwardConfiguration(upstreams: [])
    /// Where the upstreams come from when none is given (`--resolv-conf`).
    public var resolvConf = "/etc/resolv.conf"
    /// Whether empty default upstreams are read from `resolvConf` (flags: always; a Corefile: only
    /// `forward . /etc/resolv.conf`).
    public var readResolvConf = true

    public enum Kubernetes: Sendable {
        /// The ServiceAccount's token and CA, KUBERNETES_SERVICE_HOST/PORT.
        case inCluster
        case kubeconfig(path: String, context: String?)
        /// An API server URL without credentials (CoreDNS `kubernetes { endpoint URL }`, e.g.
        /// `kubectl proxy`).
        case endpoint(String)
    }

    /// The operator-facing side: HTTP endpoints (CoreDNS's ports), shutdown, log summaries.
    public struct Operations: Sendable {
        public typealias Endpoint = ServerConfiguration.Endpoint
        /// `/health`: 200 while the process serves. Nil: disabled.
        public var health: Endpoint? = Endpoint(host: "0.0.0.0", port: 8080)
        /// `/ready`: 200 once every source has synced, 503 with the reason before and in lame duck.
        public var ready: Endpoint? = Endpoint(host: "0.0.0.0", port: 8181)
        /// `/metrics`: Prometheus text. Nil also turns off recording on the query path.
        public var metrics: Endpoint? = Endpoint(host: "0.0.0.0", port: 9153)
        /// After SIGTERM: `/ready` is 503 and DNS keeps answering this long, then listeners close.
        public var lameDuck: Duration = .seconds(5)
        /// How often bad-packet counts are summarised in the log (never one line per packet).
        public var summaryInterval: Duration = .seconds(30)
        public init() {}
    }

    public init(zonesDirectory: String?, index: IndexOptions, server: ServerConfiguration) {
        self.zonesDirectory = zonesDirectory
        self.index = index
        self.server = server
    }
}
