#!/usr/bin/env bash
# The browser matrix and the protocol conformance suite through load
# balancers with no stickiness over three cluster nodes, once on Redis and
# once on NATS. For each broker it starts the broker on a free loopback
# port, three sockjsd nodes (heartbeat 1 s, for the browser matrix) and
# three testnode nodes (the protocol suite's four services, with the
# suite's 25 s heartbeat and 4096-byte response limit), and runs:
#
#   browser      web/e2e/transports.test.js in Chromium through nginx
#                round-robin (nginx.conf here) over the sockjsd nodes;
#   protocol     the protocol suite through nginx round-robin over the
#                testnodes, every test but the chunk-boundary ones below;
#   protocol-l4  the whole protocol suite, chunk-boundary tests included,
#                through haproxy in TCP mode (haproxy-tcp.cfg here),
#                round-robin per connection over the testnodes (but for
#                the one test whose requests all share one connection);
#   chunks       the chunk-boundary tests through the nginx of "protocol",
#                for information only: their result does not count.
#
# Chunk-boundary tests read a streaming response one HTTP chunk at a time
# and want each chunk to be exactly one frame. Chunked encoding is
# hop-by-hop (RFC 9112 section 7.1): an HTTP proxy re-chunks the body as
# it reads it, and nginx merges frames that the node wrote back to back
# (the prelude and the open frame, say). They fail through nginx to a
# single plain sockjs-testserver as well; run.sh shows that once, before
# the brokers ("chunks-plain", for information too). docs/cluster.md lists
# them.
#
# Every stage runs whatever the others did; the end lists the failures.
# Everything it started is stopped by PID, however it ends.
#
# Needs what web/e2e/run.sh needs (nginx, haproxy, Chromium, npm ci in
# web/e2e), plus Debian's redis-server and nats-server. Environment:
#   E2E_BROKERS=redis,nats   the brokers to run on (default both)
#   E2E_STAGES=browser,protocol,protocol-l4,chunks,chunks-plain
#                            the stages to run (default all)
#   E2E_KEEP_LOGS=1          keep the logs (their path is printed)
#   other E2E_* variables (E2E_TRANSPORTS, E2E_ORIGINS) narrow the matrix
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
e2e="$(cd "$here/.." && pwd)"
root="$(cd "$here/../../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/sockjsd-cluster-e2e.XXXXXX")"
pids=()
failures=()
started=$SECONDS
export PATH="$PATH:/usr/sbin:/sbin"
export SOCKJSD_CLUSTER_SECRET="e2e-cluster-secret-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"

# The protocol suite's chunk-boundary tests (see above). A test with
# subtests of both kinds is listed here whole and its other subtests run
# in chunk_others.
chunk_tests=(
	TestXhrStreaming_Transport TestXhrStreaming_ResponseLimit
	TestEventSource_Transport TestEventSource_ResponseLimit
	TestHtmlFile_Transport TestHtmlFile_ResponseLimit
	TestHTTP11_Streaming
	TestHandlingClose_CloseFrame TestHandlingClose_CloseRequest TestHandlingClose_AbortXhrStreaming
	TestSockjsd_AbortedReceiverGets1002
	TestOldBrowsers_XDRStreaming TestOldBrowsers_HtmlfileCallbacks
)
chunk_re="^($(
	IFS='|'
	echo "${chunk_tests[*]}"
))\$"
chunk_others='^TestSockjsd_AbortedReceiverGets1002$/^xhr$'

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

for bin in redis-server nats-server nginx haproxy; do
	command -v "$bin" >/dev/null || { echo "cluster/run.sh: $bin is missing (.ci/deps installs it)" >&2; exit 2; }
done
[[ -d "$e2e/node_modules/playwright-core" ]] || { echo "cluster/run.sh: run 'npm ci' in $e2e first" >&2; exit 2; }

IFS=',' read -ra stages <<<"${E2E_STAGES:-browser,protocol,protocol-l4,chunks,chunks-plain}"
want() {
	local s
	for s in "${stages[@]}"; do [[ "$s" == "$1" ]] && return 0; done
	return 1
}
fail() {
	failures+=("$1")
	echo "cluster/run.sh: FAILED: $1" >&2
}

