#!/bin/sh
# Builds the image from Containerfile and runs the documented Kubernetes Indexed Job
# (docs/examples/capacity-indexed-job.yaml) as its pods would: the container's shell
# script, taken from the manifest as written, once per completion index with
# JOB_COMPLETION_INDEX and SHARDS set and /results a shared directory; then merges the
# shards with `orrery merge` inside the image. Usage:
#   scripts/check-container.sh [SHARDS-TO-RUN]      (default: all, from the manifest)
# shellcheck disable=SC2086  # ENGINE and BUILD_ARGS are word-split on purpose.
# Environment: ENGINE (podman or docker, with global flags if needed; default: whichever is installed), IMAGE (tag,
# default localhost/orrery:check), BUILD_ARGS (extra build flags, e.g. base-image
# --build-arg overrides for a mirror), SKIP_BUILD=1 (use IMAGE as already built), VIA_BUILD=1 (run each pod's script in a `RUN` step
# of a derived image instead of `ENGINE run`: for machines whose engine can build but not
# run containers, e.g. rootless nested podman; the script, user and environment are the same).
set -eu
cd "$(dirname "$0")/.."
job=docs/examples/capacity-indexed-job.yaml
engine=${ENGINE:-$(command -v podman || command -v docker || true)}
[ -n "$engine" ] || { echo "skip: neither podman nor docker is installed" >&2; exit 77; }
image=${IMAGE:-localhost/orrery:check}
# The pod's script: the literal block under `args: - |` in the manifest.
script=$(awk '/^ *args:/{f=1;next} f&&/^ *- \|/{getline; ind=match($0,/[^ ]/); s=1}
  s{ if (match($0,/[^ ]/)<ind && $0 !~ /^ *$/) exit; print substr($0,ind)}' "$job")
completions=$(sed -n 's/^ *completions: *\([0-9]*\).*/\1/p' "$job")
shards=$(sed -n '/name: SHARDS/{n;s/^ *value: *"\([0-9]*\)".*/\1/p}' "$job")
[ -n "$script" ] && [ -n "$completions" ] && [ "$shards" = "$completions" ] \
    || { echo "error: cannot read the script, completions and SHARDS from $job" >&2; exit 2; }
run=${1:-$completions}
if [ "${SKIP_BUILD:-0}" = 1 ]; then
    echo "== using the existing image $image"
else
    echo "== build $image"
    # shellcheck disable=SC2086
    $engine build ${BUILD_ARGS:-} -f Containerfile -t "$image" .
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
i=0
while [ "$i" -lt "$run" ]; do
    echo "== pod JOB_COMPLETION_INDEX=$i of $completions"
    if [ "${VIA_BUILD:-0}" = 1 ]; then
        # The pod's script, run by the image's shell as the image's user.
        printf '%s\n' "$script" >"$out/pod.sh"
        {
            echo "FROM $image"
            echo "ENV JOB_COMPLETION_INDEX=$i SHARDS=$shards"
            echo "COPY --chown=10001 results /results"
            echo "COPY pod.sh /tmp/pod.sh"
            echo "RUN /bin/sh /tmp/pod.sh"
        } >"$out/Containerfile.pod"
        mkdir -p "$out/results"
                $engine build ${BUILD_ARGS:-} -f "$out/Containerfile.pod" -t "$image-pod" "$out"
        # Copy the shard out of the built image into the shared results directory.
        cid=$($engine create "$image-pod")
        $engine cp "$cid:/results/shard-$((i + 1))" "$out/results/"
        $engine rm "$cid" >/dev/null
    else
        mkdir -p "$out/results" && chmod 777 "$out/results"
        $engine run --rm -e JOB_COMPLETION_INDEX="$i" -e SHARDS="$shards" \
            -v "$out/results:/results" "$image" /bin/sh -c "$script"
    fi
    i=$((i + 1))
done
ls "$out/results"
[ "$run" -eq "$completions" ] || { echo "ran $run of $completions shards: not merging"; exit 0; }
echo "== merge"
if [ "${VIA_BUILD:-0}" = 1 ]; then
    {
        echo "FROM $image"
        echo "COPY --chown=10001 results /results"
        echo "RUN orrery merge $(i=1; while [ $i -le "$shards" ]; do printf '/results/shard-%s ' $i; i=$((i+1)); done)--out /results/capacity && ls /results/capacity"
    } >"$out/Containerfile.merge"
        $engine build ${BUILD_ARGS:-} -f "$out/Containerfile.merge" -t "$image-merge" "$out"
else
    $engine run --rm -v "$out/results:/results" "$image" /bin/sh -c \
        "orrery merge /results/shard-* --out /results/capacity && ls /results/capacity"
fi
echo "ok: the Indexed Job's $completions pods and the merge ran in $image"
