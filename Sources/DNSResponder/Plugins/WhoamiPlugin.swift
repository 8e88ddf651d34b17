import DNSWire

/// CoreDNS `whoami`: the client's address and port, as the last stage of its server block.
public struct WhoamiPlugin: Sendable, Equatable {
    public init() {}

    /// CoreDNS whoami.go: whatever was asked, an empty answer section and, in the additional
    /// section, an A (or AAAA) of the client's address owned by the question's name and an SRV
    /// `_udp.NAME` (`_tcp.NAME`) with the client's port and target ".", TTL 0, the question's
    /// class, AA set.
    func answer(_ q: Question, client: IPAddress, port: Int, transport: QueryProcessor.Transport) -> Answer {
        var answer = Answer(rcode: .noError, authoritative: true)
        let address = ResourceRecord(name: q.name, type: client.isIPv4 ? .a : .aaaa, recordClass: q.recordClass, ttl: 0,
                                     rdata: client.isIPv4 ? .a(client) : .aaaa(client))
        let label = transport == .udp ? "_udp" : "_tcp"
        let owner = (try? DNSName(labels: [label], suffix: q.name)) ?? q.name
        let srv = ResourceRecord(name: owner, type: .srv, recordClass: q.recordClass, ttl: 0,
                                 rdata: .srv(RData.SRV(priority: 0, weight: 0, port: UInt16(clamping: port), target: .root)))
        answer.additional = [[address], [srv]]
        return answer
    }
}
