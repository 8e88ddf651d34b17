import DNSWire
import HashTreeCollections

/// Which namespace a client address belongs to, for autopath: learned from what the index
/// already holds, without watching every Pod. An EndpointSlice endpoint whose `targetRef` is a
/// Pod puts its addresses in the slice's namespace; a Pod (in a manifest directory, or with
/// `--pods verified`) puts its own. A `hostNetwork` Pod's addresses and every Pod's `hostIP` are
/// node addresses: processes there use the node's search path, not a namespace's.
///
/// Every contribution is counted, so an address goes back to unknown exactly when its last
/// contributor does. An address is answered for only when exactly one namespace and no node
/// claims it: an address reused across namespaces, or a node's, gets the plain answer, never a
/// guess.
public struct ClientNamespaces: Sendable, Equatable {
    /// One claim on an address: a namespace, or a node (`namespace == nil`), with how many
    /// objects make it.
    struct Claim: Sendable, Equatable {
        var namespace: String?
        var count: Int32
    }

    private var table = TreeDictionary<IPAddress, OneOrMany<Claim>>()

    public init() {}

    /// Addresses with at least one claim.
    public var count: Int { table.count }

    /// The namespace of the client at `address`, or nil when it is unknown, claimed by more than
    /// one namespace, or a node's.
    public func namespace(of address: IPAddress) -> String? {
        guard case .one(let claim)? = table[address] else { return nil }
        return claim.namespace
    }

    /// Adds (`sign` +1) or withdraws (-1) one object's claim that `address` is in `namespace`
    /// (nil: a node's address).
    mutating func claim(_ address: IPAddress, namespace: String?, sign: Int32) {
        table.updateValue(forKey: address) { slot in
            var claims = slot?.all ?? []
            if let i = claims.firstIndex(where: { $0.namespace == namespace }) {
                claims[i].count += sign
                if claims[i].count <= 0 { claims.remove(at: i) }
            } else if sign > 0 {
                claims.append(Claim(namespace: namespace, count: sign))
            }
            slot = OneOrMany(claims)
        }
    }
}
