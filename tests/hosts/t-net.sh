#!/bin/bash
# The harness itself (tests/hosts/net.sh): every host answers ssh from the
# source with the user key, under its own name; each host's home is its
# own and none of them is the real one; a host reaches another with an
# agent forwarded from the source, and with nothing else (no key file is
# there); tbf on the source's uplink holds a transfer to its rate, and the
# uplink's counter counts it; a host taken down cannot be reached and is
# back when brought up.
. "${SCOW_SYNC_SRCDIR:-$(dirname "$0")/../..}/tests/hosts/lib.sh"

real_home=$(getent passwd "$HOSTS_USER" | cut -d: -f6)

# ---- every host, by ssh from the source
for k in $(seq 1 "$HOSTS_N"); do
	name=$(src_ssh "$k" hostname 2>"$T/ssh.err") ||
		fail "src cannot ssh to h$k: $(cat "$T/ssh.err")"
	[ "$name" = "h$k" ] || fail "h$k says its name is '$name'"
done

# ---- private homes
mark=only-h1-$$
on_host 1 sh -c 'echo mine >"$HOME/$1"' sh "$mark" || fail "cannot write in h1's home"
[ "$(cat "$HOSTS_HOME_1/$mark" 2>/dev/null)" = mine ] || fail "h1's ~ is not \$HOSTS_HOME_1"
[ ! -e "$HOSTS_HOME_2/$mark" ] || fail "h1's file is in h2's home"
src_ssh 2 "test ! -e ~/$mark" || fail "h2 sees h1's file in its ~"
[ ! -e "$real_home/$mark" ] || fail "h1's file is in the real home $real_home"
on_host 1 test ! -e "$HOSTS_KEY" || fail "h1 sees the user key $HOSTS_KEY"
grep -qF "$HOSTS_DIR" /proc/self/mountinfo && fail "a mount of the harness is seen outside"

# ---- host to host, with the source's agent and only with it
out=$(src_ssh 1 "ssh -o BatchMode=yes -o ConnectTimeout=5 $HOSTS_USER@$HOSTS_ADDR_2 true" 2>&1) &&
	fail "h1 reaches h2 without an agent: $out"
agent_env=$(on_src ssh-agent -s -a "$T/agent.sock") || fail "ssh-agent did not start"
agent_pid=$(sed -n 's/^SSH_AGENT_PID=\([0-9]*\);.*/\1/p' <<<"$agent_env")
export SSH_AUTH_SOCK=$T/agent.sock
on_src ssh-add -q "$HOSTS_KEY" 2>"$T/add.err" || fail "ssh-add: $(cat "$T/add.err")"
name=$(on_src ssh "${SRC_SSH_OPTS[@]}" -A "$HOSTS_USER@$HOSTS_ADDR_1" \
	"test ! -e '$HOSTS_KEY' && ssh -o BatchMode=yes $HOSTS_USER@$HOSTS_ADDR_2 hostname" \
	2>"$T/relay.err") ||
	fail "h1 cannot reach h2 with the forwarded agent: $(cat "$T/relay.err")"
[ "$name" = h2 ] || fail "h1 to h2 with the agent reached '$name'"
[ -n "$agent_pid" ] && kill "$agent_pid"
unset SSH_AUTH_SOCK

# ---- tbf on the source's uplink: 4 MiB at 20 Mbit/s is 1.68 s
tx_bytes() { on_src cat "/sys/class/net/$HOSTS_SRC_IFACE/statistics/tx_bytes"; }
now() { date +%s%N; }
send_4m() { head -c 4194304 /dev/zero | src_ssh 1 'cat >/dev/null'; }
t0=$(now)
send_4m || fail "4 MiB unshaped did not go"
fast_ms=$((($(now) - t0) / 1000000))
net shape src 20mbit || fail "net.sh shape src 20mbit failed"
tx0=$(tx_bytes)
t0=$(now)
send_4m || fail "4 MiB at 20mbit did not go"
slow_ms=$((($(now) - t0) / 1000000))
tx1=$(tx_bytes)
net shape src none || fail "net.sh shape src none failed"
echo "4 MiB to h1: unshaped $fast_ms ms, at 20mbit $slow_ms ms, src sent $((tx1 - tx0)) bytes"
[ "$slow_ms" -ge 1200 ] || fail "4 MiB at 20mbit took only $slow_ms ms"
[ "$slow_ms" -le 8000 ] || fail "4 MiB at 20mbit took $slow_ms ms"
[ $((tx1 - tx0)) -ge 4194304 ] || fail "src's tx_bytes grew by $((tx1 - tx0)), less than sent"
on_src tc qdisc show dev "$HOSTS_SRC_IFACE" | grep -q tbf && fail "shape none left a tbf"

# ---- a host goes away and comes back
net down h3 || fail "net.sh down h3 failed"
# ssh takes an option's first value: this ConnectTimeout wins.
on_src ssh -o ConnectTimeout=2 "${SRC_SSH_OPTS[@]}" -i "$HOSTS_KEY" \
	"$HOSTS_USER@$HOSTS_ADDR_3" true 2>/dev/null && fail "h3 answers while down"
net up h3 || fail "net.sh up h3 failed"
wait_for 10 src_ssh 3 true 2>/dev/null || fail "h3 does not answer once up again"

no_processes_left || fail "processes are left on the nodes"
finish
