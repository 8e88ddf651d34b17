#!/usr/bin/env python3
"""Writes churn.yaml for Benchmarks/soak/run.sh: SERVICES Services in namespace soak, a tenth
headless, each with an EndpointSlice of 1-5 endpoints; every call draws a new random state
(seeded by STEP), so successive calls add, change and remove Services and addresses."""
import random, sys

out, services, step = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(step)
docs = ["apiVersion: v1\nkind: Namespace\nmetadata: {name: soak}"]
for i in range(services):
    if rng.random() < 0.1:
        continue  # absent this step
    headless = i % 10 == 0
    cluster_ip = "None" if headless else f"10.97.{i // 256}.{i % 256}"
    docs.append(f"""apiVersion: v1
kind: Service
metadata: {{name: s{i}, namespace: soak}}
spec: {{clusterIP: {cluster_ip}, ports: [{{name: http, port: 80, protocol: TCP}}]}}""")
    eps = "\n".join(
        f"  - addresses: [10.245.{i // 64}.{(i % 64) * 4 + k}]\n    conditions: {{ready: {str(rng.random() < 0.9).lower()}}}"
        + (f"\n    hostname: h{k}" if headless and rng.random() < 0.5 else "")
        for k in range(rng.randint(1, 4)))
    docs.append(f"""apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: s{i}-a, namespace: soak, labels: {{kubernetes.io/service-name: s{i}}}}}
addressType: IPv4
ports: [{{name: http, port: 80, protocol: TCP}}]
endpoints:
{eps}""")
with open(out + ".tmp", "w") as f:
    f.write("\n---\n".join(docs) + "\n")
import os
os.replace(out + ".tmp", out)
