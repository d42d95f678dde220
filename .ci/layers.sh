#!/usr/bin/env bash
# The layer rules of docs/architecture.md, checked with grep over src/: exits 1 on a violation
# and names it. `bash .ci/layers.sh --graph` prints the import graph between the top-level
# modules of src/ instead (module -> modules it imports), `--edges` every file-level import
# ("from to"); neither checks anything.
#
# Imports are the paths a file names (`crate::…`, `super::…`, `self::…`, one level of
# `{…}` groups), resolved to the longest prefix that is a module file. Bare paths to a
# module's own children (`layers::…` in http/mod.rs) are not seen, nor `mod tests` at a
# file's end (test code may reach anywhere).
set -euo pipefail
cd "$(dirname "$0")/.."

failed=0
violation() {
  printf 'layers: %s\n' "$*" >&2
  failed=1
}

# Module path (`http::layers`) -> file.
declare -A file_of=()
while IFS= read -r f; do
  m=${f#src/}
  m=${m%.rs}
  m=${m%/mod}
  file_of[${m//\//::}]=$f
done < <(find src -name '*.rs' | sort)

# The modules that file $2 (module $1) imports, one a line.
imports_of() {
  local module=$1 file=$2 path base rest item
  local -a parts scope
  sed -e '/^mod tests {/,$d' -e 's://.*$::' "$file" | tr '\n' ' ' |
    grep -oE '\b(crate|super|self)(::[A-Za-z_][A-Za-z0-9_]*)+(::\{[^{}]*\})?' |
    while IFS= read -r path; do
      base=${path%%::\{*}
      if [[ $path == *'::{'* ]]; then
        rest=${path#*::\{}
        rest=${rest%\}}
        IFS=',' read -ra items <<<"$rest"
        for item in "${items[@]}"; do
          item=${item// /}
          item=${item%%as*}
          [[ -z $item || $item == self ]] && echo "$base" || echo "$base::$item"
        done
      else
        echo "$base"
      fi
    done |
    while IFS= read -r path; do
      IFS=':' read -ra parts <<<"${path//::/:}"
      case ${parts[0]} in
        crate) scope=() ;;
        *) IFS=':' read -ra scope <<<"${module//::/:}" ;;
      esac
      [[ ${parts[0]} == crate ]] && parts=("${parts[@]:1}")
      while ((${#parts[@]})) && [[ ${parts[0]} == super || ${parts[0]} == self ]]; do
        [[ ${parts[0]} == super ]] && scope=("${scope[@]:0:${#scope[@]}-1}")
        parts=("${parts[@]:1}")
      done
      local -a full=("${scope[@]}" "${parts[@]}")
      local n candidate
      for ((n = ${#full[@]}; n > 0; n--)); do
        candidate=$(IFS=':'; echo "${full[*]:0:n}")
        candidate=${candidate//:/::}
        if [[ -n ${file_of[$candidate]:-} ]]; then
          [[ $candidate != "$module" ]] && echo "$candidate"
          break
        fi
      done
    done | sort -u
}

# Every edge "from to" between module files.
edges=$(for m in "${!file_of[@]}"; do
  imports_of "$m" "${file_of[$m]}" | sed "s/^/$m /"
done | sort -u)

top() { echo "${1%%::*}"; }

if [[ ${1:-} == --edges ]]; then
  echo "$edges"
  exit 0
fi

if [[ ${1:-} == --graph ]]; then
  for m in $(for m in "${!file_of[@]}"; do top "$m"; done | sort -u); do
    deps=$(awk -v m="$m" '{ split($1, a, "::"); split($2, b, "::"); if (a[1] == m && b[1] != m) print b[1] }' \
      <<<"$edges" | sort -u | paste -sd ' ' -)
    printf '%s -> %s\n' "$m" "${deps:-(none)}"
  done
  exit 0
fi

# Rule: no import cycle between files (two files importing each other, or a longer ring).
# Domain and store meet only through value types: the store may use a domain *type* module
# (identity::user, oauth::client, …), never a service module, because services import the
# store and that closes a ring. A child's use of its own parent (`super::ConfigError` in
# config/env.rs, whose parent re-exports it) is not counted: a child is part of its parent.
if ! loops=$(awk '{ if (index($1, $2 "::") != 1) print $1, $2 }' <<<"$edges" | tsort 2>&1 >/dev/null); then
  violation "import cycle among: $(grep -v 'input contains a loop' <<<"$loops" | sed 's/^tsort: //' | paste -sd ' ' -)"
fi

# Rule: the surfaces are peers. Nothing under http/oauth or http/api imports http/pages (what
# two surfaces share lives directly in src/http).
while read -r from to; do
  case $from in http::oauth* | http::api*) ;; *) continue ;; esac
  case $to in http::pages*) violation "$from imports $to: share it from src/http instead" ;; esac
done <<<"$edges"

# Rule: nothing below src/http imports http, except the wiring that builds the app (startup,
# server) and the property tests of the form parser.
while read -r from to; do
  case $(top "$from") in http | startup | server | proptests | lib | main) continue ;; esac
  case $to in http*) violation "$from imports $to: the domain and the store know no HTTP" ;; esac
done <<<"$edges"

# Rule: config and the other neutral modules (any layer imports them) import no layer.
neutral='^(config|clock|crypto|i18n|jws|net|outbound|secret)$'
while read -r from to; do
  [[ $(top "$from") =~ $neutral ]] || continue
  [[ $(top "$to") =~ $neutral ]] || violation "$from imports $to: config, clock, crypto, i18n, jws, net, outbound, secret import no layer"
done <<<"$edges"

# The grep rules: code lines only (comment lines dropped), test modules at a file's end included.
code_lines() { grep -rnE "$1" src --include='*.rs' | grep -vE '^[^:]+:[0-9]+:[[:space:]]*//' || true; }

# Rule: no axum, tower-sessions, tower-http or hyper type below src/http. Exceptions: the
# wiring that builds and serves the app: startup.rs, state.rs (the state holds the
# discovery document as a body), server.rs (the accept loop), outbound.rs (the HTTP client
# that sends requests out: webhooks).
code_lines '\b(axum|tower_sessions|tower_http|hyper|hyper_util)::' |
  grep -vE '^src/(http/|startup\.rs|state\.rs|server\.rs|outbound\.rs)' |
  while IFS= read -r hit; do echo "layers: HTTP type outside src/http: $hit" >&2; echo x; done |
  grep -q x && failed=1

# Rule: no SeaORM outside src/store (the migration crate is outside src/ and may). No
# exceptions today; `Db::conn()`, the raw connection, is not called outside src/store either.
code_lines '\bsea_orm::|\buse sea_orm\b|\.conn\(\)' |
  grep -vE '^src/store/' |
  while IFS= read -r hit; do echo "layers: SeaORM outside src/store: $hit" >&2; echo x; done |
  grep -q x && failed=1

if ((failed)); then
  echo "layers: the rules are in docs/architecture.md (Layers)" >&2
  exit 1
fi
echo "layers: ok (${#file_of[@]} files)"
