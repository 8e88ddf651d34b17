import Foundation
import Synchronization

/// The real `clusterdns` binary, started as a user would, on a free loopback port; and the
/// command-line clients (dig, kdig, drill) run against it.
public final class ServerProcess {
    public let process: Process
    public let port: Int
    public let logFile: String

    public static var binary: String {
        if let env = ProcessInfo.processInfo.environment["CLUSTERDNS_BIN"] { return env }
        // Tests/TestSupport/ServerProcess.swift → package root
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/clusterdns").path
    }

    public static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// Starts `clusterdns serve --listen 127.0.0.1:PORT [--listen [::1]:PORT] args...` and waits
    /// until it answers.
    public init(arguments: [String], ipv6: Bool = false, host: String = "127.0.0.1", port fixedPort: Int? = nil) throws {
        var lastError: Error = CaseFailure(description: "server did not start")
        for _ in 0..<5 {
            let port = fixedPort ?? Int.random(in: 20000...60000)
            let log = NSTemporaryDirectory() + "clusterdns-\(port)-\(UUID().uuidString).log"
            FileManager.default.createFile(atPath: log, contents: nil)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Self.binary)
            var listen = ["--listen", "\(host):\(port)"]
            if ipv6 { listen += ["--listen", "[::1]:\(port)"] }
            p.arguments = ["serve"] + listen + arguments
            p.standardError = FileHandle(forWritingAtPath: log)
            p.standardOutput = FileHandle(forWritingAtPath: log)
            try p.run()
            // Ready when it answers a query (any answer) over UDP.
            for _ in 0..<100 {
                if DNSClient.udp(DNSClient.query("dns-version.cluster.local.", .txt), port: port, host: host, timeout: 0.1) != nil {
                    self.process = p
                    self.port = port
                    self.logFile = log
                    return
                }
                if !p.isRunning { break }
                usleep(50_000)
            }
            p.terminate()
            p.waitUntilExit()
            lastError = CaseFailure(description: "server did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }
        throw lastError
    }

    /// One server per key for the whole test run, stopped when the test process exits: suites
    /// share it instead of paying a start per test.
    public static func shared(_ key: String, _ make: () throws -> ServerProcess) rethrows -> ServerProcess {
        try registry.withLock { servers in
            if let s = servers[key] { return s }
            let s = try make()
            if servers.isEmpty { atexit { ServerProcess.stopAll() } }
            servers[key] = s
            return s
        }
    }

    nonisolated(unsafe) static let registry = Mutex<[String: ServerProcess]>([:])

    static func stopAll() {
        registry.withLock { servers in
            for s in servers.values { s.stop() }
            servers = [:]
        }
    }

    public var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

    /// SIGTERM, then the exit status.
    @discardableResult
    public func stop() -> Int32 {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { process.terminate() }
    }
}

/// Runs a command and returns its standard output, standard error and status.
public func run(_ tool: String, _ args: [String], timeout: Double = 20) throws -> (out: String, err: String, status: Int32) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [tool] + args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self), p.terminationStatus)
}

public func toolExists(_ tool: String) -> Bool {
    (try? run("which", [tool]).status) == 0
}
