#!/bin/sh
# Opens a capacity report (capacity.html) in headless Chromium, takes a screenshot and
# checks from the rendered DOM that every plot is there, and that the page logged no
# errors. Usage: scripts/check-report-html.sh DIR [SCREENSHOT.png]
# Needs Debian's `chromium` package (apt-get install -y chromium); exits 77 (skip) without it.
set -eu
dir=${1:?usage: $0 DIR [SCREENSHOT.png]}
shot=${2:-$dir/capacity.png}
html=$(cd "$dir" && pwd)/capacity.html
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$chromium" ]; then
    echo "skip: chromium not installed (apt-get install -y chromium)" >&2
    exit 77
fi
[ -f "$html" ] || { echo "error: $html not found" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
flags="--headless --disable-gpu --no-sandbox --no-first-run --user-data-dir=$tmp/profile"
# The DOM after rendering, with the console log on stderr.
# shellcheck disable=SC2086
"$chromium" $flags --enable-logging=stderr --v=0 --dump-dom "file://$html" \
    >"$tmp/dom.html" 2>"$tmp/log.txt" || { cat "$tmp/log.txt" >&2; exit 1; }
# shellcheck disable=SC2086
"$chromium" $flags --hide-scrollbars --window-size=1200,4000 --screenshot="$shot" \
    "file://$html" >/dev/null 2>>"$tmp/log.txt"
[ -s "$shot" ] || { echo "error: no screenshot written" >&2; exit 1; }
fail=0
svgs=$(grep -o '<svg' "$tmp/dom.html" | wc -l)
want=$(grep -o '<figure class="plot"' "$html" | wc -l)
echo "rendered: $svgs <svg> elements, $want plots in the page"
[ "$want" -ge 7 ] || { echo "error: expected at least 7 plots" >&2; fail=1; }
[ "$svgs" -ge "$want" ] || { echo "error: only $svgs of $want plots rendered" >&2; fail=1; }
for id in attainment fragmentation timeline_gpu timeline_queue cdf_wait cdf_jct; do
    grep -q "<figure class=\"plot\" id=\"$id\"" "$tmp/dom.html" \
        || { echo "error: plot $id missing from the rendered page" >&2; fail=1; }
done
# Plot content: every chart has its polylines (data) and text (axes, legend).
lines=$(grep -o '<polyline' "$tmp/dom.html" | wc -l)
echo "rendered: $lines polylines"
[ "$lines" -ge "$want" ] || { echo "error: plots without lines" >&2; fail=1; }
if grep -E 'CONSOLE|Uncaught|ERROR:.*(file://|html)' "$tmp/log.txt" | grep -v -i 'dbus\|gpu\|sandbox' ; then
    echo "error: the page logged errors (above)" >&2
    fail=1
fi
echo "screenshot: $shot"
[ "$fail" -eq 0 ] && echo "ok: $html rendered with its plots"
exit "$fail"
