import FileContents
import Foundation
#if FUZZING
import CFuzzer
#endif

/// A property that failed on one input. The fuzzers turn it into an abort (libFuzzer saves the
/// input); the regression test records it as a test failure.
public struct CheckFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

@inline(__always)
func require(_ ok: Bool, _ what: @autoclosure () -> String) throws {
    if !ok { throw CheckFailure(what()) }
}

/// The fuzz targets of issue 14, by the name their corpus and regression folders use.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case wire, query, zonefile, manifest, watch, index

    /// Runs one input through the target's checks. Throws `CheckFailure` when a property fails;
    /// a crash (trap, sanitizer report) is a failure too, and ends the process.
    public func check(_ bytes: [UInt8]) throws {
        switch self {
        case .wire: try WireCheck.check(bytes)
        case .query: try QueryPathCheck.check(bytes)
        case .zonefile: try ZoneFileCheck.check(bytes)
        case .manifest: try ManifestCheck.check(bytes)
        case .watch: try WatchCheck.check(bytes)
        case .index: try IndexCheck.check(bytes)
        }
    }

    /// `Fuzz/` in this checkout: the corpus and regression folders live below it.
    public static let fuzzDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path
    public static let repositoryRoot = URL(fileURLWithPath: fuzzDirectory).deletingLastPathComponent().path

    /// Every file of `Fuzz/corpus/<target>` and `Fuzz/regressions/<target>`, sorted.
    public var savedInputs: [String] {
        ["corpus", "regressions"].flatMap { FuzzDriver.files(under: "\(FuzzTarget.fuzzDirectory)/\($0)/\(rawValue)") }
    }
}

/// What the fuzz executables run: built with `-DFUZZING` (and `-sanitize=fuzzer`), libFuzzer's
/// driver with the target's checks; built normally, a replay of files through the same checks.
public enum FuzzDriver {
    public static func main(_ target: FuzzTarget) -> Never {
        #if FUZZING
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        let status: Int32
        switch target {
        case .wire: status = LLVMFuzzerRunDriver(&argc, &argv) { FuzzDriver.fuzzOne(.wire, $0, $1) }
        case .query: status = LLVMFuzzerRunDriver(&argc, &argv) { FuzzDriver.fuzzOne(.query, $0, $1) }
        case .zonefile: status = LLVMFuzzerRunDriver(&argc, &argv) { FuzzDriver.fuzzOne(.zonefile, $0, $1) }
        case .manifest: status = LLVMFuzzerRunDriver(&argc, &argv) { FuzzDriver.fuzzOne(.manifest, $0, $1) }
        case .watch: status = LLVMFuzzerRunDriver(&argc, &argv) { FuzzDriver.fuzzOne(.watch, $0, $1) }
        case .index: status = LLVMFuzzerRunDriver(&argc, &argv) { FuzzDriver.fuzzOne(.index, $0, $1) }
        }
        exit(status)
        #else
        replay(target, Array(CommandLine.arguments.dropFirst()))
        #endif
    }

    public static func fuzzOne(_ target: FuzzTarget, _ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
        do {
            try target.check(bytes)
        } catch {
            FileHandle.standardError.write(Data("fuzz \(target.rawValue): check failed: \(error)\n".utf8))
            abort()
        }
        return 0
    }

    /// Runs each file (directories: every file below them) and prints the failures. Exits 1 when
    /// any input fails a check.
    public static func replay(_ target: FuzzTarget, _ arguments: [String]) -> Never {
        let paths = arguments.isEmpty ? target.savedInputs : arguments.flatMap { files(under: $0) }
        var failures = 0
        for path in paths {
            guard let data = FileContents.bytes(path) else {
                print("\(path): cannot read")
                failures += 1
                continue
            }
            do {
                try target.check(data)
            } catch {
                print("\(path): \(error)")
                failures += 1
            }
        }
        print("\(target.rawValue): \(paths.count) input(s), \(failures) failure(s)")
        exit(failures == 0 ? 0 : 1)
    }

    /// A file, or every regular file below a directory (hidden ones skipped), sorted.
    public static func files(under path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [] }
        guard isDirectory.boolValue else { return [path] }
        let names = (FileManager.default.subpaths(atPath: path) ?? []).filter { !$0.split(separator: "/").contains { $0.hasPrefix(".") } }
        return names.map { "\(path)/\($0)" }.filter {
            var d: ObjCBool = false
            return FileManager.default.fileExists(atPath: $0, isDirectory: &d) && !d.boolValue
        }.sorted()
    }
}
