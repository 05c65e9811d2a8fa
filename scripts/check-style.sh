#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# check-style.sh: the style gate behind `make check`.
#   1. clang-format (the repo's .clang-format) must leave every C file under
#      src/, tests/ and bench/ unchanged;
#   2. no banned function (strcpy, strcat, sprintf, vsprintf, gets, atoi, atol)
#      is called in src/ or tests/: each finding is printed as file:line.
# Files are the ones git knows: tracked, plus new files not yet added (so a
# check before the first commit sees them too), minus what .gitignore excludes.
# Generated headers (vmlinux*.h, *.skel.h) are skipped. Exit 1 on any finding.
set -euo pipefail

cd "$(dirname -- "$0")/.."

BANNED=(strcpy strcat sprintf vsprintf gets atoi atol)

# c_files PATHSPEC...: existing, non-generated C files git knows about.
c_files() {
	local f
	git ls-files --cached --others --exclude-standard -- "$@" | sort -u |
		while IFS= read -r f; do
			[[ -f "$f" ]] || continue
			case "${f##*/}" in
			vmlinux*.h | *.skel.h) continue ;;
			esac
			printf '%s\n' "$f"
		done
}

status=0

# ---- clang-format ----

mapfile -t fmt_files < <(c_files 'src/*.c' 'src/*.h' 'tests/*.c' 'tests/*.h' \
	'bench/*.c' 'bench/*.h')
if ! command -v clang-format >/dev/null 2>&1; then
	echo "check-style: clang-format not found (scripts/install-deps.sh installs clang)" >&2
	exit 1
fi
if ((${#fmt_files[@]} > 0)); then
	if ! clang-format --dry-run --Werror "${fmt_files[@]}"; then
		echo "check-style: clang-format: files above need formatting (make format)" >&2
		status=1
	fi
fi

# ---- banned functions ----

# Comments and string literals are blanked first, so "never strcpy()" in a
# comment is no finding; the match then needs a call: name, spaces, '('.
mapfile -t ban_files < <(c_files 'src/*.c' 'src/*.h' 'tests/*.c' 'tests/*.h')
banned_re=$(
	IFS='|'
	echo "${BANNED[*]}"
)
if ((${#ban_files[@]} > 0)); then
	findings=$(awk -v re="(^|[^A-Za-z0-9_])(${banned_re})[ \t]*\\(" '
		FNR == 1 { in_comment = 0 }
		{
			line = $0
			out = ""
			while (length(line) > 0) {
				if (in_comment) {
					i = index(line, "*/")
					if (i == 0) { line = ""; break }
					line = substr(line, i + 2)
					in_comment = 0
					continue
				}
				c = substr(line, 1, 1)
				two = substr(line, 1, 2)
				if (two == "/*") { in_comment = 1; line = substr(line, 3); out = out " "; continue }
				if (two == "//") { break }
				if (c == "\"" || c == "'\''") {
					# skip the literal, honouring backslash escapes
					j = 2
					while (j <= length(line)) {
						d = substr(line, j, 1)
						if (d == "\\") { j += 2; continue }
						if (d == c) break
						j++
					}
					line = substr(line, j + 1)
					out = out c c
					continue
				}
				out = out c
				line = substr(line, 2)
			}
			if (out ~ re) {
				match(out, re)
				name = substr(out, RSTART, RLENGTH)
				sub(/^[^A-Za-z_]/, "", name)
				sub(/[ \t]*\($/, "", name)
				printf "%s:%d: banned function %s(): %s\n", FILENAME, FNR, name, $0
			}
		}' "${ban_files[@]}")
	if [[ -n "$findings" ]]; then
		printf '%s\n' "$findings"
		echo "check-style: banned functions used; use snprintf, strtol/strtoul, memcpy with bounds" >&2
		status=1
	fi
fi

if ((status == 0)); then
	echo "check-style: ${#fmt_files[@]} files formatted, no banned functions"
fi
exit "$status"
