#!/bin/sh
# Runs each benchmark given on the command line; each ends with one line of
# key=value figures.
set -e
for b in "$@"; do
	echo "== $(basename "$b")"
	"$b"
done
