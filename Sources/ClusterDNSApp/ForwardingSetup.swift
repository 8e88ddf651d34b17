import DNSServer
import DNSWire
import FileContents
import Forwarding
import Foundation
import Logging
import NIOCore

/// Turns the forwarding flags into the forwarder's configuration at start-up: the upstreams
/// from resolv.conf when none is given, and the misconfigurations refused before anything
/// listens (issue 6, users.md #9): an upstream that is this server, a stub under a zone we serve.
enum ForwardingSetup {
    struct Refused: Error, CustomStringConvertible {
        var description: String
    }

    static func resolve(_ configuration: ServeConfiguration, logger: Logger) throws -> ForwardConfiguration? {
        guard var forwarding = configuration.forwarding else { return nil }
        if forwarding.upstreams.isEmpty && configuration.readResolvConf {
            let path = configuration.resolvConf
            guard let text = FileContents.text(path) else {
                logger.warning("forwarding off: cannot read \(path); names outside our zones are REFUSED (give --upstream)")
                return nil
            }
            forwarding.upstreams = try ResolvConf.nameservers(in: text, path: path)
            guard !forwarding.upstreams.isEmpty else {
                logger.warning("forwarding off: no nameserver in \(path); names outside our zones are REFUSED (give --upstream)")
                return nil
            }
            logger.info("forwarding to the nameservers of \(path)", metadata: ["upstreams": "\(forwarding.upstreams.map(\.description).joined(separator: " "))"])
        }
        let ours = configuration.index.clusterDomains
        for stub in forwarding.stubs where !configuration.server.forwardedInside.contains(stub.domain) {
            if let zone = ours.first(where: { stub.domain.isSubdomain(of: $0) }) {
                throw Refused(description: "--stub \(stub.domain): is inside the cluster zone \(zone), which is never forwarded")
            }
        }
        let local = Set(NameserverAddresses.interfaceAddresses())
        for upstream in forwarding.upstreams + forwarding.stubs.flatMap(\.upstreams) {
            for listen in configuration.server.listen where isSelf(upstream, listen, local: local) {
                throw Refused(description: "upstream \(upstream) is this server (listening on \(listen)): forwarding to it would loop. "
                    + "Give --upstream a resolver other than this server (with systemd-resolved, its real upstreams are in /run/systemd/resolve/resolv.conf)")
            }
        }
        return forwarding
    }

    /// True when `upstream` reaches the listener `listen`: same port, and the same address, or a
    /// wildcard listener and an address of this host (loopback included).
    static func isSelf(_ upstream: ForwardConfiguration.Upstream, _ listen: ServerConfiguration.Endpoint, local: Set<IPAddress>) -> Bool {
        guard upstream.port == listen.port, let up = IPAddress(upstream.host), let at = IPAddress(listen.host) else { return false }
        return up == at || (at.isUnspecified && (up.isLoopback || local.contains(up)))
    }
}
