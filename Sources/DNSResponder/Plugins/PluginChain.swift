import DNSWire

/// One Corefile server block's answer-shaping plugins (CoreDNS `hosts`, `template`, `rewrite`,
/// `chaos`, `whoami`), in the order CoreDNS's plugin.cfg runs them: chaos, rewrite, template, hosts; what
/// comes after them (the cluster zones, then the upstreams) is the rest of the query path, whoami last.
public struct PluginBlock: Sendable {
    /// The block's zones (its keys): a query goes to the block whose zone is the longest suffix
    /// of its name, and only that block's plugins see it.
    public var zones: [DNSName]
    public var chaos: ChaosPlugin?
    /// Every `rewrite` line of the block, one ordered list (`continue` goes on, `stop` ends).
    public var rewrite: [RewriteRule]
    /// Every `template` of the block, in order.
    public var templates: [TemplatePlugin]
    public var hosts: HostsPlugin?
    /// Answers what the cluster zones do not (CoreDNS runs it after them and after `forward`).
    public var whoami: WhoamiPlugin?

    public init(zones: [DNSName], chaos: ChaosPlugin? = nil, rewrite: [RewriteRule] = [], templates: [TemplatePlugin] = [],
                hosts: HostsPlugin? = nil, whoami: WhoamiPlugin? = nil) {
        self.zones = zones
        self.chaos = chaos
        self.rewrite = rewrite
        self.templates = templates
        self.hosts = hosts
        self.whoami = whoami
    }

    public var hasPlugins: Bool { chaos != nil || !rewrite.isEmpty || !templates.isEmpty || hosts != nil || whoami != nil }

    /// Whether the plugins certainly leave this IN-class question (its name read in place) to the
    /// rest of the path, so that the direct path may answer it: no rewrite, no template whose
    /// zone, class and type fit, and hosts neither holding the name nor answering SERVFAIL for
    /// it. k3s's `hosts NodeHosts { fallthrough }` before the cluster zones then costs a hash
    /// lookup, not the general path. Chaos answers only CH, which the direct path never takes;
    /// whoami only what the zones leave, which the direct path never answers either.
    func leaves(_ q: UnsafeRawBufferPointer, _ name: Range<Int>, type: RecordType) -> Bool {
        guard rewrite.isEmpty else { return false }
        for t in templates where t.zones.contains(where: { DNSName.labelsAbove(q, name, $0) != nil }) {
            if let c = t.recordClass, c != .in { continue }
            if let tt = t.type, tt != type { continue }
            return false
        }
        if let hosts {
            let inZone = hosts.zones.contains { DNSName.labelsAbove(q, name, $0) != nil }
            guard inZone || type == .ptr else { return true }
            if hosts.source.mayHold(hash: DNSName.foldedHash(q, name)) { return false }
            // Not held: a PTR goes on; any other type goes on only by fallthrough (else SERVFAIL).
            if type != .ptr {
                guard let fall = hosts.fall, fall.zones.contains(where: { DNSName.labelsAbove(q, name, $0) != nil }) else { return false }
            }
        }
        return true
    }
}

/// Every server block of a Corefile, for routing: the block a name belongs to decides which
/// plugins see it, so blocks without plugins matter too (a name routed to `consul.local` never
/// meets the hosts entries of the `.` block).
public struct PluginChain: Sendable {
    public let blocks: [PluginBlock]
    /// Every (zone, block) pair, longest zone first; the first block to name a zone keeps it
    /// (CoreDNS refuses duplicates on one port; blocks on other ports are the lead's concern).
    let routes: [(zone: DNSName, block: Int)]

    /// Some block has `whoami`: the handlers then pass the client's address and port.
    public let hasWhoami: Bool

    public init(blocks: [PluginBlock]) {
        self.blocks = blocks
        hasWhoami = blocks.contains { $0.whoami != nil }
        var seen = Set<DNSName>()
        var routes: [(zone: DNSName, block: Int)] = []
        for (i, block) in blocks.enumerated() {
            for zone in block.zones where seen.insert(zone).inserted { routes.append((zone, i)) }
        }
        // Stable: equal lengths keep block order.
        self.routes = routes.enumerated().sorted {
            $0.element.zone.wire.count != $1.element.zone.wire.count ? $0.element.zone.wire.count > $1.element.zone.wire.count : $0.offset < $1.offset
        }.map(\.element)
    }

    /// True when no block has a plugin: the chain changes nothing.
    public var isEmpty: Bool { !blocks.contains { $0.hasPlugins } }

    /// The block `name` is routed to (longest zone suffix), or nil when no block serves it.
    public func block(for name: DNSName) -> PluginBlock? {
        routes.first { name.isSubdomain(of: $0.zone) }.map { blocks[$0.block] }
    }

    /// The routed block when it has plugins: the query takes the plugin path.
    public func pluginBlock(for name: DNSName) -> PluginBlock? {
        guard let block = block(for: name), block.hasPlugins else { return nil }
        return block
    }

    /// Whether the IN-class question with the uncompressed name `bytes[range]` is routed to a
    /// block whose plugins may act on it. No allocation: `respondDirect` asks it before
    /// answering from the snapshot.
    public func claims(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, type: RecordType) -> Bool {
        for route in routes where DNSName.labelsAbove(bytes, range, route.zone) != nil {
            let block = blocks[route.block]
            return block.hasPlugins && !block.leaves(bytes, range, type: type)
        }
        return false
    }

    /// Every hosts plugin that reads a file, for the reloader.
    public var hostsPlugins: [HostsPlugin] { blocks.compactMap(\.hosts) }
}

/// CoreDNS `fallthrough [ZONES...]`: names in these zones go on to the next plugin instead of
/// getting this plugin's negative answer. No zones given means every name.
public struct Fallthrough: Sendable, Equatable {
    public var zones: [DNSName]
    public init(zones: [DNSName]) { self.zones = zones.isEmpty ? [.root] : zones }
    public func through(_ name: DNSName) -> Bool { zones.contains { name.isSubdomain(of: $0) } }
}

/// What one plugin decided for a question.
enum PluginStep {
    /// The reply, written by this plugin.
    case answer(Answer)
    /// The rest of the path resolves it (the template's `upstream` CNAME target).
    case resolve(Responder.Resolution)
    /// Not this plugin's: the next one sees the question.
    case next
}
