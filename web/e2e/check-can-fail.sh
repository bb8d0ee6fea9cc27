#!/usr/bin/env bash
# Shows that the browser tests can fail: runs run.sh against
# brokenserver once per fault and checks that the tests meant to catch that
# fault went red (and that the run as a whole failed). Then runs the
# no-fault control, which must pass. Takes a few minutes; not part of CI.
#
#   ./check-can-fail.sh            every fault
#   ./check-can-fail.sh drop mangle  only these
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

# fault | narrower matrix (VAR=value ...) | names of tests that must fail, ';'-separated
cases=(
	"drop|E2E_TRANSPORTS=websocket,xhr-polling,jsonp-polling E2E_ORIGINS=same|echoes hostile messages;passes the 4096-byte response limit"
	"reorder|E2E_TRANSPORTS=websocket,eventsource E2E_ORIGINS=same|echoes hostile messages;passes the 4096-byte response limit"
	"mangle|E2E_TRANSPORTS=websocket,htmlfile,iframe-htmlfile|echoes hostile messages;websocket: echo, chat and server close through the UI"
	"truncate|E2E_TRANSPORTS=xhr-streaming,jsonp-polling|echoes hostile messages"
	"early-close|E2E_TRANSPORTS=websocket,xhr-polling E2E_ORIGINS=same|echoes hostile messages;client close gives 1000;echo, chat and server close through the UI"
	"close-code|E2E_TRANSPORTS=websocket,iframe-eventsource|server close gives 3000;echo, chat and server close through the UI"
	"no-broadcast|E2E_TRANSPORTS=websocket,xhr-streaming|echo, chat and server close through the UI"
	"lossy-stream|E2E_TRANSPORTS=xhr-streaming,eventsource,htmlfile,iframe-htmlfile E2E_ORIGINS=same|passes the 4096-byte response limit"
	"no-heartbeat|E2E_TRANSPORTS=websocket,xhr-streaming,iframe-xhr-polling|delivers heartbeats;Ping ×20 measures round trips, and heartbeats are counted"
	"block=xhr_streaming|E2E_TRANSPORTS=xhr-streaming|opens with the forced transport;/disabled_websocket_echo;/cookie_needed_echo over xhr-streaming;xhr-streaming: echo, chat"
	"block=websocket|E2E_TRANSPORTS=websocket|opens with the forced transport;the client picks websocket;/cookie_needed_echo over websocket"
	"block=iframe.html|E2E_TRANSPORTS=iframe-eventsource,iframe-htmlfile|opens with the forced transport"
	"block=info|E2E_TRANSPORTS=jsonp-polling|opens with the forced transport;server close gives 3000;a transport this browser lacks;/cookie_needed_echo over xhr-polling;/cookie_needed_echo over eventsource;/cookie_needed_echo over jsonp-polling"
	"block=sockjs-1.6.1.min.js|E2E_TRANSPORTS=websocket|loads sockjs-client from the server"
	# (brokenserver's /echo ends each stream at 4096 bytes, which flushes
	# nginx's buffer: only gzip's hold shows here. Against sockjsd, nginx's
	# buffering also stalls eventsource, as README.md says.)
	"proxy-buffering|E2E_PROXIES=nginx E2E_TARGETS=nginx E2E_TRANSPORTS=xhr-streaming,htmlfile,iframe-htmlfile transports.test.js|nginx → sockjsd · xhr-streaming · same-origin;nginx → sockjsd · htmlfile · same-origin;nginx → sockjsd · xhr-streaming · cross-origin;nginx → sockjsd · iframe-htmlfile · cross-origin"
)

want=("$@")
bad=0
for c in "${cases[@]}"; do
	IFS='|' read -r fault env expect <<<"$c"
	if ((${#want[@]})) && [[ ! " ${want[*]} " == *" $fault "* ]]; then continue; fi
	out="$(mktemp)"
	start=$SECONDS
	# Without proxies unless the case asks for them ($env comes later and
	# wins); words of $env without "=" are arguments of run.sh.
	vars=(E2E_PROXIES=) args=()
	for w in $env; do
		if [[ $w == *=* ]]; then vars+=("$w"); else args+=("$w"); fi
	done
	env "${vars[@]}" E2E_BROKEN="$fault" ./run.sh "${args[@]}" >"$out" 2>&1
	rc=$?
	# the name of every failed test (TAP output: tests sit inside suites)
	# and of every failed suite
	failed="$(sed -n -e 's/^    not ok [0-9]* - //p' -e 's/^not ok [0-9]* - //p' "$out")"
	missing=()
	IFS=';' read -ra pats <<<"$expect"
	for p in "${pats[@]}"; do
		grep -qF -- "$p" <<<"$failed" || missing+=("$p")
	done
	nfail="$(grep -m1 -E '^# fail ' "$out" | awk '{print $3}')"
	if [[ $rc -ne 0 && ${#missing[@]} -eq 0 ]]; then
		printf 'ok    %-24s red as expected: %s failed (%ss)\n' "$fault" "${nfail:-?}" $((SECONDS - start))
	else
		printf 'FAIL  %-24s rc=%s; expected failures not seen: %s\n' "$fault" "$rc" "${missing[*]:-none}"
		bad=1
	fi
	rm -f "$out"
done

if ((${#want[@]} == 0)); then
	out="$(mktemp)"
	if E2E_BROKEN=none ./run.sh >"$out" 2>&1; then
		echo "ok    none (control)           green: $(grep -m1 -E '^# pass ' "$out" | awk '{print $3}') passed"
	else
		echo "FAIL  none (control) failed:"; grep -E '^ *not ok' "$out"
		bad=1
	fi
	rm -f "$out"
fi
exit $bad
