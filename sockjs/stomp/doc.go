// Package stomp is a STOMP 1.0, 1.1 and 1.2 endpoint over SockJS: the
// server side of stomp.js, @stomp/stompjs and webstomp-client running
// over sockjs-client, as Spring's WebSocket message broker serves them.
package stomp