echo "cluster/run.sh: building"
(cd "$root" && go build -o "$work/sockjsd" ./cmd/sockjsd && go build -o "$work/testnode" ./web/e2e/cluster/testnode &&
	go build -o "$work/sockjs-testserver" ./cmd/sockjs-testserver && go test -c -o "$work/protocol-tests.test" ./protocol-tests/)

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

# balancer KIND NAME NODE1 NODE2 NODE3: nginx (KIND nginx, nginx.conf) or
# haproxy in TCP mode (KIND l4, haproxy-tcp.cfg) over the three; sets
# BALANCER to its base URL.
balancer() {
	local kind="$1" name="$2" port conf
	port="$(free_port)"
	mkdir -p "$work/$kind-$name/tmp"
	conf="$work/$kind-$name/$([[ $kind == nginx ]] && echo nginx.conf || echo haproxy.cfg)"
	sed -e "s|@USER@|$(id -un)|" -e "s|@WORK@|$work|" -e "s|@NAME@|$name|" -e "s|@LISTEN@|127.0.0.1:$port|" \
		-e "s|@NODE1@|$3|" -e "s|@NODE2@|$4|" -e "s|@NODE3@|$5|" \
		"$here/$([[ $kind == nginx ]] && echo nginx.conf || echo haproxy-tcp.cfg)" >"$conf"
	if [[ $kind == nginx ]]; then
		start "nginx-$name" "http://127.0.0.1:$port/echo/info" nginx -e stderr -p "$work/$kind-$name" \
			-c "$conf" -g "daemon off; pid $work/$kind-$name/nginx.pid; error_log stderr;"
	else
		start "haproxy-$name" "http://127.0.0.1:$port/echo/info" haproxy -db -f "$conf"
	fi
	BALANCER="http://127.0.0.1:$port"
}

# protocol NAME URL ARGS...: the protocol suite at URL, its output in
# protocol-NAME.out; prints the failures and reports whether it passed.
protocol() {
	local name="$1" url="$2"
	shift 2
	local out="$work/protocol-$name.out"
	if (cd "$root/protocol-tests" && SOCKJS_URL="$url" "$work/protocol-tests.test" -test.count=1 -test.short -test.v "$@" \
		>"$out" 2>&1); then
		echo "cluster/run.sh: $name: $(grep -c -- '^--- PASS' "$out") tests passed, $(grep -c -- '^--- SKIP' "$out") skipped"
		return 0
	fi
	grep -E -- '--- FAIL|_test.go:[0-9]+:' "$out" | cut -c1-300 | head -n 40 >&2
	return 1
}

# informational NAME URL: the chunk-boundary tests at URL; prints how many
# failed, and which. Never a failure of run.sh.
informational() {
	local name="$1" url="$2" out="$work/protocol-$1.out" failed
	(cd "$root/protocol-tests" && SOCKJS_URL="$url" "$work/protocol-tests.test" -test.count=1 -test.short \
		-test.run "$chunk_re" >"$out" 2>&1) || true
	failed="$(grep -E -- '^--- FAIL' "$out" | awk '{print $3}' | tr '\n' ' ' || true)"
	echo "cluster/run.sh: $name: chunk-boundary tests (${#chunk_tests[@]}, not counted): $(grep -c -- '^--- FAIL' "$out") failed ${failed:+($failed)}"
}

if want chunks-plain; then
	# One plain sockjs-testserver (no cluster) behind the same nginx.
	p="$(free_port)"
	if start plain "http://127.0.0.1:$p/echo/info" "$work/sockjs-testserver" -addr "127.0.0.1:$p"; then
		balancer nginx plain "127.0.0.1:$p" "127.0.0.1:$p" "127.0.0.1:$p"
		echo "cluster/run.sh: the chunk-boundary tests through nginx to one plain sockjs-testserver, no cluster (for comparison):"
		informational "plain nginx, one node" "$BALANCER"
	else
		fail "chunks-plain: the plain server did not start"
	fi
	stop_all
fi

