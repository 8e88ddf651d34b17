#!/usr/bin/env python3
"""Writes the hand-made seeds of Fuzz/corpus/ (real queries and zone files). The rows of the
malformed table (Tests/TestSupport/MalformedPackets.swift) are run by FuzzRegressionTests
directly and were written to Fuzz/corpus/{wire,query}/malformed-* by the same test once.
Run from the repository root: python3 Fuzz/seeds.py"""
import os, struct

def name(text):
    out = b""
    for label in text.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"

def query(qname, qtype, edns=None, do=False, options=b"", rd=True, qid=0x1234, cd=False, opcode=0):
    flags1 = (opcode << 3) | (1 if rd else 0)
    flags2 = 0x10 if cd else 0
    ar = 1 if edns is not None else 0
    msg = struct.pack(">HBBHHHH", qid, flags1, flags2, 1, 0, 0, ar) + name(qname) + struct.pack(">HH", qtype, 1)
    if edns is not None:
        msg += b"\0" + struct.pack(">HHBBHH", 41, edns, 0, 0, 0x8000 if do else 0, len(options)) + options
    return msg

A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, SRV, ANY = 1, 2, 5, 6, 12, 15, 16, 28, 33, 255
cookie = struct.pack(">HH", 10, 8) + b"\x01\x02\x03\x04\x05\x06\x07\x08"
queries = {
    "a-kubernetes": query("kubernetes.default.svc.cluster.local", A),
    "a-kubernetes-edns": query("kubernetes.default.svc.cluster.local", A, edns=1232),
    "aaaa-api-edns-do": query("api.shop.svc.cluster.local", AAAA, edns=4096, do=True),
    "a-mixed-case": query("KuBe-DNS.Kube-System.svc.Cluster.Local", A, edns=1232),
    "srv-kube-dns-udp": query("_dns._udp.kube-dns.kube-system.svc.cluster.local", SRV),
    "srv-postgres-edns": query("_postgres._tcp.db.data.svc.cluster.local", SRV, edns=1232),
    "srv-any-port": query("_http._tcp.svc1.testns.svc.cluster.local", SRV, edns=512),
    "a-headless": query("db.data.svc.cluster.local", A),
    "a-headless-host": query("db-0.db.data.svc.cluster.local", A, edns=1232, options=cookie),
    "a-headless-spec": query("hdls1.testns.svc.cluster.local", A, edns=1232),
    "any-headless": query("hdls1.testns.svc.cluster.local", ANY),
    "ptr-cluster-ip": query("1.0.96.10.in-addr.arpa", PTR),
    "ptr-endpoint": query("20.1.244.10.in-addr.arpa", PTR, edns=1232),
    "ptr-ipv6": query("0.3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.0.0.0.0.d.f.ip6.arpa", PTR, edns=1232),
    "a-pod-insecure": query("172-0-0-2.testns.pod.cluster.local", A),
    "cname-externalname": query("payments.shop.svc.cluster.local", A, edns=1232),
    "cname-loop": query("extloop1.testns.svc.cluster.local", A),
    "a-zone-file": query("payments.example.internal", AAAA, edns=1232),
    "cname-zone-file": query("www.example.internal", A),
    "ns-zone-file": query("example.internal", NS, edns=1232),
    "soa-cluster": query("cluster.local", SOA),
    "ns-cluster": query("cluster.local", NS, edns=1232),
    "txt-dns-version": query("dns-version.cluster.local", TXT),
    "a-ns-dns": query("ns.dns.cluster.local", A),
    "mx-nodata": query("web.shop.svc.cluster.local", MX, edns=1232),
    "a-nxdomain": query("nope.default.svc.cluster.local", A, edns=1232),
    "a-outside": query("example.com", A, edns=1232),
    "a-big-edns-tcp": query("hdls1.testns.svc.cluster.local", A, edns=65535, do=True),
    "notify": query("cluster.local", SOA, opcode=4),
    "cd-set": query("svc1.testns.svc.cluster.local", A, edns=1232, cd=True),
}

