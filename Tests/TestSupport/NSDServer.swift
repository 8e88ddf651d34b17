import Foundation

/// NSD (Debian `nsd`) serving zone text on a loopback port: a real upstream for the forwarder's
/// tests. Stopped by `stop()`.
public final class NSDServer {
    public let port: Int
    let process: Process
    let directory: String

    /// `zones`: origin → RFC 1035 zone text.
    public init(zones: [String: String]) throws {
        directory = NSTemporaryDirectory() + "nsd-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var lastError: Error = CaseFailure(description: "nsd did not start")
        for _ in 0..<5 {
            let port = ServerProcess.freePort()
            var conf = """
            server:
              ip-address: 127.0.0.1@\(port)
              server-count: 1
              username: ""
              chroot: ""
              zonesdir: "\(directory)"
              database: ""
              zonelistfile: "\(directory)/zone.list"
              xfrdfile: "\(directory)/xfrd.state"
              pidfile: "\(directory)/nsd.pid"
              logfile: "\(directory)/nsd.log"
              verbosity: 0
            remote-control:
              control-enable: no

            """
            for (origin, text) in zones {
                try text.write(toFile: "\(directory)/\(origin).zone", atomically: true, encoding: .utf8)
                conf += "zone:\n  name: \(origin)\n  zonefile: \(origin).zone\n"
            }
            try conf.write(toFile: "\(directory)/nsd.conf", atomically: true, encoding: .utf8)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/nsd")
            p.arguments = ["-d", "-c", "\(directory)/nsd.conf"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            let origin = zones.keys.first ?? "."
            for _ in 0..<50 {
                if let out = try? run("dig", ["@127.0.0.1", "-p", "\(port)", "+time=1", "+tries=1", "+short", origin, "SOA"]).out, !out.isEmpty {
                    self.port = port
                    process = p
                    return
                }
                if !p.isRunning { break }
                Thread.sleep(forTimeInterval: 0.1)
            }
            p.terminate()
            p.waitUntilExit()
            lastError = CaseFailure(description: "nsd did not answer on port \(port)")
        }
        throw lastError
    }

    public func stop() {
        // NSD forks its server processes: end every process started with this configuration.
        _ = try? run("pkill", ["-KILL", "-f", "\(directory)/nsd.conf"])
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
