#!/bin/sh
# Opens a report page in headless Chromium, takes a screenshot and checks from the rendered
# DOM that every plot is there, and that the page logged no errors. The page is the one in
# DIR: capacity.html (orrery capacity), report.html (orrery run) or compare.html (orrery
# report on an orrery compare directory); PAGE=capacity|report|compare picks one when DIR
# holds several.
# Usage: scripts/check-report-html.sh DIR [SCREENSHOT.png]
# Needs Debian's `chromium` package (apt-get install -y chromium); exits 77 (skip) without it.
set -eu
dir=${1:?usage: $0 DIR [SCREENSHOT.png]}
page=${PAGE:-}
if [ -z "$page" ]; then
    for p in capacity report compare; do
        if [ -f "$dir/$p.html" ]; then page=$p; break; fi
    done
fi
[ -n "$page" ] || { echo "error: no capacity.html, report.html or compare.html in $dir" >&2; exit 2; }
shot=${2:-$dir/$page.png}
html=$(cd "$dir" && pwd)/$page.html
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$chromium" ]; then
    echo "skip: chromium not installed (apt-get install -y chromium)" >&2
    exit 77
fi
[ -f "$html" ] || { echo "error: $html not found" >&2; exit 2; }
# What each page must show: at least MIN plots, and these plot ids.
case "$page" in
    capacity) min=7; ids="attainment fragmentation timeline_gpu timeline_queue cdf_wait cdf_jct" ;;
    report) min=5; ids="gantt timeline_gpu timeline_queue cdf_wait cdf_jct" ;;
    compare) min=7; ids="jct_cdf" ;;
    *) echo "error: PAGE must be capacity, report or compare" >&2; exit 2 ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
flags="--headless --disable-gpu --no-sandbox --no-first-run --user-data-dir=$tmp/profile"
# The DOM after rendering, with the console log on stderr.
# shellcheck disable=SC2086
"$chromium" $flags --enable-logging=stderr --v=0 --dump-dom "file://$html" \
    >"$tmp/dom.html" 2>"$tmp/log.txt" || { cat "$tmp/log.txt" >&2; exit 1; }
# shellcheck disable=SC2086
"$chromium" $flags --hide-scrollbars --window-size=1200,${HEIGHT:-4000} --screenshot="$shot" \
    "file://$html" >/dev/null 2>>"$tmp/log.txt"
[ -s "$shot" ] || { echo "error: no screenshot written" >&2; exit 1; }
fail=0
svgs=$(grep -o '<svg' "$tmp/dom.html" | wc -l)
want=$(grep -o '<figure class="plot"' "$html" | wc -l)
echo "rendered: $svgs <svg> elements, $want plots in the page ($page.html)"
[ "$want" -ge "$min" ] || { echo "error: expected at least $min plots" >&2; fail=1; }
[ "$svgs" -ge "$want" ] || { echo "error: only $svgs of $want plots rendered" >&2; fail=1; }
for id in $ids; do
    grep -q "<figure class=\"plot\" id=\"$id\"" "$tmp/dom.html" \
        || { echo "error: plot $id missing from the rendered page" >&2; fail=1; }
done
# Plot content: every chart has its polylines (data, axes) and text (axes, legend).
lines=$(grep -o '<polyline' "$tmp/dom.html" | wc -l)
echo "rendered: $lines polylines"
[ "$lines" -ge "$want" ] || { echo "error: plots without lines" >&2; fail=1; }
if [ "$page" = report ]; then
    # The Gantt chart has its bars: rectangles inside the gantt figure (the background,
    # at least one legend key and at least one bar).
    bars=$(awk '/<figure class="plot" id="gantt"/{on=1} on&&/<\/figure>/{on=0} on' "$tmp/dom.html" \
        | grep -o '<rect' | wc -l)
    echo "rendered: Gantt with $bars rectangles"
    [ "$bars" -ge 3 ] || { echo "error: the Gantt chart has no bars" >&2; fail=1; }
fi
if grep -q '<table' "$tmp/dom.html"; then
    # Wide tables scroll inside the page instead of overflowing it.
    tables=$(grep -o '<table' "$tmp/dom.html" | wc -l)
    wrapped=$(grep -o '<div class="scroll"><table' "$tmp/dom.html" | wc -l)
    [ "$tables" -eq "$wrapped" ] \
        || { echo "error: $((tables - wrapped)) of $tables tables not in a scroll container" >&2; fail=1; }
fi
if grep -E 'CONSOLE|Uncaught|ERROR:.*(file://|html)' "$tmp/log.txt" | grep -v -i 'dbus\|gpu\|sandbox' ; then
    echo "error: the page logged errors (above)" >&2
    fail=1
fi
echo "screenshot: $shot"
[ "$fail" -eq 0 ] && echo "ok: $html rendered with its plots"
exit "$fail"
