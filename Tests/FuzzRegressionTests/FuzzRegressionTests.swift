import DNSResponder
import DNSWire
import FileContents
import Foundation
import FuzzChecks
import Testing
import TestSupport

/// Issue 14: every checked-in seed and every input a fuzzer ever crashed on
/// (`Fuzz/corpus/<target>/`, `Fuzz/regressions/<target>/`) goes through the fuzz targets' own
/// checks, in-process, so a fixed crash stays fixed. `make fuzz` searches for new ones.
@Suite struct FuzzRegressionTests {
    struct Input: CustomStringConvertible, Sendable {
        var target: FuzzTarget
        var path: String
        var description: String { path.split(separator: "/").suffix(3).joined(separator: "/") }
    }

    static let inputs: [Input] = FuzzTarget.allCases.flatMap { t in t.savedInputs.map { Input(target: t, path: $0) } }

    @Test(arguments: inputs)
    func savedInput(_ input: Input) throws {
        let bytes = try #require(FileContents.bytes(input.path), "cannot read \(input.path)")
        do {
            try input.target.check(bytes)
        } catch {
            Issue.record("\(input): \(error)")
        }
    }

    /// Each target has seeds; a missing folder would otherwise pass silently.
    @Test(arguments: FuzzTarget.allCases)
    func everyTargetHasACorpus(_ target: FuzzTarget) {
        #expect(FuzzDriver.files(under: "\(FuzzTarget.fuzzDirectory)/corpus/\(target.rawValue)").count >= 4)
    }

    /// The malformed table as it is now (the corpus holds a copy from when it was written).
    @Test(arguments: MalformedPackets.rows)
    func malformedRow(_ row: MalformedPackets.Row) throws {
        try WireCheck.check(row.bytes)
        try QueryPathCheck.check(row.bytes)
    }

    /// `FUZZ_WRITE_SEEDS=1 swift test --filter FuzzRegressionTests` rewrites the derived seeds:
    /// the malformed table for `wire` and `query`, and our replies to the query seeds for `wire`.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["FUZZ_WRITE_SEEDS"] == "1"))
    func writeDerivedSeeds() throws {
        let corpus = FuzzTarget.fuzzDirectory + "/corpus"
        for (i, row) in MalformedPackets.rows.enumerated() {
            let slug = String(row.name.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" })
            for t in ["wire", "query"] {
                try Data(row.bytes).write(to: URL(fileURLWithPath: "\(corpus)/\(t)/malformed-\(String(format: "%02d", i))-\(slug)"))
            }
        }
        let processor = QueryProcessor(udpSize: QueryPathCheck.udpSize)
        for path in FuzzDriver.files(under: corpus + "/query") where !path.contains("/malformed-") {
            let query = try #require(FileContents.bytes(path))
            // The first snapshot that answers it (the spec world's names are NXDOMAIN in zones/).
            let replies: [[UInt8]] = QueryPathCheck.snapshots.compactMap {
                guard case .reply(let bytes, _) = processor.respond(to: Array(query), transport: .tcp, snapshot: $0.snapshot) else { return nil }
                return bytes
            }
            guard let reply = replies.first(where: { (try? Message(decoding: $0))?.answers.isEmpty == false }) ?? replies.first else { continue }
            let name = path.split(separator: "/").last!
            try Data(reply).write(to: URL(fileURLWithPath: "\(corpus)/wire/reply-\(name)"))
        }
    }
}
