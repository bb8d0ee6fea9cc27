#!/usr/bin/env bash
# The browser matrix and the protocol conformance suite through nginx
# round-robin (no stickiness) over three cluster nodes, once on Redis and
# once on NATS. For each broker it starts the broker on a free loopback
# port, three sockjsd nodes (heartbeat 1 s, for the browser matrix) and
# three testnode nodes (the protocol suite's four services, with the
# suite's 25 s heartbeat and 4096-byte response limit), an nginx in front
# of each trio (nginx.conf here), runs web/e2e/transports.test.js with
# E2E_SOCKJSD at the sockjsd balancer, then the protocol suite with
# SOCKJS_URL at the testnodes' balancer; and stops everything it started,
# by PID, however it ends.
#
# Needs what web/e2e/run.sh needs, plus Debian's redis-server and
# nats-server. Environment:
#   E2E_BROKERS=redis,nats   the brokers to run on (default both)
#   E2E_KEEP_LOGS=1          keep the logs (their path is printed)
#   other E2E_* variables (E2E_TRANSPORTS, E2E_ORIGINS) narrow the matrix
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
e2e="$(cd "$here/.." && pwd)"
root="$(cd "$here/../../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/sockjsd-cluster-e2e.XXXXXX")"
pids=()
export PATH="$PATH:/usr/sbin:/sbin"
export SOCKJSD_CLUSTER_SECRET="e2e-cluster-secret-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"

stop_all() {
	local pid
	for pid in "${pids[@]}"; do
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	pids=()
}
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_all
	if [[ $rc -ne 0 || -n "${E2E_KEEP_LOGS:-}" ]]; then
		for f in "$work"/*.log; do
			[[ -s "$f" ]] || continue
			echo "---- $(basename "$f") (last 20 lines) ----"
			tail -n 20 "$f"
		done
	fi
	if [[ -n "${E2E_KEEP_LOGS:-}" ]]; then echo "logs kept in $work"; else rm -rf "$work"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for bin in redis-server nats-server nginx; do
	command -v "$bin" >/dev/null || { echo "cluster/run.sh: $bin is missing (.ci/deps installs it)" >&2; exit 2; }
done
[[ -d "$e2e/node_modules/playwright-core" ]] || { echo "cluster/run.sh: run 'npm ci' in $e2e first" >&2; exit 2; }

echo "cluster/run.sh: building"
(cd "$root" && go build -o "$work/sockjsd" ./cmd/sockjsd && go build -o "$work/testnode" ./web/e2e/cluster/testnode &&
	go test -c -o "$work/protocol-tests.test" ./protocol-tests/)

free_port() {
	node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# start NAME CHECK CMD...: CMD in its own process group, logging to
# NAME.log; CHECK is an http URL that must answer 200, or tcp:PORT.
start() {
	local name="$1" check="$2"
	shift 2
	setsid "$@" >"$work/$name.log" 2>&1 &
	local pid=$!
	pids+=("$pid")
	for _ in $(seq 200); do
		if [[ "$check" == tcp:* ]]; then
			if (exec 3<>"/dev/tcp/127.0.0.1/${check#tcp:}") 2>/dev/null; then return 0; fi
		elif node --no-warnings -e 'fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' "$check"; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || { echo "cluster/run.sh: $name exited" >&2; return 1; }
		sleep 0.05
	done
	echo "cluster/run.sh: $name not ready ($check)" >&2
	return 1
}

# balancer NAME NODE1 NODE2 NODE3: nginx round-robin over the three; prints
# its base URL.
balancer() {
	local name="$1" port
	port="$(free_port)"
	mkdir -p "$work/nginx-$name/tmp"
	sed -e "s|@USER@|$(id -un)|" -e "s|@WORK@|$work|" -e "s|@NAME@|$name|" -e "s|@LISTEN@|127.0.0.1:$port|" \
		-e "s|@NODE1@|$2|" -e "s|@NODE2@|$3|" -e "s|@NODE3@|$4|" "$here/nginx.conf" >"$work/nginx-$name/nginx.conf"
	start "nginx-$name" "http://127.0.0.1:$port/echo/info" nginx -e stderr -p "$work/nginx-$name" \
		-c "$work/nginx-$name/nginx.conf" -g "daemon off; pid $work/nginx-$name/nginx.pid; error_log stderr;"
	BALANCER="http://127.0.0.1:$port"
}

IFS=',' read -ra brokers <<<"${E2E_BROKERS:-redis,nats}"
for broker in "${brokers[@]}"; do
	bport="$(free_port)"
	case "$broker" in
	redis)
		start redis "tcp:$bport" redis-server --port "$bport" --bind 127.0.0.1 --save '' --appendonly no
		flag=(-redis "redis://127.0.0.1:$bport")
		;;
	nats)
		mkdir -p "$work/nats"
		start nats "tcp:$bport" nats-server -a 127.0.0.1 -p "$bport" -js -sd "$work/nats"
		sleep 1.5 # JetStream is ready a little after the port
		flag=(-nats "nats://127.0.0.1:$bport")
		;;
	*) echo "cluster/run.sh: unknown broker $broker" >&2; exit 2 ;;
	esac
	d=() t=()
	for i in 1 2 3; do
		p="$(free_port)"
		start "sockjsd-$broker-$i" "http://127.0.0.1:$p/echo/info" \
			"$work/sockjsd" -addr "127.0.0.1:$p" -admin-addr "" -heartbeat 1s "${flag[@]}"
		d+=("127.0.0.1:$p")
		p="$(free_port)"
		start "testnode-$broker-$i" "http://127.0.0.1:$p/echo/info" "$work/testnode" -addr "127.0.0.1:$p" "${flag[@]}"
		t+=("127.0.0.1:$p")
	done
	balancer "sockjsd-$broker" "${d[@]}"
	sockjsd_lb="$BALANCER"
	balancer "testnode-$broker" "${t[@]}"
	testnode_lb="$BALANCER"

	echo "cluster/run.sh: $broker: browser matrix through $sockjsd_lb (3 sockjsd)"
	(cd "$e2e" && E2E_SOCKJSD="$sockjsd_lb" E2E_HEARTBEAT_MS=1000 \
		E2E_TARGETS=sockjsd setsid node --test transports.test.js) &
	pids+=("$!")
	wait "$!"
	echo "cluster/run.sh: $broker: protocol suite through $testnode_lb"
	if ! (cd "$root/protocol-tests" && SOCKJS_URL="$testnode_lb" "$work/protocol-tests.test" -test.count=1 -test.short \
		>"$work/protocol-$broker.out" 2>&1); then
		grep -E -- '--- FAIL|_test.go:[0-9]+:' "$work/protocol-$broker.out" | head -n 60 >&2
		echo "cluster/run.sh: $broker: the protocol suite failed through the balancer" >&2
		exit 1
	fi
	tail -n 1 "$work/protocol-$broker.out"
	for f in "$work"/sockjsd-"$broker"-*.log "$work"/testnode-"$broker"-*.log; do
		if grep -q "forwarded request refused" "$f"; then
			echo "cluster/run.sh: $(basename "$f") refused a forwarded request" >&2
			exit 1
		fi
	done
	stop_all
done
echo "cluster/run.sh: every broker passed"
