#!/usr/bin/env bash
# Fails when generated code is stale: runs `go generate ./...` with the Go
# settings of scripts/goenv.sh and reports every file it changed or created
# (tracked changes as `git diff` would show, and new untracked files).
# Files that were already modified before it ran count only if generation
# changes them further, so it can run on a work tree with local edits.
set -euo pipefail
cd "$(dirname "$0")/.."
git rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
	{ echo "check-generated: $(pwd) is not a git work tree" >&2; exit 2; }
. scripts/goenv.sh

# snapshot prints "<blob hash or 'deleted'> <path>" for each file git sees as
# changed or untracked (ignored files left out), sorted.
snapshot() {
	git status --porcelain=v1 -z --untracked-files=all |
		while IFS= read -r -d '' entry; do
			path=${entry:3}
			case $entry in R* | C*) IFS= read -r -d '' _ ;; esac # the rename's source
			if [ -f "$path" ]; then
				printf '%s %s\n' "$(git hash-object -- "$path")" "$path"
			else
				printf 'deleted %s\n' "$path"
			fi
		done | LC_ALL=C sort
}

before=$(snapshot)
go generate ./...
after=$(snapshot)
mapfile -t stale < <(LC_ALL=C comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after") |
	cut -d' ' -f2- | sed '/^$/d' | LC_ALL=C sort -u)
if [ ${#stale[@]} -gt 0 ]; then
	echo "check-generated: stale generated code: go generate ./... changed ${stale[*]}; run it (after . scripts/goenv.sh) and commit the result" >&2
	git --no-pager diff --stat -- "${stale[@]}" >&2 || true
	exit 1
fi
echo "check-generated: generated code is up to date"
