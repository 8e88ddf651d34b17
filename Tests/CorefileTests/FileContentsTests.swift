import FileContents
import Foundation
import Testing

/// The files the server re-reads while it runs (the Corefile and its imports, `hosts` files,
/// manifests, the token) are read with `FileContents`: Foundation's readers leak 4 KiB on every
/// read of an empty file, and an empty `custom/*.override` import is read every reload interval.
@Suite struct FileContentsTests {
    func temporary(_ bytes: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "file-\(UUID().uuidString)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func wholeFilesEmptyOrLarge() throws {
        #expect(FileContents.bytes(try temporary([])) == [])
        #expect(FileContents.text(try temporary([])) == "")
        let large = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        #expect(FileContents.bytes(try temporary(large)) == large)
    }

    @Test func textIsUTF8WithoutItsByteOrderMark() throws {
        #expect(FileContents.text(try temporary([0xEF, 0xBB, 0xBF] + Array(".:53 {\n}\n".utf8))) == ".:53 {\n}\n")
        #expect(FileContents.text(try temporary([0x66, 0xFF, 0x66])) == nil, "not UTF-8")
    }

    @Test func missingOrUnreadable() {
        #expect(FileContents.bytes("/nonexistent/file") == nil)
        #expect(FileContents.bytes(NSTemporaryDirectory()) == nil, "a directory cannot be read")
    }
}
