# syntax=docker/dockerfile:1
# Portcullis: a multi-stage build. The runtime image holds the binary, libssl3 and CA
# certificates, runs as a non-root user, and keeps its state in the /data volume.
# DL3008 (pin apt versions) is off on purpose: Debian stable replaces package versions with
# every security update, so pins would break rebuilds; the base image tag is the pin.
# hadolint global ignore=DL3008

FROM rust:1.95-slim-bookworm AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY migration ./migration
COPY src ./src
COPY templates ./templates
COPY static ./static
COPY config ./config
RUN cargo build --release --locked --bin portcullis

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin portcullis \
 && mkdir -p /data \
 && chown portcullis:portcullis /data
COPY --from=builder /src/target/release/portcullis /usr/local/bin/portcullis
USER 10001:10001
WORKDIR /data
ENV PORTCULLIS_BIND=0.0.0.0:5000 \
    PORTCULLIS_DATA_DIR=/data \
    PORTCULLIS_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 5000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["curl", "-fsS", "http://127.0.0.1:5000/health/live"]
ENTRYPOINT ["/usr/local/bin/portcullis"]
CMD ["serve"]
