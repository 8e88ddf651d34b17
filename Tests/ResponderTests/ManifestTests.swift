import DNSWire
import Testing
import TestSupport

/// Issue 3, the zones directory: what `kubectl get ns,svc,endpointslices,pods -A -o yaml` prints
/// works as it is, with every field DNS does not read ignored.
@Suite struct ManifestTests {
    static let kubectlDump = """
    apiVersion: v1
    items:
    - apiVersion: v1
      kind: Namespace
      metadata:
        creationTimestamp: "2026-11-01T10:00:00Z"
        labels: {kubernetes.io/metadata.name: payments}
        name: payments
        resourceVersion: "201"
        uid: 0b6f7a4e-1111-4c3e-9a55-4f1d7cfa0001
      spec: {finalizers: [kubernetes]}
      status: {phase: Active}
    - apiVersion: v1
      kind: Service
      metadata:
        annotations:
          kubectl.kubernetes.io/last-applied-configuration: |
            {"apiVersion":"v1","kind":"Service","metadata":{"name":"ledger","namespace":"payments"}}
        creationTimestamp: "2026-11-01T10:00:05Z"
        labels: {app: ledger}
        managedFields:
        - apiVersion: v1
          fieldsType: FieldsV1
          fieldsV1:
            f:spec:
              f:ports:
                .: {}
                k:{"port":8443,"protocol":"TCP"}: {}
          manager: kubectl-client-side-apply
          operation: Update
          time: "2026-11-01T10:00:05Z"
        name: ledger
        namespace: payments
        resourceVersion: "233"
        uid: 7f8e0c1a-2222-4b7e-8d51-1b2c3d4e0002
      spec:
        clusterIP: 10.96.77.7
        clusterIPs: [10.96.77.7]
        internalTrafficPolicy: Cluster
        ipFamilies: [IPv4]
        ipFamilyPolicy: SingleStack
        ports:
        - {name: https, port: 8443, protocol: TCP, targetPort: 8443}
        selector: {app: ledger}
        sessionAffinity: None
        type: ClusterIP
      status: {loadBalancer: {}}
    - addressType: IPv4
      apiVersion: discovery.k8s.io/v1
      endpoints:
      - addresses: [10.244.3.17]
        conditions: {ready: true, serving: true, terminating: false}
        nodeName: worker-2
        targetRef: {kind: Pod, name: ledger-5c7d9-x2x9z, namespace: payments, uid: 3e1d-0003}
        zone: eu-west-1b
      kind: EndpointSlice
      metadata:
        annotations: {endpoints.kubernetes.io/last-change-trigger-time: "2026-11-01T10:00:09Z"}
        generateName: ledger-
        generation: 2
        labels:
          endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io
          kubernetes.io/service-name: ledger
        name: ledger-8k2lq
        namespace: payments
        ownerReferences:
        - {apiVersion: v1, blockOwnerDeletion: true, controller: true, kind: Service, name: ledger, uid: 7f8e0c1a-0002}
        resourceVersion: "250"
        uid: 9a9a-0004
      ports:
      - {name: https, port: 8443, protocol: TCP}
    - apiVersion: v1
      kind: Pod
      metadata:
        generateName: ledger-5c7d9-
        labels: {app: ledger, pod-template-hash: 5c7d9}
        name: ledger-5c7d9-x2x9z
        namespace: payments
        ownerReferences:
        - {apiVersion: apps/v1, controller: true, kind: ReplicaSet, name: ledger-5c7d9, uid: 1111-0005}
      spec:
        containers:
        - image: registry.example/ledger:1.4.2
          name: ledger
          ports: [{containerPort: 8443, name: https, protocol: TCP}]
          resources: {requests: {cpu: 100m, memory: 64Mi}}
        dnsPolicy: ClusterFirst
        nodeName: worker-2
      status:
        conditions:
        - {lastProbeTime: null, lastTransitionTime: "2026-11-01T10:00:08Z", status: "True", type: Ready}
        hostIP: 172.18.0.3
        phase: Running
        podIP: 10.244.3.17
        podIPs: [{ip: 10.244.3.17}]
        startTime: "2026-11-01T10:00:06Z"
    kind: List
    metadata:
      resourceVersion: ""
    """

