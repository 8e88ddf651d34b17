import Foundation
import Testing
import TestSupport
import Yams

/// Issue 4, `deploy/`: the manifests say what the issue asks, checked on the rendered
/// kustomization (`kubectl kustomize`, which works offline; `kubectl apply --dry-run=client`
/// needs an API server for discovery) or, without kubectl, on the files themselves.
@Suite struct DeployManifestTests {
    static let dir = ServerProcess.repositoryRoot + "/deploy"

    static func objects() throws -> [Node] {
        var text: String
        if toolExists("kubectl") {
            let r = try run("kubectl", ["kustomize", dir])
            #expect(r.status == 0, "\(r.err)")
            text = r.out
        } else {
            text = try ["rbac.yaml", "deployment.yaml", "service.yaml"].map { try String(contentsOfFile: dir + "/" + $0, encoding: .utf8) }
                .joined(separator: "\n---\n")
        }
        return try Yams.compose_all(yaml: text).map { $0 }
    }

    static func find(_ objs: [Node], _ kind: String, _ name: String) -> Node? {
        objs.first { $0["kind"]?.string == kind && $0["metadata"]?["name"]?.string == name }
    }

    @Test func deploymentIsWhatAClusterDNSNeeds() throws {
        let objs = try Self.objects()
        let d = try #require(Self.find(objs, "Deployment", "clusterdns"))
        #expect(d["metadata"]?["namespace"]?.string == "kube-system")
        let spec = try #require(d["spec"])
        #expect(spec["replicas"]?.int == 2)
        let pod = try #require(spec["template"]?["spec"])
        #expect(spec["template"]?["metadata"]?["labels"]?["k8s-app"]?.string == "kube-dns")
        #expect(pod["priorityClassName"]?.string == "system-cluster-critical")
        #expect(pod["dnsPolicy"]?.string == "Default")
        #expect(pod["serviceAccountName"]?.string == "clusterdns")
        #expect(pod["affinity"]?["podAntiAffinity"] != nil)
        #expect(pod["securityContext"]?["runAsNonRoot"]?.bool == true)
        let c = try #require(pod["containers"]?.sequence?.first)
        let sc = try #require(c["securityContext"])
        #expect(sc["readOnlyRootFilesystem"]?.bool == true)
        #expect(sc["allowPrivilegeEscalation"]?.bool == false)
        #expect(sc["capabilities"]?["drop"]?.sequence?.map { $0.string } == ["ALL"])
        #expect(sc["capabilities"]?["add"]?.sequence?.map { $0.string } == ["NET_BIND_SERVICE"])
        #expect(c["livenessProbe"]?["httpGet"]?["path"]?.string == "/health")
        #expect(c["livenessProbe"]?["httpGet"]?["port"]?.int == 8080)
        #expect(c["readinessProbe"]?["httpGet"]?["path"]?.string == "/ready")
        #expect(c["readinessProbe"]?["httpGet"]?["port"]?.int == 8181)
        #expect(c["resources"]?["requests"]?["memory"] != nil && c["resources"]?["limits"]?["memory"] != nil)

        // The arguments are ones the image's entrypoint (`clusterdns serve`) takes: outside a
        // cluster it gets as far as looking for the ServiceAccount and says so.
        let args = (c["args"]?.sequence ?? []).compactMap(\.string)
        let dockerfile = try String(contentsOfFile: ServerProcess.repositoryRoot + "/Dockerfile", encoding: .utf8)
        #expect(dockerfile.contains("ENTRYPOINT [\"clusterdns\", \"serve\"]"))
        #expect(args.first != "serve" && args.contains("--kubernetes"))
        let r = try run(ServerProcess.binary, ["serve"] + args + ["--health-listen", "off", "--ready-listen", "off", "--metrics-listen", "off",
                                                    "--listen", "127.0.0.1:0"])
        #expect(r.status != 0)
        #expect(r.err.contains("KUBERNETES_SERVICE_HOST"), "\(r.err)")
    }

    @Test func kubeDNSServiceAndRBAC() throws {
        let objs = try Self.objects()
        let svc = try #require(Self.find(objs, "Service", "kube-dns"))
        #expect(svc["metadata"]?["namespace"]?.string == "kube-system")
        #expect(svc["metadata"]?["labels"]?["k8s-app"]?.string == "kube-dns")
        #expect(svc["spec"]?["selector"]?["k8s-app"]?.string == "kube-dns")
        let ports = (svc["spec"]?["ports"]?.sequence ?? []).map { "\($0["name"]?.string ?? "") \($0["port"]?.int ?? 0)/\($0["protocol"]?.string ?? "")" }
        #expect(ports == ["dns 53/UDP", "dns-tcp 53/TCP", "metrics 9153/TCP"])

        #expect(Self.find(objs, "ServiceAccount", "clusterdns")?["metadata"]?["namespace"]?.string == "kube-system")
        let role = try #require(Self.find(objs, "ClusterRole", "system:clusterdns"))
        var rules: [String] = []
        for rule in role["rules"]?.sequence ?? [] {
            let verbs = (rule["verbs"]?.sequence ?? []).compactMap(\.string).sorted()
            #expect(verbs == ["list", "watch"])
            for g in rule["apiGroups"]?.sequence ?? [] {
                for r in rule["resources"]?.sequence ?? [] { rules.append("\(g.string ?? "")/\(r.string ?? "")") }
            }
        }
        // Exactly what the watcher reads (KubeResource without pods).
        #expect(rules.sorted() == ["/namespaces", "/services", "discovery.k8s.io/endpointslices"])
        let binding = try #require(Self.find(objs, "ClusterRoleBinding", "system:clusterdns"))
        #expect(binding["subjects"]?.sequence?.first?["name"]?.string == "clusterdns")
    }
}
