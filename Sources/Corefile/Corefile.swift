/// A Corefile as CoreDNS's parser (Caddy's) reads it: server blocks, each with the zones and
/// ports it serves and the directives (plugin lines) inside it. Imports, snippets and `{$ENV}`
/// are already expanded; every directive remembers the file and line it came from, so that an
/// error can name them.
public struct Corefile: Sendable, Equatable {
    public var servers: [ServerBlock]
    /// Every file read: the Corefile and what it imported (for `reload`).
    public var files: [String]

    public init(servers: [ServerBlock], files: [String]) {
        self.servers = servers
        self.files = files
    }
}

/// Where something was written: `PATH:LINE`.
public struct CorefileLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }
    public var description: String { "\(file):\(line)" }
}

/// `zone:port { … }`: one or more keys and the plugins that serve them.
public struct ServerBlock: Sendable, Equatable {
    public var keys: [ServerKey]
    public var directives: [Directive]
    public var location: CorefileLocation

    public init(keys: [ServerKey], directives: [Directive], location: CorefileLocation) {
        self.keys = keys
        self.directives = directives
        self.location = location
    }

    /// The directives called `name`, in order.
    public func directives(named name: String) -> [Directive] { directives.filter { $0.name == name } }
}

/// One server-block key: `[dns://]ZONE[:PORT]`. The zone is lower-cased and absolute
/// (`cluster.local.`, `.` for the root); the port is nil when the key gives none (53 then, or
/// the `-dns.port` default in CoreDNS).
public struct ServerKey: Sendable, Hashable, CustomStringConvertible {
    public var scheme: String
    public var zone: String
    public var port: Int?
    public init(scheme: String = "dns", zone: String, port: Int?) {
        self.scheme = scheme
        self.zone = zone
        self.port = port
    }
    public var description: String { "\(scheme == "dns" ? "" : scheme + "://")\(zone)\(port.map { ":\($0)" } ?? "")" }
}

/// A plugin line, `name arg arg … [{ nested lines }]`.
public struct Directive: Sendable, Equatable {
    public var name: String
    public var arguments: [String]
    /// The lines between `{` and `}` after the arguments; nil when there is no block.
    public var block: [Directive]?
    public var location: CorefileLocation

    public init(name: String, arguments: [String] = [], block: [Directive]? = nil, location: CorefileLocation) {
        self.name = name
        self.arguments = arguments
        self.block = block
        self.location = location
    }

    /// `file:line: plugin "name": message` — every Corefile error an operator sees has this shape.
    public func error(_ message: String) -> CorefileError {
        CorefileError(location, message)
    }
}

/// A Corefile that cannot be used, with the place that says why.
public struct CorefileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var location: CorefileLocation?
    public var message: String
    public init(_ location: CorefileLocation?, _ message: String) {
        self.location = location
        self.message = message
    }
    public var description: String { location.map { "\($0): \(message)" } ?? message }
}
