import Foundation
import KubeAPI
import Testing
import TestSupport
import Yams

/// Issues 4 and 15, `deploy/`: the manifests say what the issues ask, checked on the rendered
/// kustomization (`kubectl kustomize`, which works offline; `kubectl apply --dry-run=client`
/// needs an API server for discovery) or, without kubectl, on the files themselves. The
/// set-image path is checked by patching kubeadm's own `coredns` Deployment offline
/// (`kubectl set image --local`, `kubectl patch --local`, and the kustomize component).
@Suite struct DeployManifestTests {
    static let root = ServerProcess.repositoryRoot
    static let dir = root + "/deploy"
    static let kubeadm = root + "/Tests/Fixtures/kubeadm-coredns"
    static let kustomized = ["rbac.yaml", "deployment.yaml", "pdb.yaml", "autoscaler.yaml"]

    static func objects() throws -> [Node] {
        var text: String
        if toolExists("kubectl") {
            let r = try run("kubectl", ["kustomize", dir])
            #expect(r.status == 0, "\(r.err)")
            text = r.out
        } else {
            text = try kustomized.map { try String(contentsOfFile: dir + "/" + $0, encoding: .utf8) }.joined(separator: "\n---\n")
        }
        return try Yams.compose_all(yaml: text).map { $0 }
    }

    static func file(_ path: String) throws -> [Node] {
        try Yams.compose_all(yaml: String(contentsOfFile: path, encoding: .utf8)).map { $0 }
    }

    static func find(_ objs: [Node], _ kind: String, _ name: String) -> Node? {
        objs.first { $0["kind"]?.string == kind && $0["metadata"]?["name"]?.string == name }
    }

    static func strings(_ n: Node?) -> [String] { (n?.sequence ?? []).compactMap(\.string) }

    /// A node in one spelling whatever its YAML style: mappings with sorted keys, scalars quoted.
    static func canonical(_ n: Node?) -> String {
        guard let n else { return "~" }
        if let m = n.mapping { return "{" + m.map { canonical($0.key) + ":" + canonical($0.value) }.sorted().joined(separator: ",") + "}" }
        if let s = n.sequence { return "[" + s.map { canonical($0) }.joined(separator: ",") + "]" }
        return (n.string ?? "").debugDescription
    }