    @Test func kubectlDumpWorksAsIs() async throws {
        let w = try World(yaml: Self.kubectlDump)
        #expect(w.problems.isEmpty, "\(w.problems)")
        try await w.check(Case("ledger.payments.svc.cluster.local.", .a, answer: "ledger.payments.svc.cluster.local. 5 IN A 10.96.77.7"), sockets: false)
        try await w.check(Case("_https._tcp.ledger.payments.svc.cluster.local.", .srv,
            answer: "_https._tcp.ledger.payments.svc.cluster.local. 5 IN SRV 0 100 8443 ledger.payments.svc.cluster.local."), sockets: false)
        try await w.check(Case("17.3.244.10.in-addr.arpa.", .ptr,
            answer: "17.3.244.10.in-addr.arpa. 5 IN PTR 10-244-3-17.ledger.payments.svc.cluster.local."), sockets: false)
    }

    // A malformed object is reported with file, line and object, and skipped; the rest serves.
    @Test func malformedObjectsAreSkipped() async throws {
        let w = try World(yaml: """
            apiVersion: v1
            kind: Service
            metadata: {name: ok, namespace: a}
            spec: {clusterIP: 10.96.1.1}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: s, namespace: a, labels: {kubernetes.io/service-name: ok}}
            addressType: IPv4
            endpoints:
              - addresses: [not-an-ip]
            """)
        #expect(w.problems.map(\.description) == ["\(w.directory)/world.yaml:11: EndpointSlice a/s: bad IPv4 address not-an-ip"])
        try await w.check(Case("ok.a.svc.cluster.local.", .a, answer: "ok.a.svc.cluster.local. 5 IN A 10.96.1.1"), sockets: false)
    }

    // Names that become DNS labels must be labels: a v1 Endpoints address's hostname and a
    // Pod's hostname and subdomain (D10), as the API server validates them. (Found by the
    // manifest fuzz target's reader: `Bad_Host.x` was served as `Bad_Host\.x.legacy…`.)
    @Test func hostnamesMustBeLabels() async throws {
        let w = try World(yaml: """
            apiVersion: v1
            kind: Service
            metadata: {name: legacy, namespace: a}
            spec: {clusterIP: None}
            ---
            apiVersion: v1
            kind: Endpoints
            metadata: {name: legacy, namespace: a}
            subsets:
              - addresses:
                  - ip: 10.244.0.5
                    hostname: Bad_Host.x
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: p, namespace: a}
            spec: {hostname: web-0, subdomain: no.dots}
            status: {podIP: 10.244.0.6}
            """)
        #expect(w.problems.map(\.description) == [
            "\(w.directory)/world.yaml:11: Endpoints a/legacy: hostname Bad_Host.x is not a DNS label",
            "\(w.directory)/world.yaml:17: Pod a/p: subdomain no.dots is not a DNS label",
        ])
        try await w.check(Case("legacy.a.svc.cluster.local.", .a, rcode: .nxDomain,
            authority: "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 0 7200 1800 86400 5"), sockets: false)
    }

    // JSON files are read too (YAML is a superset), and a namespace exists when an object lives in it.
    @Test func namespacesFromObjects() async throws {
        let w = try World(yaml: #"{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "j", "namespace": "implied"}, "spec": {"clusterIP": "10.96.2.2"}}"#)
        try await w.check(Case("implied.svc.cluster.local.", .a, authority: SpecWorld.soa), sockets: false)
        try await w.check(Case("j.implied.svc.cluster.local.", .a, answer: "j.implied.svc.cluster.local. 5 IN A 10.96.2.2"), sockets: false)
    }
}
