#!/usr/bin/env bash
# deploy/config: every shipped config passes `ctimd --check-config`.  The files of one
# cluster (pair-*.yaml, trio-*.yaml: the part of the name before the dash) must make one
# cluster: distinct node ids; each node lists exactly the others as peers, at their
# cluster ports; a different priority per node for each PBX (so the preferred holder is
# written down, not left to the ids' order); the same user password hashes; and resolved
# configs that are the same but for node.id, pbx[].priority and cluster.peers — users,
# numbers, lines, the PBXs and the cluster's timers must agree, since applications fail
# over between the nodes.
#   ship_config_check.sh CTIMD CONFIG_DIR        exit 0 ok, 1 failure
set -euo pipefail
ctimd=$1 dir=$2
scratch=$(mktemp -d /tmp/ctim-config-check-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
flat() { tr '\n' ' ' <<<"$1" | sed 's/ *$//'; }

declare -A groups=()
for f in "$dir"/*.yaml; do
    name=$(basename "$f" .yaml)
    if ! "$ctimd" --check-config "$f" >"$scratch/$name.out" 2>"$scratch/$name.err"; then
        cat "$scratch/$name.err"
        bad "$name.yaml does not pass ctimd --check-config"
        continue
    fi
    echo "ok: $(tail -n 1 "$scratch/$name.err")"
    [[ $name == *-* ]] && groups[${name%%-*}]+="$name "
done

# Facts of one resolved config (ctimd --check-config prints every key, two spaces a level):
#   id ID | port PORT (cluster.port) | peer ID PORT | prio PBX N
s_facts() {
    awk '
        /^[a-z_]+:/ { sec = $1; sub(/:$/, "", sec); next }
        sec == "node" && /^  id: /         { gsub(/"/, "", $2); print "id", $2 }
        sec == "pbx" && /^  - name: /      { gsub(/"/, "", $3); pbx = $3 }
        sec == "pbx" && /^    priority: /  { print "prio", pbx, $2 }
        sec == "cluster" && /^  port: /    { print "port", $2 }
        sec == "cluster" && /^    - id: /  { gsub(/"/, "", $3); peer = $3 }
        sec == "cluster" && /^      endpoint: / { gsub(/"/, "", $2); n = split($2, hp, ":"); print "peer", peer, hp[n] }
    ' "$1"
}

# The resolved config without what may differ between the nodes of one cluster.
s_shared() {
    awk '
        NR == 1 { next }                                   # "# ... resolved from FILE"
        /^[a-z_]+:/ { sec = $1; sub(/:$/, "", sec) }
        sec == "node" && /^  id: / { next }
        sec == "pbx" && /^    priority: / { next }
        sec == "cluster" && /^  peers:/ { skip = 1; next }
        skip && /^    / { next }
        { skip = 0; print }
    ' "$1"
}

for g in "${!groups[@]}"; do
    read -r -a nodes <<<"${groups[$g]}"
    [ ${#nodes[@]} -ge 2 ] || { bad "$g: one file only (${nodes[*]})"; continue; }
    declare -A id_of=() port_of=()
    for n in "${nodes[@]}"; do
        s_facts "$scratch/$n.out" >"$scratch/$n.facts"
        id_of[$n]=$(awk '$1 == "id" { print $2 }' "$scratch/$n.facts")
        port_of[${id_of[$n]}]=$(awk '$1 == "port" { print $2 }' "$scratch/$n.facts")
        s_shared "$scratch/$n.out" >"$scratch/$n.shared"
        grep -h 'password_hash:' "$dir/$n.yaml" >"$scratch/$n.hashes" || true
    done
    ids=$(printf '%s\n' "${id_of[@]}" | sort)
    [ "$(uniq <<<"$ids" | wc -l)" = ${#nodes[@]} ] || bad "$g: node ids repeat: $(flat "$ids")"
    first=${nodes[0]}
    for n in "${nodes[@]}"; do
        me=${id_of[$n]}
        want=$(grep -vx -- "$me" <<<"$ids")
        got=$(awk '$1 == "peer" { print $2 }' "$scratch/$n.facts" | sort)
        [ "$got" = "$want" ] || bad "$n: peers $(flat "$got"), want the other nodes $(flat "$want")"
        while read -r _ peer port; do
            [ "$port" = "${port_of[$peer]:-}" ] ||
                bad "$n: peer $peer at port $port, but its cluster.port is ${port_of[$peer]:-unknown}"
        done < <(grep '^peer ' "$scratch/$n.facts")
        diff -u "$scratch/$first.shared" "$scratch/$n.shared" >"$scratch/diff" ||
            { cat "$scratch/diff"; bad "$n differs from $first beyond node.id, priorities and peers"; }
        cmp -s "$scratch/$first.hashes" "$scratch/$n.hashes" ||
            bad "$n: users' password hashes differ from $first's"
    done
    # One priority per node and PBX, all different.
    dup=$(for n in "${nodes[@]}"; do grep '^prio ' "$scratch/$n.facts"; done | sort | uniq -d)
    [ -z "$dup" ] || bad "$g: nodes share a priority for a PBX: $dup"
    echo "ok: $g: ${#nodes[@]} nodes ($(flat "$ids")), each lists the others; shared settings agree"
    unset id_of port_of
done
exit $fail