    /// A JSON text with its keys sorted, to compare parameters however they are spelt.
    static func canonicalJSON(_ text: String) throws -> String {
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    // MARK: RBAC, evaluated as the API server would for a ServiceAccount

    struct Permission: CustomStringConvertible {
        var group: String, resource: String, verb: String
        /// nil: cluster-wide (a cluster-scoped resource, or every namespace).
        var namespace: String?
        var description: String { "\(verb) \(group.isEmpty ? "core" : group)/\(resource)\(namespace.map { " in \($0)" } ?? " cluster-wide")" }
    }

    static func ruleAllows(_ rule: Node, _ p: Permission) -> Bool {
        func has(_ key: String, _ value: String) -> Bool {
            let v = strings(rule[key]); return v.contains(value) || v.contains("*")
        }
        return has("apiGroups", p.group) && has("resources", p.resource) && has("verbs", p.verb)
    }

    /// Whether the objects grant `p` to ServiceAccount `namespace/name` through their
    /// ClusterRoleBindings (anywhere) or RoleBindings (in their own namespace only).
    static func allowed(_ objs: [Node], serviceAccount name: String, in namespace: String, _ p: Permission) -> Bool {
        for b in objs where ["ClusterRoleBinding", "RoleBinding"].contains(b["kind"]?.string ?? "") {
            let isSubject = (b["subjects"]?.sequence ?? []).contains {
                $0["kind"]?.string == "ServiceAccount" && $0["name"]?.string == name && $0["namespace"]?.string == namespace
            }
            guard isSubject, let ref = b["roleRef"], let refKind = ref["kind"]?.string, let refName = ref["name"]?.string else { continue }
            if b["kind"]?.string == "RoleBinding" {
                // Only within the binding's namespace, never for cluster-wide access.
                guard let bns = b["metadata"]?["namespace"]?.string, p.namespace == bns else { continue }
            }
            let role = objs.first {
                $0["kind"]?.string == refKind && $0["metadata"]?["name"]?.string == refName
                    && (refKind == "ClusterRole" || $0["metadata"]?["namespace"]?.string == b["metadata"]?["namespace"]?.string)
            }
            if let role, (role["rules"]?.sequence ?? []).contains(where: { ruleAllows($0, p) }) { return true }
        }
        return false
    }

    // MARK: The clusterdns Deployment

    @Test func deploymentIsWhatAClusterDNSNeeds() throws {
        let objs = try Self.objects()
        let d = try #require(Self.find(objs, "Deployment", "clusterdns"))
        #expect(d["metadata"]?["namespace"]?.string == "kube-system")
        let spec = try #require(d["spec"])
        // The autoscaler owns the replica count: a value here would be put back by every apply.
        #expect(spec["replicas"] == nil)
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
        #expect(Self.strings(sc["capabilities"]?["drop"]) == ["ALL"])
        #expect(Self.strings(sc["capabilities"]?["add"]) == ["NET_BIND_SERVICE"])
        #expect(c["livenessProbe"]?["httpGet"]?["path"]?.string == "/health")
        #expect(c["livenessProbe"]?["httpGet"]?["port"]?.int == 8080)
        #expect(c["readinessProbe"]?["httpGet"]?["path"]?.string == "/ready")
        #expect(c["readinessProbe"]?["httpGet"]?["port"]?.int == 8181)
        #expect(c["resources"]?["requests"]?["memory"] != nil && c["resources"]?["limits"]?["memory"] != nil)

        // The pod's user is the image's, so files and policies agree whichever sets it.
        let user = try Self.dockerfileUser()
        #expect(pod["securityContext"]?["runAsUser"]?.int == user.uid)
        #expect(pod["securityContext"]?["runAsGroup"]?.int == user.gid)

        // The arguments are ones the image's entrypoint (`clusterdns serve`) takes: outside a
        // cluster it gets as far as looking for the ServiceAccount and says so.
        let args = Self.strings(c["args"])
        let dockerfile = try String(contentsOfFile: Self.root + "/Dockerfile", encoding: .utf8)
        #expect(dockerfile.contains("ENTRYPOINT [\"clusterdns\", \"serve\"]"))
        #expect(args.first != "serve" && args.contains("--kubernetes"))
        let r = try run(ServerProcess.binary, ["serve"] + args + ["--health-listen", "off", "--ready-listen", "off", "--metrics-listen", "off",
                                                    "--listen", "127.0.0.1:0"])
        #expect(r.status != 0)
        #expect(r.err.contains("KUBERNETES_SERVICE_HOST"), "\(r.err)")
    }

    @Test func kubeDNSServiceAndRBAC() throws {
        let objs = try Self.objects()
        // The Service is outside the kustomization, so `kubectl delete -k deploy/` (the rollback)
        // can never delete the cluster's DNS address.
        #expect(!objs.contains { $0["kind"]?.string == "Service" })
        let svc = try #require(Self.find(try Self.file(Self.dir + "/service.yaml"), "Service", "kube-dns"))
        #expect(svc["metadata"]?["namespace"]?.string == "kube-system")
        #expect(svc["metadata"]?["labels"]?["k8s-app"]?.string == "kube-dns")
        #expect(svc["spec"]?["selector"]?["k8s-app"]?.string == "kube-dns")
        let ports = (svc["spec"]?["ports"]?.sequence ?? []).map { "\($0["name"]?.string ?? "") \($0["port"]?.int ?? 0)/\($0["protocol"]?.string ?? "")" }
        #expect(ports == ["dns 53/UDP", "dns-tcp 53/TCP", "metrics 9153/TCP"])
        let d = try #require(Self.find(objs, "Deployment", "clusterdns"))
        #expect(d["spec"]?["template"]?["metadata"]?["labels"]?["k8s-app"]?.string == "kube-dns")

        #expect(Self.find(objs, "ServiceAccount", "clusterdns")?["metadata"]?["namespace"]?.string == "kube-system")
        let role = try #require(Self.find(objs, "ClusterRole", "system:clusterdns"))
        var rules: [String] = []
        for rule in role["rules"]?.sequence ?? [] {
            #expect(Self.strings(rule["verbs"]).sorted() == ["list", "watch"])
            for g in Self.strings(rule["apiGroups"]) {
                for r in Self.strings(rule["resources"]) { rules.append("\(g)/\(r)") }
            }
        }
        // Exactly what the watcher reads (KubeResource without pods).
        #expect(rules.sorted() == ["/namespaces", "/services", "discovery.k8s.io/endpointslices"])
        let binding = try #require(Self.find(objs, "ClusterRoleBinding", "system:clusterdns"))
        #expect(binding["subjects"]?.sequence?.first?["name"]?.string == "clusterdns")
    }

    /// Every resource the watcher can list and watch is allowed by deploy/'s roles (pods by
    /// pods-rbac.yaml, the only case that reads them) and by kubeadm's `system:coredns`, which
    /// the set-image path runs under: clusterdns needs no RBAC of its own there.
    @Test func everyWatchedResourceIsAllowedByBothRoles() throws {
        let ours = try Self.objects() + Self.file(Self.dir + "/pods-rbac.yaml")
        let coredns = try Self.file(Self.kubeadm + "/clusterrole.yaml") + [Yams.compose(yaml: """
            apiVersion: rbac.authorization.k8s.io/v1
            kind: ClusterRoleBinding
            metadata: {name: "system:coredns"}
            roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
            subjects: [{kind: ServiceAccount, name: coredns, namespace: kube-system}]
            """)!]
        let kubeadmDeployment = try #require(Self.find(try Self.file(Self.kubeadm + "/deployment.yaml"), "Deployment", "coredns"))
        #expect(kubeadmDeployment["spec"]?["template"]?["spec"]?["serviceAccountName"]?.string == "coredns")
        #expect(KubeResource.allCases.count == 4)
        for r in KubeResource.allCases {
            // The path the watcher requests names the group and resource the rule must.
            #expect(r.path.hasSuffix("/" + r.rawValue) && (r.apiGroup.isEmpty ? r.path.hasPrefix("/api/v1/") : r.path.hasPrefix("/apis/\(r.apiGroup)/")))
            for verb in ["list", "watch"] {
                let p = Permission(group: r.apiGroup, resource: r.rawValue, verb: verb, namespace: nil)
                #expect(Self.allowed(ours, serviceAccount: "clusterdns", in: "kube-system", p), "deploy/ does not allow \(p)")
                #expect(Self.allowed(coredns, serviceAccount: "coredns", in: "kube-system", p), "system:coredns does not allow \(p)")
            }
        }
        // And pods only through the optional file.
        let pods = Permission(group: "", resource: "pods", verb: "list", namespace: nil)
        #expect(!Self.allowed(try Self.objects(), serviceAccount: "clusterdns", in: "kube-system", pods))
    }

    // MARK: Availability: disruption budget and spread

    @Test func disruptionBudgetLetsOnePodGoAtATime() throws {
        let objs = try Self.objects()
        let pdb = try #require(Self.find(objs, "PodDisruptionBudget", "clusterdns"))
        #expect(pdb["apiVersion"]?.string == "policy/v1")
        #expect(pdb["metadata"]?["namespace"]?.string == "kube-system")
        #expect(pdb["spec"]?["maxUnavailable"]?.int == 1)
        #expect(pdb["spec"]?["minAvailable"] == nil)
        // It selects the clusterdns pods, and only them: not `k8s-app: kube-dns`, which CoreDNS's
        // pods carry too (a pod under two budgets cannot be evicted).
        let selector = try #require(pdb["spec"]?["selector"]?["matchLabels"]?.mapping)
        let labels = try #require(Self.find(objs, "Deployment", "clusterdns")?["spec"]?["template"]?["metadata"]?["labels"]?.mapping)
        #expect(!selector.isEmpty)
        for (k, v) in selector { #expect(labels[k] == v, "\(k)") }
        #expect(selector["k8s-app"] == nil)
        #expect(pdb["spec"]?["selector"]?["matchExpressions"] == nil)
    }

    @Test func podsSpreadOverNodesAndZones() throws {
        let objs = try Self.objects()
        let tmpl = try #require(Self.find(objs, "Deployment", "clusterdns")?["spec"]?["template"])
        let labels = try #require(tmpl["metadata"]?["labels"]?.mapping)
        let constraints = tmpl["spec"]?["topologySpreadConstraints"]?.sequence ?? []
        var when: [String: String] = [:]
        for c in constraints {
            let key = try #require(c["topologyKey"]?.string)
            when[key] = c["whenUnsatisfiable"]?.string
            #expect(c["maxSkew"]?.int == 1, "\(key)")
            // Cordoned and tainted nodes are not domains, so a drain cannot hold a pod back.
            #expect(c["nodeTaintsPolicy"]?.string == "Honor", "\(key)")
            #expect(Self.strings(c["matchLabelKeys"]) == ["pod-template-hash"], "\(key)")
            let selector = try #require(c["labelSelector"]?["matchLabels"]?.mapping)
            #expect(!selector.isEmpty)
            for (k, v) in selector { #expect(labels[k] == v, "\(key) \(k)") }
        }
        #expect(when == ["kubernetes.io/hostname": "DoNotSchedule",
                         // Soft, so a single-zone cluster still schedules.
                         "topology.kubernetes.io/zone": "ScheduleAnyway"])
    }

    // MARK: The cluster-proportional-autoscaler

    @Test func autoscalerScalesClusterDNSAsKubeDNSAutoscalerDoes() throws {
        let objs = try Self.objects()
        let d = try #require(Self.find(objs, "Deployment", "clusterdns-autoscaler"))
        #expect(d["metadata"]?["namespace"]?.string == "kube-system")
        let pod = try #require(d["spec"]?["template"]?["spec"])
        #expect(pod["priorityClassName"]?.string == "system-cluster-critical")
        let c = try #require(pod["containers"]?.sequence?.first)
        let image = try #require(c["image"]?.string)
        #expect(image.hasPrefix("registry.k8s.io/cpa/cluster-proportional-autoscaler:v"), "\(image)")
        #expect(image.range(of: #":v\d+\.\d+\.\d+$"#, options: .regularExpression) != nil, "a release tag, not latest: \(image)")
        #expect(c["securityContext"]?["readOnlyRootFilesystem"]?.bool == true)
        #expect(c["securityContext"]?["allowPrivilegeEscalation"]?.bool == false)
        #expect(pod["securityContext"]?["runAsNonRoot"]?.bool == true)

        let command = Self.strings(c["command"]) + Self.strings(c["args"])
        #expect(command.first == "/cluster-proportional-autoscaler")
        func flag(_ name: String) -> String? {
            command.first { $0.hasPrefix("--\(name)=") }.map { String($0.dropFirst(name.count + 3)) }
        }
        #expect(flag("namespace") == "kube-system")
        #expect(flag("target") == "deployment/clusterdns")
        #expect(Self.find(objs, "Deployment", "clusterdns")?["metadata"]?["namespace"]?.string == flag("namespace"))
        #expect(flag("logtostderr") == "true")  // nothing written under the read-only root

        // kube-dns-autoscaler's linear parameters, the same in --default-params and the ConfigMap.
        let expected = #"{"coresPerReplica":256,"nodesPerReplica":16,"preventSinglePointFailure":true,"includeUnschedulableNodes":true}"#
        let defaults = try #require(flag("default-params"))
        #expect(try Self.canonicalJSON(defaults) == Self.canonicalJSON(#"{"linear":\#(expected)}"#))
        let configMap = try #require(flag("configmap"))
        let cm = try #require(Self.find(objs, "ConfigMap", configMap))
        #expect(cm["metadata"]?["namespace"]?.string == "kube-system")
        let linear = try #require(cm["data"]?["linear"]?.string)
        #expect(try Self.canonicalJSON(linear) == Self.canonicalJSON(expected))

        // What it calls, and nothing wider: nodes anywhere; scale and its ConfigMap in kube-system.
        let sa = try #require(pod["serviceAccountName"]?.string)
        #expect(Self.find(objs, "ServiceAccount", sa)?["metadata"]?["namespace"]?.string == "kube-system")
        let needed: [Permission] = ["list", "watch"].map { Permission(group: "", resource: "nodes", verb: $0, namespace: nil) }
            + ["get", "update"].flatMap { verb in
                [Permission(group: "apps", resource: "deployments/scale", verb: verb, namespace: "kube-system"),
                 Permission(group: "apps", resource: "replicasets/scale", verb: verb, namespace: "kube-system"),
                 Permission(group: "", resource: "replicationcontrollers/scale", verb: verb, namespace: "kube-system")]
            }
            + ["get", "create"].map { Permission(group: "", resource: "configmaps", verb: $0, namespace: "kube-system") }
        for p in needed {
            #expect(Self.allowed(objs, serviceAccount: sa, in: "kube-system", p), "\(p)")
        }
        for p in [Permission(group: "apps", resource: "deployments/scale", verb: "update", namespace: "default"),
                  Permission(group: "apps", resource: "deployments/scale", verb: "update", namespace: nil),
                  Permission(group: "", resource: "configmaps", verb: "update", namespace: "kube-system"),
                  Permission(group: "", resource: "secrets", verb: "get", namespace: "kube-system")] {
            #expect(!Self.allowed(objs, serviceAccount: sa, in: "kube-system", p), "\(p) should not be allowed")
        }
    }

    // MARK: The set-image path on kubeadm's coredns Deployment

    static let newImage = "registry.example.com/clusterdns:0.5.0"

    /// README path (a), offline: `kubectl set image` and then the patch, as an operator runs them.
    static func setImageOnKubeadm() throws -> Node {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("set-image-\(UUID().uuidString).yaml").path
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let setImage = try run("kubectl", ["set", "image", "--local", "-f", kubeadm + "/deployment.yaml", "coredns=\(newImage)", "-o", "yaml"])
        #expect(setImage.status == 0, "\(setImage.err)")
        try setImage.out.write(toFile: tmp, atomically: true, encoding: .utf8)
        let patched = try run("kubectl", ["patch", "--local", "-f", tmp, "--type", "strategic",
                                          "--patch-file", dir + "/coredns-set-image/patch.yaml", "-o", "yaml"])
        #expect(patched.status == 0, "\(patched.err)")
        return try #require(try Yams.compose(yaml: patched.out))
    }

    @Test(.enabled(if: toolExists("kubectl"))) func setImageKeepsEverythingKubeadmConfigured() throws {
        let before = try #require(Self.find(try Self.file(Self.kubeadm + "/deployment.yaml"), "Deployment", "coredns"))
        let after = try Self.setImageOnKubeadm()
        #expect(after["metadata"]?["name"]?.string == "coredns")
        let pod = try #require(after["spec"]?["template"]?["spec"])
        let c = try #require(pod["containers"]?.sequence?.first { $0["name"]?.string == "coredns" })
        #expect(c["image"]?.string == Self.newImage)
        // CoreDNS's arguments, which the image's `clusterdns serve` entrypoint takes as they are.
        #expect(Self.strings(c["args"]) == ["-conf", "/etc/coredns/Corefile"])
        #expect(c["volumeMounts"]?.sequence?.first?["mountPath"]?.string == "/etc/coredns")
        // Probes by port name: the names still lead to 8080 and 8181.
        var portByName: [String: Int] = [:]
        for p in c["ports"]?.sequence ?? [] { if let n = p["name"]?.string, let v = p["containerPort"]?.int { portByName[n] = v } }
        func port(_ probe: String) -> Int? {
            let p = c[probe]?["httpGet"]?["port"]
            return p?.int ?? p?.string.flatMap { portByName[$0] }
        }
        #expect(c["livenessProbe"]?["httpGet"]?["path"]?.string == "/health" && port("livenessProbe") == 8080)
        #expect(c["readinessProbe"]?["httpGet"]?["path"]?.string == "/ready" && port("readinessProbe") == 8181)
        let sc = try #require(c["securityContext"])
        #expect(Self.strings(sc["capabilities"]?["add"]) == ["NET_BIND_SERVICE"])
        #expect(Self.strings(sc["capabilities"]?["drop"]) == ["ALL"])
        #expect(sc["readOnlyRootFilesystem"]?.bool == true)
        #expect(sc["allowPrivilegeEscalation"]?.bool == false)
        #expect(c["resources"]?["limits"]?["memory"]?.string == "768Mi")
        #expect(c["resources"]?["requests"]?["memory"]?.string == "70Mi")
        // No user is set: the image's own (non-root, with the file capability) is the one that runs.
        #expect(pod["securityContext"]?["runAsUser"] == nil && c["securityContext"]?["runAsUser"] == nil)
        #expect(try Self.dockerfileUser().uid != 0)

        // Beyond the image and the memory limit, the pod is exactly kubeadm's.
        var expected = Self.canonical(before["spec"]?["template"]?["spec"])
        let got = Self.canonical(pod)
        for (from, to) in [("registry.k8s.io/coredns/coredns:v1.11.3", Self.newImage), ("170Mi", "768Mi")] {
            #expect(expected.contains(from))
            expected = expected.replacingOccurrences(of: from, with: to)
        }
        #expect(got == expected)
        #expect(Self.canonical(after["spec"]?["selector"]) == Self.canonical(before["spec"]?["selector"]))
        #expect(after["spec"]?["replicas"]?.int == 2)
    }

    /// The same change as a kustomize component, for a coredns Deployment kept in git: the
    /// rendered pod is the one the kubectl commands give.
    @Test(.enabled(if: toolExists("kubectl"))) func componentGivesTheSamePodAsTheCommands() throws {
        let r = try run("kubectl", ["kustomize", Self.kubeadm])
        #expect(r.status == 0, "\(r.err)")
        let rendered = try #require(Self.find(try Yams.compose_all(yaml: r.out).map { $0 }, "Deployment", "coredns"))
        let fromCommands = try Self.setImageOnKubeadm()
        let a = Self.canonical(rendered["spec"]?["template"]?["spec"])
        let b = Self.canonical(fromCommands["spec"]?["template"]?["spec"])
        #expect(a.contains(Self.newImage))
        #expect(a == b)
    }

    // MARK: The image

    static func dockerfileStages() throws -> [[String]] {
        let text = try String(contentsOfFile: root + "/Dockerfile", encoding: .utf8)
        // Logical lines: continuations joined, comments dropped.
        var lines: [String] = [], current = ""
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            let t = raw.trimmingCharacters(in: .whitespaces)
            if current.isEmpty && (t.hasPrefix("#") || t.isEmpty) { continue }
            if t.hasSuffix("\\") { current += t.dropLast() + " "; continue }
            lines.append(current + t); current = ""
        }
        var stages: [[String]] = []
        for l in lines {
            if l.uppercased().hasPrefix("FROM ") { stages.append([l]) } else if !stages.isEmpty { stages[stages.count - 1].append(l) }
        }
        return stages
    }

