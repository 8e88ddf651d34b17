import FileContents
import Foundation
import Synchronization
import Yams

/// Where the API server is and how to prove who we are: in-cluster (the ServiceAccount's token
/// and CA) or a kubeconfig file, as client-go reads them.
public struct KubeCredentials: Sendable {
    public enum Token: Sendable, Equatable {
        case none
        case literal(String)
        /// Re-read when the file changes: bound ServiceAccount tokens rotate (kubelet rewrites
        /// the file about hourly), and a token read once expires.
        case file(String)
    }

    public var scheme: String
    public var host: String
    public var port: Int
    /// A path prefix when the server URL has one (`https://host/prefix`).
    public var pathPrefix: String = ""
    public var token: Token = .none
    /// PEM bundle of the CAs to trust; nil: the system's.
    public var caPEM: [UInt8]?
    public var insecureSkipTLSVerify = false
    public var clientCertificatePEM: [UInt8]?
    public var clientKeyPEM: [UInt8]?
    /// Where these came from, for logs and /ready.
    public var origin: String

    /// Plain credentials (no token, no TLS material): for tools that never connect.
    package init(scheme: String, host: String, port: Int, origin: String) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.origin = origin
    }

    public var useTLS: Bool { scheme == "https" }
    public var serverURL: String { "\(scheme)://\(host.contains(":") ? "[\(host)]" : host):\(port)\(pathPrefix)" }

    public struct ConfigError: Error, CustomStringConvertible {
        public var description: String
        init(_ d: String) { description = d }
    }

    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// client-go's `rest.InClusterConfig`: KUBERNETES_SERVICE_HOST/PORT, the mounted token and CA.
    public static func inCluster(environment: [String: String] = ProcessInfo.processInfo.environment,
                                 directory: String = serviceAccountDirectory) throws -> KubeCredentials {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], let portText = environment["KUBERNETES_SERVICE_PORT"],
              let port = Int(portText) else {
            throw ConfigError("not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (use --kubeconfig)")
        }
        let tokenPath = directory + "/token"
        guard FileManager.default.isReadableFile(atPath: tokenPath) else {
            throw ConfigError("cannot read the ServiceAccount token \(tokenPath) (is automountServiceAccountToken off?)")
        }
        var c = KubeCredentials(scheme: "https", host: host, port: port, origin: "in-cluster \(host):\(port)")
        c.token = .file(tokenPath)
        c.caPEM = FileContents.bytes(directory + "/ca.crt")
        return c
    }

    /// A bare API URL and no credentials (CoreDNS's `endpoint` without `kubeconfig`: a
    /// `kubectl proxy`, or a server that allows anonymous reads). https trusts the system's CAs.
    public static func endpoint(_ text: String) throws -> KubeCredentials {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty else {
            throw ConfigError("endpoint \(text) is not an http(s) URL")
        }
        var c = KubeCredentials(scheme: scheme, host: host, port: url.port ?? (scheme == "https" ? 443 : 80), origin: "endpoint \(text)")
        let path = url.path
        if !path.isEmpty && path != "/" { c.pathPrefix = path.hasSuffix("/") ? String(path.dropLast()) : path }
        return c
    }

    /// A kubeconfig file: the named context or `current-context`; its cluster's server, CA
    /// (data or file, relative to the kubeconfig) and `insecure-skip-tls-verify`; its user's
    /// token, tokenFile or client certificate and key (data or file).
    public static func kubeconfig(path: String, context wanted: String? = nil) throws -> KubeCredentials {
        guard let text = FileContents.text(path) else {
            throw ConfigError("cannot read kubeconfig \(path)")
        }
        let root: Node
        do {
            guard let n = try Yams.compose(yaml: text) else { throw ConfigError("kubeconfig \(path) is empty") }
            root = n
        } catch let e as ConfigError {
            throw e
        } catch {
            throw ConfigError("kubeconfig \(path): \(error)")
        }
        let base = (path as NSString).deletingLastPathComponent
        func named(_ list: String, _ name: String) -> Node? {
            root[list]?.sequence?.first { $0["name"]?.string == name }
        }
        guard let contextName = wanted ?? root["current-context"]?.string, !contextName.isEmpty else {
            throw ConfigError("kubeconfig \(path) has no current-context (use --context)")
        }
        guard let context = named("contexts", contextName)?["context"] else {
            throw ConfigError("kubeconfig \(path) has no context \(contextName)")
        }
        guard let clusterName = context["cluster"]?.string, let cluster = named("clusters", clusterName)?["cluster"] else {
            throw ConfigError("kubeconfig \(path): context \(contextName) names no known cluster")
        }
        guard let server = cluster["server"]?.string, let url = URLComponents(string: server), let host = url.host,
              let scheme = url.scheme, scheme == "https" || scheme == "http" else {
            throw ConfigError("kubeconfig \(path): cluster \(clusterName) has no usable server URL")
        }
        var c = KubeCredentials(scheme: scheme, host: host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")),
                                port: url.port ?? (scheme == "https" ? 443 : 80),
                                origin: "kubeconfig \(path) context \(contextName)")
        c.pathPrefix = url.path == "/" ? "" : url.path
        c.insecureSkipTLSVerify = cluster["insecure-skip-tls-verify"]?.bool ?? false
        func bytes(_ node: Node?, data: String, file: String) throws -> [UInt8]? {
            if let b64 = node?[data]?.string {
                guard let d = Data(base64Encoded: b64, options: .ignoreUnknownCharacters) else { throw ConfigError("kubeconfig \(path): \(data) is not base64") }
                return [UInt8](d)
            }
            if let f = node?[file]?.string {
                let full = f.hasPrefix("/") ? f : base + "/" + f
                guard let d = FileContents.bytes(full) else { throw ConfigError("kubeconfig \(path): cannot read \(file) \(full)") }
                return d
            }
            return nil
        }
        c.caPEM = try bytes(cluster, data: "certificate-authority-data", file: "certificate-authority")
        if let userName = context["user"]?.string {
            guard let user = named("users", userName)?["user"] else { throw ConfigError("kubeconfig \(path): no user \(userName)") }
            if let t = user["token"]?.string {
                c.token = .literal(t)
            } else if let f = user["tokenFile"]?.string {
                c.token = .file(f.hasPrefix("/") ? f : base + "/" + f)
            }
            c.clientCertificatePEM = try bytes(user, data: "client-certificate-data", file: "client-certificate")
            c.clientKeyPEM = try bytes(user, data: "client-key-data", file: "client-key")
            if user["exec"] != nil || user["auth-provider"] != nil, c.token == .none, c.clientCertificatePEM == nil {
                throw ConfigError("kubeconfig \(path): user \(userName) uses exec or auth-provider plugins, which clusterdns does not run; use a token or client certificate")
            }
        }
        return c
    }
}

/// The bearer token, re-read when its file changes (mtime or size), so a rotated token is used
/// from the next request on.
final class TokenCache: Sendable {
    private struct Read {
        var stamp: (Date, Int)?
        var value: String?
    }
    private let read = Mutex(Read())
    let source: KubeCredentials.Token

    init(_ source: KubeCredentials.Token) { self.source = source }

    func current() -> String? {
        switch source {
        case .none: return nil
        case .literal(let t): return t
        case .file(let path):
            return read.withLock { read in
                let attrs = try? FileManager.default.attributesOfItem(atPath: path)
                let now = ((attrs?[.modificationDate] as? Date) ?? .distantPast, (attrs?[.size] as? Int) ?? -1)
                if read.stamp == nil || read.stamp! != now || read.value == nil {
                    if let t = FileContents.text(path) {
                        read.value = t.trimmingCharacters(in: .whitespacesAndNewlines)
                        read.stamp = now
                    }
                }
                return read.value
            }
        }
    }
}
