import DNSResponder
import DNSWire

/// One case in the spec's language: a question, the rcode, and each section written as zone
/// text. Run in-process, then over UDP and TCP against the real server; every response is also
/// decoded by libldns.
public struct Case: Sendable, CustomStringConvertible {
    public var name: String
    public var type: RecordType
    public var rcode: ResponseCode
    public var answer: String
    public var authority: String?
    public var additional: String?

    public init(_ name: String, _ type: RecordType, rcode: ResponseCode = .noError, answer: String = "", authority: String? = nil, additional: String? = nil) {
        self.name = name
        self.type = type
        self.rcode = rcode
        self.answer = answer
        self.authority = authority
        self.additional = additional
    }

    public var description: String { "\(name) \(type)" }
}

public struct CaseFailure: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

extension World {
    /// Checks `c` over every path; throws a readable difference on the first mismatch. `client`
    /// is the asker's address in-process; over sockets the asker is always 127.0.0.1, so those
    /// run only for that address.
    public func check(_ c: Case, from client: IPAddress = .v4(127, 0, 0, 1), sockets: Bool = true) async throws {
        let q = DNSClient.query(c.name, c.type)
        guard let inProcess = try ask(q, client: client) else { throw CaseFailure(description: "\(c): no reply") }
        try compare(c, inProcess, via: "in-process")
        guard sockets, client == .v4(127, 0, 0, 1) else { return }
        let port = try await port()
        guard let udp = DNSClient.udp(q, port: port) else { throw CaseFailure(description: "\(c): no UDP reply") }
        try compare(c, try LDNSCheck.decodeBoth(udp), via: "UDP")
        guard let tcp = DNSClient.tcp(q, port: port) else { throw CaseFailure(description: "\(c): no TCP reply") }
        try compare(c, try LDNSCheck.decodeBoth(tcp), via: "TCP")
    }

    func compare(_ c: Case, _ m: Message, via: String) throws {
        func fail(_ what: String) -> CaseFailure {
            CaseFailure(description: "\(c) via \(via): \(what)\n\(m.answers.map(\.description).joined(separator: "\n"))")
        }
        guard m.rcode == c.rcode else { throw fail("rcode \(m.rcode), expected \(c.rcode)") }
        // D3: AA on every answer from our zones.
        guard m.header.authoritative || c.rcode == .refused || c.rcode == .servFail else { throw fail("AA not set") }
        try same(m.answers, c.answer, "answer", fail)
        if let auth = c.authority { try same(m.authority, auth, "authority", fail) }
        if let add = c.additional { try same(m.additional, add, "additional", fail) }
        // D2: every negative answer carries the zone's SOA.
        if (c.rcode == .nxDomain || (c.rcode == .noError && m.answers.isEmpty)) && !m.authority.contains(where: { $0.type == .soa }) {
            throw fail("negative answer without SOA in authority")
        }
        // D14: owners equal to the question keep its case.
        for rr in m.answers where rr.name == m.questions[0].name {
            guard rr.name.wire == m.questions[0].name.wire else { throw fail("owner \(rr.name) does not echo the question's case") }
        }
    }

    func same(_ got: [ResourceRecord], _ expected: String, _ section: String, _ fail: (String) -> CaseFailure) throws {
        // The SOA serial is the time of the build: compared as 0.
        func text(_ rr: ResourceRecord) -> String {
            var rr = rr
            if case .soa(var s) = rr.rdata { s.serial = 0; rr.rdata = .soa(s) }
            return LDNSCheck.normalize(rr.description, question: false)
        }
        let want = try LDNSCheck.records(expected).map(text).sorted()
        let have = got.map(text).sorted()
        guard want == have else {
            throw fail("\(section) differs:\n  expected \(want)\n  got      \(have)")
        }
    }
}
