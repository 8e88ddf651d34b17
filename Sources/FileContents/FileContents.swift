#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file's bytes, read with open/read. Foundation's readers (`FileManager.contents(atPath:)`,
/// `String(contentsOfFile:)`, `Data(contentsOf:)`) leak a 4 KiB buffer on every read of an empty
/// file (swift-corelibs-foundation 6.3, found by the LeakSanitizer run, `make leakcheck`), and the
/// server re-reads files for as long as it runs: the Corefile and its imports (an empty
/// `custom/*.override` is common), `hosts` files, manifests, the ServiceAccount token.
public enum FileContents {
    /// The bytes, or nil when the file cannot be opened or read (errno says why).
    public static func bytes(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var st = stat()
        if fstat(fd, &st) == 0, st.st_size > 0 { out.reserveCapacity(Int(st.st_size)) }
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
        }
    }

    /// The file as UTF-8 text (a leading byte-order mark dropped, as Foundation drops it), or nil
    /// when it cannot be read or is not UTF-8.
    public static func text(_ path: String) -> String? {
        guard let b = bytes(path) else { return nil }
        return String(validating: b.starts(with: [0xEF, 0xBB, 0xBF]) ? b.dropFirst(3) : b[...], as: UTF8.self)
    }
}
