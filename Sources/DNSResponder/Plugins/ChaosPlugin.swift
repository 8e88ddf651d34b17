import DNSWire

/// CoreDNS `chaos [VERSION [AUTHORS...]]`: CH-class TXT answers about the server itself.
public struct ChaosPlugin: Sendable {
    public var version: String
    public var authors: [String]
    /// For `hostname.bind` and `id.server`.
    public var hostname: String

    public init(version: String, authors: [String], hostname: String) {
        self.version = version
        self.authors = authors
        // CoreDNS trims it to what one character-string holds.
        self.hostname = String(decoding: hostname.utf8.prefix(255), as: UTF8.self)
    }

    static let versionNames: Set<DNSName> = [DNSName("version.bind.")!, DNSName("version.server.")!]
    static let authorsName = DNSName("authors.bind.")!
    static let hostnameNames: Set<DNSName> = [DNSName("hostname.bind.")!, DNSName("id.server.")!]

    /// CoreDNS chaos.go: only `CH TXT` for these five names; everything else goes on. The reply
    /// is not authoritative, TTL 0, owned by the name as asked. CoreDNS shuffles the authors;
    /// they keep their order here (the set is the same).
    func answer(_ q: Question) -> PluginStep {
        guard q.recordClass == .chaos, q.type == .txt else { return .next }
        let texts: [String]
        if Self.versionNames.contains(q.name) {
            texts = [version]
        } else if q.name == Self.authorsName {
            texts = authors
        } else if Self.hostnameNames.contains(q.name) {
            texts = [hostname]
        } else {
            return .next
        }
        var answer = Answer(rcode: .noError, authoritative: false)
        let records = texts.map {
            ResourceRecord(name: q.name, type: .txt, recordClass: .chaos, ttl: 0, rdata: .txt([Array($0.utf8.prefix(255))]))
        }
        if !records.isEmpty { answer.answer = [records] }
        return .answer(answer)
    }
}
