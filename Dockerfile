# faultline's container images, from Debian 12 (docs/install.md, "Container images"):
#   faultline        the command (the controller), e.g. for a scheduled game day
#   faultline-agent  the per-host agent, for a DaemonSet (deploy/kubernetes/)
# The build stage compiles faultline and makes its .deb packages; each image installs one of
# them with apt, so an image holds what the package holds, and its libraries are the package's
# Depends as dpkg-shlibdeps computed them.
#   podman build --target faultline-agent -t faultline-agent:0.1.0 .
#   podman build --target faultline -t faultline:0.1.0 .
# With no registry to pull Debian from, scripts/build-images.sh makes the base image from a
# debootstrap root and builds both.
ARG BASE=docker.io/library/debian:bookworm-slim

FROM ${BASE} AS build
ENV DEBIAN_FRONTEND=noninteractive
COPY scripts/install-deps.sh /src/scripts/install-deps.sh
RUN /src/scripts/install-deps.sh --build-only && rm -rf /var/lib/apt/lists/*
COPY . /src
# ccache's cache outlives the build (a cache mount): a rebuild after a change compiles only it.
RUN --mount=type=cache,target=/root/.cache/ccache \
    cmake -S /src -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFAULTLINE_WERROR=ON \
          -DBUILD_TESTING=OFF \
 && cmake --build /build -j"$(nproc)" \
 && cpack --config /build/CPackConfig.cmake -B /debs \
 && rm -rf /debs/_CPack_Packages

FROM ${BASE} AS faultline
# Copied, not bound with RUN --mount=type=bind,from=build: podman 4.3's buildah binds an empty
# folder when the build stage came from its cache. The copy's layer keeps the package (6 MB).
COPY --from=build /debs/faultline_*.deb /tmp/
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends /tmp/faultline_*.deb \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /tmp/*.deb
# Root by default: local faults and `faultline lab` need it. A controller that only drives agents
# does not; deploy/kubernetes/gameday-cronjob.yaml runs it as nobody.
ENTRYPOINT ["faultline"]
CMD ["--help"]

FROM ${BASE} AS faultline-agent
COPY --from=build /debs/faultline-agent_*.deb /tmp/
# The package's postinst enables the unit for systemd; in an image nothing else happens.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends /tmp/faultline-agent_*.deb \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /tmp/*.deb
EXPOSE 7443
# SIGTERM (docker stop, a pod's end) reverts every fault before the agent exits.
STOPSIGNAL SIGTERM
ENTRYPOINT ["faultline-agent"]
CMD ["--config", "/etc/faultline/agent.yaml"]
