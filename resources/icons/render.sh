#!/bin/sh
# Re-renders the PNG sizes of the application icon from ../strata.svg (needs rsvg-convert, from
# librsvg2-bin). The PNGs are committed so the icon shows where Qt's SVG plugin is not installed.
set -e
cd "$(dirname "$0")"
for size in 32 64 128 256; do
    rsvg-convert -w "$size" -h "$size" ../strata.svg -o "strata-$size.png"
done
