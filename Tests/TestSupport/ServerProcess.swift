import Foundation
import Glibc
import Synchronization

/// The real `clusterdns` binary, started as a user would, on a free loopback port; and the
/// command-line clients (dig, kdig, drill) run against it.
public final class ServerProcess {
    public let process: Process
    public let port: Int
    /// The address it listens on.
    public let host: String
    public let logFile: String
    /// Ports of /health, /ready and /metrics (on 127.0.0.1) when started with `http: true`.
    public let httpPorts: (health: Int, ready: Int, metrics: Int)?
    /// Started from a Corefile, whose `health { lameduck }` the test did not choose: `stop()`
    /// sends a second SIGTERM, which cuts the lame duck short.
    let corefile: Bool

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
    /// until it answers. The HTTP endpoints are off unless `http` (then on free loopback ports),
    /// and lame duck is 0 unless the arguments set it, so stopping a test server is quick;
    /// forwarding is off unless the arguments name upstreams.
    /// `waitForDNS: false` returns as soon as the process runs (for servers that are not meant
    /// to answer yet).
    /// `command` comes first: `serve`, or CoreDNS's `-conf PATH` (serve implied).
    public init(arguments: [String], ipv6: Bool = false, host: String = "127.0.0.1", port fixedPort: Int? = nil,
                http: Bool = false, waitForDNS: Bool = true, command: [String] = ["serve"]) throws {
        var lastError: Error = CaseFailure(description: "server did not start")
        for _ in 0..<5 {
            let port = fixedPort ?? Self.freePort()
            let ports = http ? (Self.freePort(), Self.freePort(), Self.freePort()) : nil
            var ops = ["--health-listen", ports.map { "127.0.0.1:\($0.0)" } ?? "off",
                       "--ready-listen", ports.map { "127.0.0.1:\($0.1)" } ?? "off",
                       "--metrics-listen", ports.map { "127.0.0.1:\($0.2)" } ?? "off"]
            // A Corefile says its own lame duck (`health { lameduck }`).
            let corefile = (command + arguments).contains { $0 == "--corefile" || $0 == "-conf" }
            if !arguments.contains("--lameduck") && !corefile { ops += ["--lameduck", "0"] }
            // Forwarding only where a test asks for it: the machine's resolv.conf is not a test input.
            if !arguments.contains(where: { ["--upstream", "--resolv-conf", "--stub"].contains($0) }) { ops += ["--upstream", "off"] }
            let log = NSTemporaryDirectory() + "clusterdns-\(port)-\(UUID().uuidString).log"
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Self.binary)
            var listen = ["--listen", "\(host):\(port)"]
            if ipv6 { listen += ["--listen", "[::1]:\(port)"] }
            p.arguments = command + listen + ops + arguments
            if let preload = ProcessInfo.processInfo.environment["LEAKCHECK_PRELOAD"],
               let reports = ProcessInfo.processInfo.environment["LEAKCHECK_DIR"] {
                // `make leakcheck`: the server runs under LeakSanitizer, which writes a report
                // into LEAKCHECK_DIR when it finds a leak at exit (after SIGTERM's clean shutdown).
                var env = ProcessInfo.processInfo.environment
                env["LD_PRELOAD"] = preload
                env["LSAN_OPTIONS"] = "log_path=\(reports)/clusterdns:exitcode=23"
                p.environment = env
            }
            p.standardError = FileHandle(forWritingAtPath: log)
            p.standardOutput = FileHandle(forWritingAtPath: log)
            try p.run()
            // Ready when it answers a query (any answer) over UDP, or its /health answers.
            for _ in 0..<100 {
                let up = waitForDNS
                    ? DNSClient.udp(DNSClient.query("dns-version.cluster.local.", .txt), port: port, host: host, timeout: 0.1) != nil
                    : ports.map { HTTPGet.get(port: $0.0, path: "/health")?.status == 200 } ?? p.isRunning
                if up {
                    self.process = p
                    self.port = port
                    self.host = host
                    self.logFile = log
                    self.httpPorts = ports
                    self.corefile = corefile
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

    /// Ports handed out in this test process: the server binds its DNS port with SO_REUSEPORT,
    /// so two servers given the same port would both start and share its queries.
    private static let handedOut = Mutex<Set<Int>>([])

    /// A loopback port no earlier server of this process got and no socket holds now (a bind
    /// without SO_REUSEPORT fails beside one with it, so servers of other processes count).
    public static func freePort() -> Int {
        while true {
            let port = Int.random(in: 20000...60000)
            guard handedOut.withLock({ $0.insert(port).inserted }) else { continue }
            if [SOCK_DGRAM, SOCK_STREAM].allSatisfy({ bindable(port, Int32($0.rawValue)) }) { return port }
        }
    }

    private static func bindable(_ port: Int, _ type: Int32) -> Bool {
        let fd = socket(AF_INET, type, 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
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

    static let registry = Mutex<[String: ServerProcess]>([:])

    static func stopAll() {
        registry.withLock { servers in
            for s in servers.values { s.stop() }
            servers = [:]
        }
    }

    public var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

    /// GET on one of the HTTP endpoints.
    public func get(_ path: String) -> HTTPGet.Reply? {
        guard let ports = httpPorts else { return nil }
        let port = path == "/health" ? ports.health : path == "/ready" ? ports.ready : ports.metrics
        return HTTPGet.get(port: port, path: path)
    }

    /// Sends a signal without waiting.
    public func signal(_ sig: Int32) {
        kill(process.processIdentifier, sig)
    }

    /// SIGTERM, then the exit status.
    @discardableResult
    public func stop() -> Int32 {
        if process.isRunning { process.terminate() }
        if corefile {
            usleep(100_000)
            if process.isRunning { process.terminate() }
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Waits for the process to end by itself; its exit status.
    public func waitForExit() -> Int32 {
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
