// Command bare is the physical limit for the comparison: a gorilla/websocket
// server that does only what the SockJS websocket transport needs on the
// wire. It sends "o", answers a client message ["x"] with a["x"] (the
// array copied as is, never parsed) on /echo, and sends it to every open
// session on /broadcast. No heartbeats, no session state, no validation.
package main

import (
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sockjsd/sockjsd/bench/internal/benchserver"
)

var upgrader = websocket.Upgrader{
	WriteBufferPool: &sync.Pool{},
	CheckOrigin:     func(*http.Request) bool { return true },
}

const writeTimeout = 10 * time.Second

var openFrame = mustPrepare([]byte("o"))

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /echo/{server}/{session}/websocket", echo)
	h := &hub{conns: map[*conn]struct{}{}}
	mux.HandleFunc("GET /broadcast/{server}/{session}/websocket", h.serve)
	benchserver.Main("bare", mux)
}

func echo(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	if c.WriteMessage(websocket.TextMessage, []byte("o")) != nil {
		return
	}
	for {
		_, rd, err := c.NextReader()
		if err != nil {
			return
		}
		_ = c.SetWriteDeadline(time.Now().Add(writeTimeout))
		wr, err := c.NextWriter(websocket.TextMessage)
		if err != nil {
			return
		}
		_, _ = wr.Write([]byte{'a'})
		_, err = io.Copy(wr, rd)
		if err2 := wr.Close(); err != nil || err2 != nil {
			return
		}
	}
}

type conn struct {
	mu sync.Mutex // one writer at a time
	ws *websocket.Conn
}

type hub struct {
	mu    sync.Mutex // guards conns
	conns map[*conn]struct{}
}

func (h *hub) serve(w http.ResponseWriter, r *http.Request) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &conn{ws: ws}
	defer ws.Close()
	if c.write(openFrame) != nil {
		return
	}
	h.mu.Lock()
	h.conns[c] = struct{}{}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.conns, c)
		h.mu.Unlock()
	}()
	var targets []*conn
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			return
		}
		pm := mustPrepare(append([]byte{'a'}, msg...))
		h.mu.Lock()
		targets = targets[:0]
		for t := range h.conns {
			targets = append(targets, t)
		}
		h.mu.Unlock()
		for _, t := range targets {
			if t.write(pm) != nil {
				t.ws.Close() // its reader goroutine ends and removes it
			}
		}
	}
}

func (c *conn) write(pm *websocket.PreparedMessage) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	return c.ws.WritePreparedMessage(pm)
}

func mustPrepare(b []byte) *websocket.PreparedMessage {
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, b)
	if err != nil {
		panic(err)
	}
	return pm
}
