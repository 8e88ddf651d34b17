import RecordIndex

/// The cluster the schema tests run against, modelled on CoreDNS's handler_test world: written
/// as the manifests a user would have, loaded through the real directory loader.
public enum SpecWorld {
    public static let yaml = """
    apiVersion: v1
    kind: Namespace
    metadata: {name: testns}
    ---
    apiVersion: v1
    kind: Namespace
    metadata: {name: emptyns}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: svc1, namespace: testns}
    spec:
      clusterIP: 10.0.0.1
      ports:
        - {name: http, protocol: TCP, port: 80}
        - {name: c-port, protocol: UDP, port: 1234}
    ---
    apiVersion: discovery.k8s.io/v1
    kind: EndpointSlice
    metadata: {name: svc1-abc, namespace: testns, labels: {kubernetes.io/service-name: svc1}}
    addressType: IPv4
    ports: [{name: http, protocol: TCP, port: 8080}]
    endpoints:
      - {addresses: [172.0.0.2], hostname: ep1a, conditions: {ready: true}}
      - {addresses: [172.0.0.3], conditions: {ready: true}}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: svc6, namespace: testns}
    spec:
      clusterIP: 10.0.0.6
      clusterIPs: [10.0.0.6, "1234:abcd::6"]
      ports: [{name: http, protocol: TCP, port: 80}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: single, namespace: testns}
    spec:
      clusterIP: 10.0.0.9
      ports: [{port: 8080}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: hdls1, namespace: testns}
    spec:
      clusterIP: None
      ports: [{name: http, port: 80}]
    ---
    apiVersion: discovery.k8s.io/v1
    kind: EndpointSlice
    metadata: {name: hdls1-v4, namespace: testns, labels: {kubernetes.io/service-name: hdls1}}
    addressType: IPv4
    ports: [{name: http, protocol: TCP, port: 80}]
    endpoints:
      - {addresses: [172.0.0.10], hostname: pet, conditions: {ready: true}}
      - {addresses: [172.0.0.11], conditions: {ready: true}}
      - {addresses: [172.0.0.12], hostname: sick, conditions: {ready: false}}
    ---
    apiVersion: discovery.k8s.io/v1
    kind: EndpointSlice
    metadata: {name: hdls1-v6, namespace: testns, labels: {kubernetes.io/service-name: hdls1}}
    addressType: IPv6
    ports: [{name: http, protocol: TCP, port: 80}]
    endpoints:
      - {addresses: ["5678:abcd::1"], hostname: pet, conditions: {ready: true}}
      - {addresses: ["5678:abcd::2"], conditions: {ready: true}}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: hdlsempty, namespace: testns}
    spec: {clusterIP: None, ports: [{name: http, port: 80}]}
    ---
    apiVersion: discovery.k8s.io/v1
    kind: EndpointSlice
    metadata: {name: hdlsempty-1, namespace: testns, labels: {kubernetes.io/service-name: hdlsempty}}
    addressType: IPv4
    ports: [{name: http, port: 80}]
    endpoints:
      - {addresses: [172.0.0.40], conditions: {ready: false}}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: nilready, namespace: testns}
    spec: {clusterIP: None}
    ---
    apiVersion: discovery.k8s.io/v1
    kind: EndpointSlice
    metadata: {name: nilready-1, namespace: testns, labels: {kubernetes.io/service-name: nilready}}
    addressType: IPv4
    endpoints:
      - {addresses: [172.0.0.20]}
    ---
    apiVersion: discovery.k8s.io/v1
    kind: EndpointSlice
    metadata: {name: orphan, namespace: testns}
    addressType: IPv4
    endpoints:
      - {addresses: [172.0.0.99]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: ext, namespace: testns}
    spec: {type: ExternalName, externalName: ext.interwebs.test}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: extin, namespace: testns}
    spec: {type: ExternalName, externalName: svc1.testns.svc.cluster.local.}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: extloop1, namespace: testns}
    spec: {type: ExternalName, externalName: extloop2.testns.svc.cluster.local}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: extloop2, namespace: testns}
    spec: {type: ExternalName, externalName: extloop1.testns.svc.cluster.local}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: extmissing, namespace: testns}
    spec: {type: ExternalName, externalName: nope.testns.svc.cluster.local}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: extip, namespace: testns}
    spec: {type: ExternalName, externalName: 1.2.3.4}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: empty, namespace: testns}
    spec: {clusterIP: 10.0.0.10, ports: [{name: http, port: 80}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: legacy, namespace: testns}
    spec: {clusterIP: None, ports: [{name: tcp, port: 7000}]}
    ---
    apiVersion: v1
    kind: Endpoints
    metadata: {name: legacy, namespace: testns}
    subsets:
      - addresses: [{ip: 172.0.0.30, hostname: old}]
        notReadyAddresses: [{ip: 172.0.0.31}]
        ports: [{name: tcp, port: 7000, protocol: TCP}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: db, namespace: testns}
    spec:
      clusterIP: None
      publishNotReadyAddresses: true
      selector: {app: db}
      ports: [{name: pg, port: 5432, targetPort: pg}]
    ---
    apiVersion: v1
    kind: List
    items:
      - apiVersion: v1
        kind: Pod
        metadata: {name: db-0, namespace: testns, labels: {app: db}}
        spec:
          hostname: db-0
          subdomain: db
          containers: [{name: pg, ports: [{name: pg, containerPort: 15432}]}]
        status: {phase: Running, podIP: 172.0.1.1, conditions: [{type: Ready, status: "True"}]}
      - apiVersion: v1
        kind: Pod
        metadata: {name: db-1, namespace: testns, labels: {app: db}}
        spec:
          hostname: db-1
          subdomain: db
          containers: [{name: pg, ports: [{name: pg, containerPort: 15432}]}]
        status: {phase: Running, podIP: 172.0.1.2, conditions: [{type: Ready, status: "False"}]}
      - apiVersion: v1
        kind: Pod
        metadata: {name: lonely, namespace: testns, labels: {app: other}}
        spec: {hostname: lonely, subdomain: nosuchservice, containers: [{name: x}]}
        status: {phase: Running, podIP: 172.0.1.9}
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: ignored, namespace: testns}
    """

    public static let world = try! World(yaml: yaml)

    public static let soa = "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 0 7200 1800 86400 5"
}
