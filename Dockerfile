# Build: a release binary with the Swift standard library linked statically.
FROM swift:6.3-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libldns-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Package.swift names test-support, benchmark and fuzz targets by path; only clusterdns is built.
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
COPY Benchmarks ./Benchmarks
COPY Fuzz ./Fuzz
RUN swift build -c release --static-swift-stdlib --product clusterdns \
 && install -D "$(swift build -c release --show-bin-path)/clusterdns" /out/clusterdns

# Run: Debian slim with libldns only, as an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libldns3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home clusterdns
COPY --from=build /out/clusterdns /usr/local/bin/clusterdns
COPY zones /zones
USER 10001
EXPOSE 53/udp 53/tcp 8080 8181 9153
ENTRYPOINT ["clusterdns", "serve"]
CMD ["--zones", "/zones", "--listen", "0.0.0.0:53"]
