import Foundation
import Testing
import TestSupport

/// Issue 3, reload: changes under the directory become a new snapshot within a second; a file
/// that breaks keeps its last good content and the error is logged as file:line: message.
@Suite struct ReloadTests {
    func answer(_ port: Int, _ name: String) throws -> String {
        try run("dig", ["@127.0.0.1", "-p", "\(port)", "+short", "+time=1", "+tries=1", name]).out
    }

    /// Polls for up to 3 s (the promise is 1 s; slack for a loaded CI machine).
    /// Waits for the server's log to say `text` (the reload that failed has run), up to 5 s.
    func logged(_ server: ServerProcess, _ text: String) -> Bool {
        for _ in 0..<250 where !server.log.contains(text) { usleep(20_000) }
        return server.log.contains(text)
    }

    func eventually(_ port: Int, _ name: String, _ expected: String) throws -> Bool {
        for _ in 0..<30 {
            if try answer(port, name) == expected { return true }
            usleep(100_000)
        }
        return false
    }

    @Test func editAddBreakRemove() throws {
        let dir = try Fixtures.directory(copyingExample: false, extra: ["a.yaml": Self.service("alpha", "10.96.50.1")])
        let server = try ServerProcess(arguments: ["--zones", dir])
        defer { server.stop() }
        #expect(try answer(server.port, "alpha.default.svc.cluster.local") == "10.96.50.1\n")

        // Edit.
        try Self.service("alpha", "10.96.50.2").write(toFile: dir + "/a.yaml", atomically: true, encoding: .utf8)
        #expect(try eventually(server.port, "alpha.default.svc.cluster.local", "10.96.50.2\n"))

        // Add, in a subdirectory.
        try FileManager.default.createDirectory(atPath: dir + "/more", withIntermediateDirectories: true)
        try Self.service("beta", "10.96.50.3").write(toFile: dir + "/more/b.yml", atomically: true, encoding: .utf8)
        #expect(try eventually(server.port, "beta.default.svc.cluster.local", "10.96.50.3\n"))

        // Break: the last good content keeps serving; the log says where.
        try "apiVersion: v1\nkind: Service\nmetadata: {name: alpha\n  bad: [".write(toFile: dir + "/a.yaml", atomically: true, encoding: .utf8)
        #expect(logged(server, "\(dir)/a.yaml:"), "the reload's error, with the file")
        #expect(try answer(server.port, "alpha.default.svc.cluster.local") == "10.96.50.2\n")

        // Fix it again.
        try Self.service("alpha", "10.96.50.4").write(toFile: dir + "/a.yaml", atomically: true, encoding: .utf8)
        #expect(try eventually(server.port, "alpha.default.svc.cluster.local", "10.96.50.4\n"))

        // Remove.
        try FileManager.default.removeItem(atPath: dir + "/more/b.yml")
        #expect(try eventually(server.port, "beta.default.svc.cluster.local", ""))
    }

    /// A zone file edited to hold a second SOA is a load error like any other (libldns 1.8.3
    /// would read freed memory on it, issue 14): the old zone keeps serving, the log says where.
    @Test func secondSOAKeepsTheOldZone() throws {
        let soa = "@ IN SOA ns hostmaster 1 3600 600 86400 60\n"
        let dir = try Fixtures.directory(copyingExample: false, extra: ["two.test.zone": soa + "www IN A 192.0.2.1\n"])
        let server = try ServerProcess(arguments: ["--zones", dir])
        defer { server.stop() }
        #expect(try answer(server.port, "www.two.test") == "192.0.2.1\n")

        try (soa + soa + "www IN A 192.0.2.2\n").write(toFile: dir + "/two.test.zone", atomically: true, encoding: .utf8)
        #expect(logged(server, "\(dir)/two.test.zone:2: a second SOA record"))
        #expect(try answer(server.port, "www.two.test") == "192.0.2.1\n")

        try (soa + "www IN A 192.0.2.3\n").write(toFile: dir + "/two.test.zone", atomically: true, encoding: .utf8)
        #expect(try eventually(server.port, "www.two.test", "192.0.2.3\n"))
    }

    static func service(_ name: String, _ ip: String) -> String {
        "apiVersion: v1\nkind: Service\nmetadata: {name: \(name), namespace: default}\nspec: {clusterIP: \(ip)}\n"
    }
}
