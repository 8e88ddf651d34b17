#!/usr/bin/env python3
"""Generates a synthetic cluster for `make bench`: N Services as Kubernetes YAML (ClusterIP,
dual-stack, headless with endpoints and hostnames, ExternalName, named ports) and the dnsperf
query files. The equivalent RFC 1035 zone for NSD is printed by `clusterdns check` from the same
YAML, so both servers hold the same records.

usage: gen.py OUT_DIR [SERVICES] [ENDPOINTS_PER_HEADLESS]
"""
import os
import random
import sys

out = sys.argv[1]
services = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
per_headless = int(sys.argv[3]) if len(sys.argv) > 3 else 10
rng = random.Random(42)
os.makedirs(out + "/zones", exist_ok=True)

namespaces = [f"ns{i}" for i in range(max(1, services // 100))]
hits, mix = [], []
ep_counter = 0
with open(out + "/zones/cluster.yaml", "w") as f:
    for ns in namespaces:
        f.write(f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n---\n")
    for i in range(services):
        ns = namespaces[i % len(namespaces)]
        name = f"svc{i}"
        fq = f"{name}.{ns}.svc.cluster.local"
        kind = i % 20
        ports = "ports: [{name: http, protocol: TCP, port: 80}, {name: metrics, protocol: TCP, port: 9090}]"
        if kind < 12:  # ClusterIP
            ip = f"10.{96 + i // 65536}.{(i // 256) % 256}.{i % 256}"
            f.write(f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: {ns}}}\n"
                    f"spec: {{clusterIP: {ip}, {ports}}}\n---\n")
            hits.append(f"{fq} A")
        elif kind < 14:  # dual-stack
            ip = f"10.{96 + i // 65536}.{(i // 256) % 256}.{i % 256}"
            f.write(f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: {ns}}}\n"
                    f"spec: {{clusterIP: {ip}, clusterIPs: [{ip}, 'fd00::{i:x}'], {ports}}}\n---\n")
            hits.append(f"{fq} A")
            mix.append(f"{fq} AAAA")
        elif kind < 19:  # headless with endpoints, some with hostnames
            f.write(f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: {ns}}}\n"
                    f"spec: {{clusterIP: None, {ports}}}\n---\n")
            f.write(f"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
                    f"metadata: {{name: {name}-x, namespace: {ns}, labels: {{kubernetes.io/service-name: {name}}}}}\n"
                    f"addressType: IPv4\nports: [{{name: http, protocol: TCP, port: 8080}}]\nendpoints:\n")
            for e in range(per_headless):
                ep_counter += 1
                ip = f"172.{16 + ep_counter // 65536}.{(ep_counter // 256) % 256}.{ep_counter % 256}"
                host = f", hostname: {name}-{e}" if e % 2 == 0 else ""
                f.write(f"  - {{addresses: [{ip}], conditions: {{ready: true}}{host}}}\n")
            f.write("---\n")
            mix.append(f"_http._tcp.{fq} SRV")
            mix.append(f"{name}-0.{fq} A")
        else:  # ExternalName
            f.write(f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: {ns}}}\n"
                    f"spec: {{type: ExternalName, externalName: ext{i}.example.com}}\n---\n")
            mix.append(f"{fq} A")

# The pod-like mix: a third are search-path misses (NXDOMAIN), as ndots:5 produces.
rng.shuffle(hits)
queries = []
for q in hits[: len(hits) // 2] + mix:
    queries.append(q)
    name, t = q.split()
    queries.append(f"{name}.svc.cluster.local {t}")  # NXDOMAIN, the search-path miss
rng.shuffle(queries)
with open(out + "/hits.txt", "w") as f:
    f.write("\n".join(hits) + "\n")
with open(out + "/mix.txt", "w") as f:
    f.write("\n".join(queries) + "\n")
print(f"{services} services, {ep_counter} endpoints, {len(hits)} hit queries, {len(queries)} mix queries")
