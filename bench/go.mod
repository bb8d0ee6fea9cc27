module github.com/sockjsd/sockjsd/bench

go 1.26.0

require (
	github.com/gorilla/websocket v1.5.3
	github.com/igm/sockjs-go/v3 v3.0.3
	github.com/sockjsd/sockjsd v0.0.0-00010101000000-000000000000
)

require github.com/go-chi/chi/v5 v5.5.0 // indirect

replace github.com/sockjsd/sockjsd => ../
