# Builds the civic311 binary, with its bundled plugins, and a small runtime image.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN rustup target add wasm32-wasip2 && cargo build --release --bin civic311

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/civic311 /usr/local/bin/civic311
COPY tenants /app/tenants
WORKDIR /app
USER 65534
EXPOSE 8080
ENTRYPOINT ["civic311"]
CMD ["serve", "--bind", "0.0.0.0:8080"]