IFS=',' read -ra brokers <<<"${E2E_BROKERS:-redis,nats}"
for broker in "${brokers[@]}"; do
	bport="$(free_port)"
	case "$broker" in
	redis)
		start redis "tcp:$bport" redis-server --port "$bport" --bind 127.0.0.1 --save '' --appendonly no ||
			{ fail "$broker: the broker did not start"; stop_all; continue; }
		flag=(-redis "redis://127.0.0.1:$bport")
		;;
	nats)
		mkdir -p "$work/nats"
		start nats "tcp:$bport" nats-server -a 127.0.0.1 -p "$bport" -js -sd "$work/nats" ||
			{ fail "$broker: the broker did not start"; stop_all; continue; }
		sleep 1.5 # JetStream is ready a little after the port
		flag=(-nats "nats://127.0.0.1:$bport")
		;;
	*) echo "cluster/run.sh: unknown broker $broker" >&2; exit 2 ;;
	esac
	d=() t=() ok=1
	for i in 1 2 3; do
		if want browser; then
			p="$(free_port)"
			start "sockjsd-$broker-$i" "http://127.0.0.1:$p/echo/info" \
				"$work/sockjsd" -addr "127.0.0.1:$p" -admin-addr "" -heartbeat 1s "${flag[@]}" || ok=
			d+=("127.0.0.1:$p")
		fi
		p="$(free_port)"
		start "testnode-$broker-$i" "http://127.0.0.1:$p/echo/info" "$work/testnode" -addr "127.0.0.1:$p" "${flag[@]}" || ok=
		t+=("127.0.0.1:$p")
	done
	if [[ -z "$ok" ]]; then
		fail "$broker: the nodes did not start"
		stop_all
		continue
	fi

	if want browser; then
		balancer nginx "sockjsd-$broker" "${d[@]}"
		echo "cluster/run.sh: $broker: browser matrix through nginx $BALANCER (3 sockjsd)"
		(cd "$e2e" && E2E_SOCKJSD="$BALANCER" E2E_HEARTBEAT_MS=1000 \
			E2E_TARGETS=sockjsd setsid node --test transports.test.js) >"$work/browser-$broker.out" 2>&1 &
		pids+=("$!")
		if wait "$!"; then
			echo "cluster/run.sh: $broker: browser matrix: $(grep -E '^# (pass|fail)' "$work/browser-$broker.out" | tr '\n' ' ')"
		else
			grep -E '^not ok|^# (pass|fail)' "$work/browser-$broker.out" | grep -v '^not ok.*# SKIP' | head -n 40 >&2
			fail "$broker: browser matrix"
		fi
	fi
	if want protocol || want chunks; then
		balancer nginx "testnode-$broker" "${t[@]}"
		if want protocol; then
			echo "cluster/run.sh: $broker: protocol suite through nginx $BALANCER (3 testnodes), the ${#chunk_tests[@]} chunk-boundary tests left out"
			protocol "$broker-nginx" "$BALANCER" -test.skip "$chunk_re" || fail "$broker: protocol suite through nginx"
			protocol "$broker-nginx-rest" "$BALANCER" -test.run "$chunk_others" || fail "$broker: protocol suite through nginx ($chunk_others)"
		fi
		if want chunks; then
			informational "$broker nginx, 3 nodes" "$BALANCER"
		fi
	fi
	if want protocol-l4; then
		balancer l4 "testnode-$broker" "${t[@]}"
		echo "cluster/run.sh: $broker: whole protocol suite through haproxy (TCP) $BALANCER (3 testnodes)"
		# TestRegression_TenThousandPollsNo2010 makes its 20,001 requests
		# on one connection, which a TCP balancer keeps on one node: it
		# runs through nginx above, where they go round the nodes.
		protocol "$broker-l4" "$BALANCER" -test.skip '^TestRegression_TenThousandPollsNo2010$' ||
			fail "$broker: protocol suite through haproxy (TCP)"
	fi
	for f in "$work"/sockjsd-"$broker"-*.log "$work"/testnode-"$broker"-*.log; do
		if [[ -f "$f" ]] && grep -q "forwarded request refused" "$f"; then
			fail "$broker: $(basename "$f") refused a forwarded request"
		fi
	done
	stop_all
done

echo "cluster/run.sh: $((SECONDS - started)) s"
if ((${#failures[@]})); then
	echo "cluster/run.sh: ${#failures[@]} failed:" >&2
	printf '  %s\n' "${failures[@]}" >&2
	exit 1
fi
echo "cluster/run.sh: every stage passed on ${brokers[*]}"
