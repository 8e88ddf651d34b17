import DNSResponder
import DNSWire
import RecordIndex

/// The direct path (`respondDirect`, bytes to bytes in place) held to the long way
/// (`respond(to:)`): wherever it answers, its reply is byte for byte the long way's.
public enum DirectAnswerCheck {
    public struct Mismatch: Error, CustomStringConvertible {
        public var description: String
    }

    /// Compares the two paths for one query. Returns whether the direct path answered.
    @discardableResult
    public static func compare(_ query: [UInt8], _ snapshot: Snapshot, processor: QueryProcessor = QueryProcessor(),
                               transport: QueryProcessor.Transport = .udp, rotation: Int = 0) throws -> Bool {
        // A buffer too small for the reply must make the direct path give up, never answer short.
        var small = [UInt8](repeating: 0, count: 200)
        let cramped = query.withUnsafeBytes { q in
            small.withUnsafeMutableBytes { processor.respondDirect(to: q, into: $0, transport: transport, snapshot: snapshot, rotation: rotation) }
        }
        var out = [UInt8](repeating: 0, count: 65535)
        let direct = query.withUnsafeBytes { q in
            out.withUnsafeMutableBytes { processor.respondDirect(to: q, into: $0, transport: transport, snapshot: snapshot, rotation: rotation) }
        }
        guard let direct else {
            guard cramped == nil else { throw Mismatch(description: "direct path answered only with the small buffer: \(query)") }
            return false
        }
        let bytes = Array(out[0..<direct.count])
        if let cramped, Array(small[0..<cramped.count]) != bytes {
            throw Mismatch(description: "direct reply in a small buffer differs: \(query)")
        }
        guard case .reply(let slow, let info) = processor.respond(to: query, transport: transport, snapshot: snapshot, rotation: rotation) else {
            throw Mismatch(description: "direct path answered a query the long way does not reply to: \(query)")
        }
        guard bytes == slow else {
            throw Mismatch(description: "direct reply differs from the long way's\n direct \(bytes)\n   slow \(slow)\n  query \(query)")
        }
        guard info.rcode == direct.rcode, info.zone == direct.zone, info.question?.type == direct.type else {
            throw Mismatch(description: "direct reply info \(direct) differs from \(info)")
        }
        return true
    }
}