zones = {
    "example-internal.zone": open("zones/example.internal.zone", "rb").read(),
    "relative-names.zone": b"""$TTL 60
@ IN SOA ns hostmaster 1 3600 600 86400 60
@ IN NS ns
ns IN A 192.0.2.1
ns IN AAAA 2001:db8::1
_sip._tcp IN SRV 10 60 5060 sip
sip IN A 192.0.2.7
alias IN CNAME sip
txt IN TXT "hello world" "semi;colon" "quote\\"d" \\255
mail IN MX 10 sip
1.2.0.192.in-addr IN PTR ns
*.wild IN A 192.0.2.9
unknown IN TYPE65300 \\# 3 010203
""",
    "multiline-soa.zone": b"""$ORIGIN multi.test.
$TTL 1h
@ 3600 IN SOA ns1.multi.test. admin.multi.test. (
        2024010101 ; serial
        2h         ; refresh
        15m
        1w
        5m )
  IN NS ns1
ns1 300 A 198.51.100.1
deep.sub.label IN A 198.51.100.2
""",
    "no-soa.zone": b"$ORIGIN x.\nwww IN A 192.0.2.1\n",
    "bad-line.zone": b"$ORIGIN x.\n@ IN SOA ns hm 1 2 3 4 5\nwww IN A 300.1.1.1\n",
}

def write(folder, files):
    os.makedirs(folder, exist_ok=True)
    for n, data in files.items():
        with open(os.path.join(folder, n), "wb") as f:
            f.write(data)

write("Fuzz/corpus/query", queries)
write("Fuzz/corpus/wire", {"query-" + k: v for k, v in queries.items() if k in ("a-kubernetes-edns", "srv-postgres-edns", "ptr-ipv6", "a-headless-host")})
write("Fuzz/corpus/zonefile", zones)

# manifest: the example directory as it is, and the shapes the decoder reads besides (a List,
# several documents with an empty and a broken one, v1 Endpoints, JSON as kubectl prints it).
import glob, json
manifests = {os.path.basename(p): open(p, "rb").read() for p in sorted(glob.glob("zones/*.yaml"))}
manifests["list.yaml"] = b"""apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: dual}
- apiVersion: v1
  kind: Service
  metadata: {name: api, namespace: dual}
  spec:
    clusterIP: None
    publishNotReadyAddresses: true
    ports: [{name: grpc, protocol: TCP, port: 9090}]
- apiVersion: discovery.k8s.io/v1
  kind: EndpointSlice
  metadata: {name: api-v6, namespace: dual, labels: {kubernetes.io/service-name: api}}
  addressType: IPv6
  ports: [{name: grpc, protocol: TCP, port: 9090}]
  endpoints:
  - {addresses: ["fd00:10:244::5"], hostname: api-0, conditions: {ready: false}}
"""
manifests["multi.yaml"] = b"""---
# an empty document, then objects, one of them broken
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {type: ExternalName, externalName: web.example.com}
---
apiVersion: v1
kind: Service
metadata: {name: Bad_Name}
spec: {clusterIP: 10.96.0.99}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: skipped}
---
kind: Pod
metadata: {name: p, namespace: default, deletionTimestamp: "2024-01-01T00:00:00Z"}
status: {podIPs: [{ip: 10.244.0.9}, {ip: "fd00::9"}], conditions: [{type: Ready, status: "True"}]}
"""
manifests["endpoints.yaml"] = b"""apiVersion: v1
kind: Endpoints
metadata: {name: legacy, namespace: default}
subsets:
- addresses: [{ip: 10.244.0.7, hostname: legacy-0, targetRef: {kind: Pod, name: legacy-0}}, {ip: "fd00::7"}]
  notReadyAddresses: [{ip: 10.244.0.8}]
  ports: [{name: http, port: 8080, protocol: TCP}]
"""
manifests["broken.yaml"] = b"apiVersion: v1\nkind: Service\nmetadata: {name: x\n  ports: [\n"
service = {"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": "web", "namespace": "shop", "annotations": {"a": "b"}},
           "spec": {"type": "ClusterIP", "clusterIP": "10.96.10.20", "clusterIPs": ["10.96.10.20", "fd00:10:96::20"],
                    "selector": {"app": "web"}, "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": "http"}]}}