    static func dockerfileUser() throws -> (uid: Int, gid: Int) {
        let final = try #require(try dockerfileStages().last)
        let user = try #require(final.last { $0.hasPrefix("USER ") }).dropFirst(5).trimmingCharacters(in: .whitespaces)
        let parts = user.split(separator: ":").map { Int($0) }
        // Numeric, so the kubelet's runAsNonRoot check can verify it without an /etc/passwd.
        let uid = try #require(parts.first ?? nil), gid = try #require(parts.count > 1 ? parts[1] : uid)
        return (uid, gid)
    }

    /// Port 53 as a non-root user with only NET_BIND_SERVICE added: the binary carries the
    /// capability as a file capability (set in the build stage, kept by COPY --from).
    @Test func imageBindsPort53AsNonRoot() throws {
        let stages = try Self.dockerfileStages()
        #expect(stages.count == 2)
        let build = try #require(stages.first), final = try #require(stages.last)
        let alias = try #require(build[0].split(separator: " ").last.map(String.init))
        #expect(build[0].uppercased().contains(" AS "))
        #expect(build.contains { $0.hasPrefix("RUN ") && $0.contains("apt-get install") && $0.contains("libcap2-bin") })
        let setcap = build.firstIndex { $0.contains("setcap cap_net_bind_service=+ep /out/clusterdns") }
        #expect(setcap != nil, "setcap on the built binary")
        // Nothing after the setcap touches the binary again in the build stage.
        if let setcap {
            let line = build[setcap]
            let after = line[line.range(of: "setcap cap_net_bind_service=+ep /out/clusterdns")!.upperBound...]
            #expect(!after.contains("/out/clusterdns"), "\(line)")
            for l in build[(setcap + 1)...] { #expect(!l.contains("/out/clusterdns"), "\(l)") }
        }
        // Copied into the final stage as it is: a chown would clear the capability.
        let copy = try #require(final.first { $0.hasPrefix("COPY ") && $0.contains("/out/clusterdns") })
        #expect(copy.contains("--from=\(alias)"))
        #expect(!copy.contains("--chown") && !copy.contains("--chmod"))
        for l in final where l.hasPrefix("RUN ") { #expect(!l.contains("/usr/local/bin/clusterdns"), "\(l)") }
        let user = try Self.dockerfileUser()
        #expect(user.uid == 65532 && user.gid == 65532)
        #expect(final.contains("ENTRYPOINT [\"clusterdns\", \"serve\"]"))
        #expect(final.contains { $0.hasPrefix("RUN ") && $0.contains("--uid 65532") })
    }
}
