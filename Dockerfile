# DockerPulse container image (multi-stage). Build: docker build -t dockerpulse .
# Without a registry, scripts/build_image.sh makes an equivalent image FROM scratch instead.
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
RUN rustup target add wasm32-unknown-unknown \
 && cargo install cargo-leptos@0.3.10 --locked \
 && cargo install wasm-bindgen-cli --version 0.2.130 \
 && npm install -g binaryen@132.0.0
WORKDIR /src
COPY . .
ENV LEPTOS_OUTPUT_NAME=dockerpulse
RUN cargo leptos build --release \
 && mkdir -p /out && cp target/release/dockerpulse /out/ && cp -r target/site /out/site

FROM debian:bookworm-slim
COPY --from=build /out/dockerpulse /usr/local/bin/dockerpulse
COPY --from=build /out/site /usr/share/dockerpulse/site
ENV DOCKERPULSE_SITE_ROOT=/usr/share/dockerpulse/site \
    DOCKERPULSE_DATA_DIR=/data \
    DOCKERPULSE_REPORTS_DIR=/reports \
    DOCKERPULSE_BIND=0.0.0.0:3000
VOLUME ["/data", "/reports"]
EXPOSE 3000
ENTRYPOINT ["dockerpulse"]
CMD ["serve"]