manifests["service.json"] = json.dumps(service, indent=4).encode() + b"\n"
pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web"}},
       "spec": {"hostname": "web-1", "subdomain": "web", "containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]},
       "status": {"phase": "Running", "podIP": "10.244.1.10", "podIPs": [{"ip": "10.244.1.10"}], "conditions": [{"type": "Ready", "status": "True"}]}}
manifests["list.json"] = json.dumps({"apiVersion": "v1", "kind": "List", "items": [service, pod]}, separators=(", ", ": ")).encode()
write("Fuzz/corpus/manifest", manifests)

# watch: lines and pages as the API server sends them (Tests/FakeKubeAPI writes the same shapes).
def compact(v):
    return json.dumps(v, separators=(",", ":")).encode()
meta = lambda name, ns=None, rv="101", **extra: dict({"name": name, "resourceVersion": rv, **({"namespace": ns} if ns else {})}, **extra)
namespace = {"kind": "Namespace", "apiVersion": "v1", "metadata": meta("shop"), "status": {"phase": "Active"}}
headless = {"kind": "Service", "apiVersion": "v1", "metadata": meta("db", "data", "102", managedFields=[{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}]),
            "spec": {"clusterIP": "None", "clusterIPs": ["None"], "selector": {"app": "db"}, "publishNotReadyAddresses": True,
                     "ports": [{"name": "postgres", "protocol": "TCP", "port": 5432, "targetPort": 5432}]}}
external = {"kind": "Service", "apiVersion": "v1", "metadata": meta("payments", "shop", "103"),
            "spec": {"type": "ExternalName", "externalName": "payments.example.internal"}}
slice_ = {"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
          "metadata": meta("web-v6-abcde", "shop", "104", labels={"kubernetes.io/service-name": "web"}),
          "addressType": "IPv6", "ports": [{"name": "http", "protocol": "TCP", "port": 8080}],
          "endpoints": [{"addresses": ["fd00:10:244:1::10"], "conditions": {"ready": True, "serving": True, "terminating": False},
                         "hostname": "web-0", "targetRef": {"kind": "Pod", "name": "web-0", "namespace": "shop"}, "nodeName": "n1"},
                        {"addresses": ["fd00:10:244:2::11"], "conditions": {"ready": False}}]}
slice4 = dict(slice_, metadata=meta("web-v4-fghij", "shop", "105", labels={"kubernetes.io/service-name": "web"}), addressType="IPv4",
              endpoints=[{"addresses": ["10.244.1.10"], "conditions": {"ready": True}, "targetRef": {"kind": "Pod", "name": "web-0"}}])
podj = dict(pod, metadata=meta("web-0", "shop", "106", labels={"app": "web"}, annotations={"x": "y\u00e9\\n"}))
status410 = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
             "message": "too old resource version: 5 (90)", "reason": "Expired", "code": 410}
