# syntax=docker/dockerfile:1
# Multi-stage build: compile in the Rust image, run in a slim Debian as a non-root user.
# Swagger UI is vendored by utoipa-swagger-ui, so the build downloads nothing but crates.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src src
COPY migrations migrations
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin salesfunnel \
 && cp target/release/salesfunnel /usr/local/bin/salesfunnel

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin salesfunnel
COPY --from=build /usr/local/bin/salesfunnel /usr/local/bin/salesfunnel
USER 10001:10001
# In a container there is no embedded PostgreSQL: set DATABASE_URL and JWT_SECRET
# (or JWT_PUBLIC_KEY_FILE + JWT_ALGORITHM). Probes: GET /healthz (liveness), /readyz (readiness).
ENV BIND=0.0.0.0:8080 \
    RUST_LOG=info
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/salesfunnel", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/salesfunnel"]
CMD ["serve"]
