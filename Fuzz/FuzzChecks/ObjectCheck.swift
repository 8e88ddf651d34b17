import DNSWire
import KubeModel

/// What `ObjectRules` promises of every object it returns, whatever it read (a manifest or an
/// API response): the names that become DNS labels are labels, every address it keeps parses
/// (in the family the slice declares), every port it keeps has a protocol DNS knows and, for a
/// Service, a number in range. The `manifest` and `watch` targets hold each returned object to it.
enum ObjectCheck {
    static let protocols: Set<String> = ["TCP", "UDP", "SCTP"]

    static func check(_ object: ClusterObject) throws {
        let isLabel = ObjectRules<JSONValue>.isDNSLabel
        switch object {
        case .namespace(let n):
            try require(isLabel(n.name), "Namespace \(n.name): name is not a DNS label")
        case .service(let s):
            let what = "Service \(s.namespace)/\(s.name)"
            try require(isLabel(s.name) && isLabel(s.namespace), "\(what): a name that is not a DNS label")
            for p in s.ports {
                try require(protocols.contains(p.proto) && (1...65535).contains(p.port), "\(what): port \(p)")
                try require(p.name.map { $0.isEmpty || isLabel($0) } ?? true, "\(what): port name \(p.name!) is not a DNS label")
            }
            switch s.kind {
            case .clusterIP(let ips):
                try require(ips.allSatisfy { IPAddress($0) != nil }, "\(what): ClusterIPs \(ips) do not all parse")
            case .externalName(let target):
                try require(!target.isEmpty, "\(what): empty externalName")
            case .headless:
                break
            }
        case .endpointSlice(let s):
            let what = "EndpointSlice \(s.namespace)/\(s.name)"
            try require(!s.name.isEmpty && isLabel(s.namespace), "\(what): no name, or a namespace that is not a DNS label")
            for e in s.endpoints {
                if s.addressType != .fqdn {
                    try require(e.addresses.allSatisfy { IPAddress($0)?.isIPv4 == (s.addressType == .ipv4) },
                                "\(what): addresses \(e.addresses) are not all \(s.addressType.rawValue)")
                }
                // An endpoint's hostname is the first label of its DNS name, in slices made from
                // v1 Endpoints too.
                try require(e.hostname.map(isLabel) ?? true, "\(what): hostname \(e.hostname!) is not a DNS label")
            }
            for p in s.ports {
                try require(protocols.contains(p.proto), "\(what): port \(p)")
            }
        case .pod(let p):
            let what = "Pod \(p.namespace)/\(p.name)"
            try require(!p.name.isEmpty && isLabel(p.namespace), "\(what): no name, or a namespace that is not a DNS label")
            // Kept in the form the index compares: each address as IPAddress prints it.
            try require(p.ips.allSatisfy { IPAddress($0)?.description == $0 }, "\(what): addresses \(p.ips) are not all canonical")
        }
    }
}