watch = {
    "added-namespace": {"type": "ADDED", "object": namespace},
    "added-service-clusterip": {"type": "ADDED", "object": dict(service, metadata=meta("web", "shop", "110"))},
    "modified-service-headless": {"type": "MODIFIED", "object": headless},
    "added-service-externalname": {"type": "ADDED", "object": external},
    "added-endpointslice-ipv6": {"type": "ADDED", "object": slice_},
    "modified-endpointslice-ipv4": {"type": "MODIFIED", "object": slice4},
    "added-pod": {"type": "ADDED", "object": podj},
    "modified-service-bad-ip": {"type": "MODIFIED", "object": dict(external, spec={"clusterIP": "10.96.0.300"})},
    "deleted-service": {"type": "DELETED", "object": dict(external, metadata=meta("payments", "shop", "120"))},
    "bookmark": {"type": "BOOKMARK", "object": {"kind": "Service", "apiVersion": "v1", "metadata": {"resourceVersion": "130"}}},
    "error-410-gone": {"type": "ERROR", "object": status410},
    "error-500": {"type": "ERROR", "object": dict(status410, code=500, reason="InternalError", message="etcd leader changed")},
}
pages = {
    "list-namespaces": {"kind": "NamespaceList", "apiVersion": "v1", "metadata": {"resourceVersion": "200"}, "items": [namespace, dict(namespace, metadata=meta("kube-system"))]},
    "list-services-continue": {"kind": "ServiceList", "apiVersion": "v1",
                               "metadata": {"resourceVersion": "201", "continue": "MjAxOjI=", "remainingItemCount": 3}, "items": [headless, external]},
    "list-endpointslices": {"kind": "EndpointSliceList", "apiVersion": "discovery.k8s.io/v1", "metadata": {"resourceVersion": "202"}, "items": [slice_, slice4]},
    "list-pods": {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "203"}, "items": [podj]},
}
write("Fuzz/corpus/watch", {k: compact(v) + b"\n" if k.startswith("list") else compact(v) for k, v in {**watch, **pages}.items()})

# index: event sequences (IndexCheck's byte code). A first byte of options, then steps.
NS, SVC, SLICE, POD, DEL_NS_POD, DEL_SVC, DEL_SLICE, BEGIN, END, CHECK, RELEASE, BOTH = 0, 1, 4, 7, 8, 9, 10, 11, 12, 13, 14, 15
FILE = 0x10
def b(ns, name, y=0):
    return ns + 3 * name + 12 * y
index = {
    # A headless Service with a dual-stack pair of slices, named endpoints; then one goes.
    "headless-dual-stack": bytes([0, NS, b(0, 0), SVC, b(0, 1), 0b01000000, SLICE, b(0, 0), 0b00100010, 0x14, 0x25,
                                  SLICE, b(0, 1), 0b00010011, 0x90, CHECK, 0, DEL_SLICE, b(0, 0), CHECK, 0]),
    # ClusterIP Services sharing an address (PTR), one from a file too; the API copy wins.
    "shared-ptr-two-origins": bytes([0, SVC, b(1, 0), 0b00001011, SVC, b(1, 1), 0b00001011, SVC | FILE, b(1, 0), 0b00010100,
                                     CHECK, 0, DEL_SVC, b(1, 0), CHECK, 0, DEL_SVC | FILE, b(1, 0)]),
    # Pods behind a selector (derived endpoints), one terminating; pods verified.
    "selector-pods-verified": bytes([1, SVC | 0x20, b(2, 0), 0b00000000, POD, b(2, 0), 0b00110100, POD | 0x20, b(2, 1), 0b01111000,
                                     CHECK, 0, POD | 0x80, b(2, 1), 0b00010000, CHECK, 0]),
    # A relist of Services that misses one, around other events, then the end.
    "relist-services": bytes([0, SVC, b(0, 0), 3, SVC, b(0, 1), 4, SVC, b(0, 2), 5, CHECK, 0, BEGIN | 0x20, 0,
                              SVC, b(0, 1), 0x43, SLICE, b(0, 1), 0b00010010, 0x00, END | 0x20, 0, CHECK, 0]),
    # The API held aside until its release, a file serving meanwhile.
    "held-until-release": bytes([0x80, SVC, b(0, 0), 3, SVC | FILE, b(0, 0), 11, CHECK, 0, RELEASE, 0, CHECK, 0, DEL_SVC, b(0, 0)]),
    # Two cluster domains and nested reverse zones; ExternalName and a Service with its slice.
    "two-domains": bytes([5, SVC, b(0, 3), 0b00000001, BOTH, b(1, 1), 0b01000000, 0b00110001, 0x0f, 0x33, 0x51, CHECK, 0,
                          NS, b(2, 0), DEL_NS_POD, b(2, 0), CHECK, 0]),
}
write("Fuzz/corpus/index", index)
