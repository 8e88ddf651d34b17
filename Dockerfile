# Build: a release binary with the Swift standard library linked statically.
FROM swift:6.3-bookworm AS build
# libcap2-bin for setcap, below.
RUN apt-get update && apt-get install -y --no-install-recommends libldns-dev libcap2-bin && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Package.swift names test-support, benchmark and fuzz targets by path; only clusterdns is built.
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
COPY Benchmarks ./Benchmarks
COPY Fuzz ./Fuzz
# Port 53 as a non-root user: Kubernetes' `capabilities.add: [NET_BIND_SERVICE]` puts the
# capability in the container's bounding and permitted sets, but for a non-root UID execve()
# clears the permitted set unless the file carries the capability (no ambient capabilities are
# set: kubernetes/kubernetes#56374). So the binary gets it as a file capability, as CoreDNS's
# image does. Consequences: the container must keep NET_BIND_SERVICE in its bounding set (a pod
# that drops ALL must add it back, as kubeadm's coredns Deployment and deploy/ do), or exec
# fails with "operation not permitted"; and the process runs in glibc's secure-execution mode
# (LD_* and GLIBC_TUNABLES are ignored).
RUN swift build -c release --static-swift-stdlib --product clusterdns \
 && install -D "$(swift build -c release --show-bin-path)/clusterdns" /out/clusterdns \
 && setcap cap_net_bind_service=+ep /out/clusterdns

# Run: Debian slim with libldns only, as the unprivileged user 65532 (CoreDNS's image runs as
# distroless's `nonroot`, 65532:65532), so file ownership and policies written for CoreDNS's
# pods hold for this image in the same Deployment.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libldns3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 65532 nonroot \
 && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin nonroot
# COPY --from keeps the security.capability extended attribute (BuildKit, the default builder
# since Docker 23; the legacy builder drops it).
COPY --from=build /out/clusterdns /usr/local/bin/clusterdns
COPY zones /zones
USER 65532:65532
EXPOSE 53/udp 53/tcp 8080 8181 9153
# `serve` is the entrypoint, so a Deployment's args (`-conf /etc/coredns/Corefile`, or flags)
# are serve's arguments.
ENTRYPOINT ["clusterdns", "serve"]
CMD ["--zones", "/zones", "--listen", "0.0.0.0:53"]
