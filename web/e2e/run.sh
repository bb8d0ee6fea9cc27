#!/usr/bin/env bash
# Runs the browser end-to-end tests: builds cmd/sockjs-testserver and
# cmd/sockjsd, starts them on free loopback ports, with a third server
# (a sockjsd with the production heartbeat) behind a real nginx and a real
# haproxy, runs `node --test` in this directory, and stops everything it
# started, however it ends.
#
# Needs (installing them is not this script's job; see README.md):
#   go, node >= 20, Debian's chromium at /usr/bin/chromium (or $CHROMIUM),
#   Debian's nginx and haproxy, and `npm ci` done in this directory.
#
# Environment:
#   E2E_BROKEN=mode[,mode]  test a deliberately broken server instead
#                           (web/e2e/brokenserver); every mode must make
#                           tests fail. See README.md.
#   E2E_TRANSPORTS, E2E_ORIGINS, E2E_TARGETS  narrow the matrix
#                           (comma-separated; targets: testserver, sockjsd,
#                           nginx, haproxy)
#   E2E_PROXIES=nginx,haproxy  the proxies to start (default both; empty:
#                           none, and no proxied tests)
#   E2E_NO_TLS=1            no sockjsd over TLS (target "tls", nor the
#                           extended-CONNECT one of h2ws.test.js)
#   E2E_KEEP_LOGS=1         keep the servers' logs (their path is printed)
#   any argument is passed to `node --test` (e.g. a test file name)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/sockjsd-e2e.XXXXXX")"
pids=()

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	local pid
	for pid in "${pids[@]}"; do
		# Each was started in its own process group: end the group.
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
	if [[ $rc -ne 0 || -n "${E2E_KEEP_LOGS:-}" ]]; then
		for f in "$work"/*.log; do
			[[ -s "$f" ]] || continue
			echo "---- $(basename "$f") (last 30 lines) ----"
			tail -n 30 "$f"
		done
	fi
	if [[ -n "${E2E_KEEP_LOGS:-}" ]]; then
		echo "logs kept in $work"
	else
		rm -rf "$work"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ ! -d "$here/node_modules/playwright-core" ]]; then
	echo "run.sh: playwright-core is missing: run 'npm ci' in $here first" >&2
	exit 2
fi
chromium="${CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$chromium" ]]; then
	echo "run.sh: no Chromium at $chromium (apt-get install chromium, or set CHROMIUM)" >&2
	exit 2
fi
IFS=',' read -ra proxies <<<"${E2E_PROXIES-nginx,haproxy}"
for p in "${proxies[@]}"; do
	case "$p" in
	nginx | haproxy)
		if ! PATH="$PATH:/usr/sbin:/sbin" command -v "$p" >/dev/null; then
			echo "run.sh: $p is missing (apt-get install $p, or E2E_PROXIES= to test without proxies)" >&2
			exit 2
		fi
		;;
	*)
		echo "run.sh: unknown proxy '$p' in E2E_PROXIES (nginx, haproxy)" >&2
		exit 2
		;;
	esac
done

echo "run.sh: building servers"
(
	cd "$root"
	if [[ -n "${E2E_BROKEN:-}" ]]; then
		go build -o "$work/brokenserver" ./web/e2e/brokenserver
	else
		go build -o "$work/sockjs-testserver" ./cmd/sockjs-testserver
		go build -o "$work/sockjsd" ./cmd/sockjsd
	fi
)

# free_port asks the kernel for a free loopback port. Another process could
# take it before the server binds it; start() then fails and says so.
free_port() {
	node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# start NAME URL CMD...: starts CMD in its own process group, logging to
# NAME.log, and waits until URL answers 200.
start() {
	local name="$1" url="$2"
	shift 2
	setsid "$@" >"$work/$name.log" 2>&1 &
	pids+=("$!")
	local pid=$!
	for _ in $(seq 200); do
		if NODE_TLS_REJECT_UNAUTHORIZED=0 node --no-warnings -e 'fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' "$url"; then
			echo "run.sh: $name is up at $url (pid $pid)"
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "run.sh: $name exited before it served $url" >&2
			return 1
		fi
		sleep 0.05
	done
	echo "run.sh: $name did not answer $url within 10s" >&2
	return 1
}

if [[ -n "${E2E_BROKEN:-}" ]]; then
	port="$(free_port)"
	# (the demo page, as /echo/info may be one of the things it breaks)
	start brokenserver "http://127.0.0.1:$port/" \
		"$work/brokenserver" -addr "127.0.0.1:$port" -break "$E2E_BROKEN" -heartbeat 1s
	export E2E_TESTSERVER="http://127.0.0.1:$port" E2E_SOCKJSD="http://127.0.0.1:$port"
	echo "run.sh: testing a server broken with '$E2E_BROKEN': tests are expected to FAIL"
else
	tport="$(free_port)"
	start sockjs-testserver "http://127.0.0.1:$tport/echo/info" \
		"$work/sockjs-testserver" -addr "127.0.0.1:$tport" -heartbeat 1s
	dport="$(free_port)"
	start sockjsd "http://127.0.0.1:$dport/echo/info" \
		"$work/sockjsd" -addr "127.0.0.1:$dport" -admin-addr "" -heartbeat 1s
	export E2E_TESTSERVER="http://127.0.0.1:$tport" E2E_SOCKJSD="http://127.0.0.1:$dport"
	# A sockjsd of its own for the status page test, so its counts are exact.
	sport="$(free_port)"
	aport="$(free_port)"
	start sockjsd-status "http://127.0.0.1:$aport/status.json" \
		"$work/sockjsd" -addr "127.0.0.1:$sport" -admin-addr "127.0.0.1:$aport"
	export E2E_STATUS_SOCKJSD="http://127.0.0.1:$sport" E2E_STATUS_ADMIN="http://127.0.0.1:$aport"
	# sockjsd serving TLS itself, HTTP/2 included, with a certificate made
	# now (Chromium runs with --ignore-certificate-errors).
	if [[ -z "${E2E_NO_TLS:-}" ]]; then
		(cd "$work" && go run "$(go env GOROOT)/src/crypto/tls/generate_cert.go" \
			-host 127.0.0.1,localhost -ecdsa-curve P256 -duration 24h >/dev/null 2>&1)
		lport="$(free_port)"
		start sockjsd-tls "https://127.0.0.1:$lport/echo/info" \
			"$work/sockjsd" -addr "127.0.0.1:$lport" -admin-addr "" -heartbeat 1s \
			-tls-cert "$work/cert.pem" -tls-key "$work/key.pem"
		export E2E_TLS="https://127.0.0.1:$lport"
		# The same with extended CONNECT offered (RFC 8441, Go's
		# GODEBUG=http2xconnect=1): Chromium's websocket then goes over
		# HTTP/2 too (h2ws.test.js).
		xport="$(free_port)"
		start sockjsd-tls-xconnect "https://127.0.0.1:$xport/echo/info" \
			env GODEBUG=http2xconnect=1 "$work/sockjsd" -addr "127.0.0.1:$xport" -admin-addr "" -heartbeat 1s \
			-tls-cert "$work/cert.pem" -tls-key "$work/key.pem"
		export E2E_TLS_XCONNECT="https://127.0.0.1:$xport"
	fi
fi
export E2E_HEARTBEAT_MS=1000

# The proxies' backend keeps the production heartbeat (25 s): a proxy that
# holds frames back until more bytes come (nginx's buffering, gzip) then
# stalls a stream for up to 25 s, far past the tests' 8 s of patience,
# where a 1 s heartbeat would push the frames out and hide it.
start_proxies() {
	local backend="$1" p port
	for p in "${proxies[@]}"; do
		port="$(free_port)"
		case "$p" in
		nginx)
			mkdir -p "$work/nginx/tmp"
			sed -e "s|@USER@|$(id -un)|" -e "s|@WORK@|$work|" \
				-e "s|@LISTEN@|127.0.0.1:$port|" -e "s|@BACKEND@|$backend|" \
				"$here/proxy/nginx.conf" >"$work/nginx/nginx.conf"
			# -e stderr before the configuration is read, error_log stderr
			# after: nothing goes to /var/log/nginx.
			start nginx "http://127.0.0.1:$port/echo/info" \
				"$(PATH="$PATH:/usr/sbin" command -v nginx)" -e stderr -p "$work/nginx" \
				-c "$work/nginx/nginx.conf" -g "daemon off; pid $work/nginx/nginx.pid; error_log stderr;"
			export E2E_NGINX="http://127.0.0.1:$port"
			;;
		haproxy)
			# haproxy.cfg reads its two addresses from the environment.
			export E2E_HAPROXY_LISTEN="127.0.0.1:$port" E2E_HAPROXY_BACKEND="$backend"
			start haproxy "http://127.0.0.1:$port/echo/info" \
				"$(PATH="$PATH:/usr/sbin" command -v haproxy)" -db -f "$here/proxy/haproxy.cfg"
			export E2E_HAPROXY="http://127.0.0.1:$port"
			;;
		esac
	done
}
if ((${#proxies[@]})); then
	bport="$(free_port)"
	if [[ -n "${E2E_BROKEN:-}" ]]; then
		start brokenserver-proxied "http://127.0.0.1:$bport/" \
			"$work/brokenserver" -addr "127.0.0.1:$bport" -break "$E2E_BROKEN" -heartbeat 25s
	else
		start sockjsd-proxied "http://127.0.0.1:$bport/echo/info" \
			"$work/sockjsd" -addr "127.0.0.1:$bport" -admin-addr "" -heartbeat 25s
	fi
	start_proxies "127.0.0.1:$bport"
	export E2E_PROXIED_HEARTBEAT_MS=25000
fi

cd "$here"
# node in its own process group too, so that Chromium goes with it.
setsid node --test "$@" &
node_pid=$!
pids+=("$node_pid")
set +e
wait "$node_pid"
rc=$?
set -e
exit "$rc"
