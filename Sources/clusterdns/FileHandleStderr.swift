#if canImport(Glibc)
import Glibc
#endif

enum FileHandleStderr {
    /// write(2) on fd 2: no shared C `FILE*` to race on.
    static func write(_ s: String) {
        var s = s
        s.withUTF8 { buf in _ = Glibc.write(2, buf.baseAddress, buf.count) }
    }
}
