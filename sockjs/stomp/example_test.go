package stomp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/gorilla/websocket"

	"github.com/sockjsd/sockjsd/sockjs"
	"github.com/sockjsd/sockjsd/sockjs/hub"
	"github.com/sockjsd/sockjsd/sockjs/stomp"
)

// A chat: SENDs to /app/chat/{room} are handled in Go, acknowledged to
// the sender and broadcast to the room's topic. The client here speaks
// SockJS over websocket by hand, as sockjs-client and stompjs would.
func Example() {
	srv := stomp.New("/stomp", nil)
	srv.Handle("/chat/{room}", func(m *stomp.Message) error {
		if m.Body == "" {
			return &stomp.Error{Message: "empty message"}
		}
		if err := m.Reply("/user/queue/ack", "received"); err != nil {
			return err
		}
		return m.Publish("/topic/chat."+m.Param("room"), m.Body)
	})
	r := chi.NewRouter()
	r.Mount("/stomp", srv)
	ts := httptest.NewServer(r)
	defer ts.Close()
	defer srv.Shutdown(context.Background())

	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/stomp/000/ab12cd34/websocket", nil)
	if err != nil {
		panic(err)
	}
	defer ws.Close()
	send := func(frame string) {
		b, _ := json.Marshal([]string{frame})
		_ = ws.WriteMessage(websocket.TextMessage, b)
	}
	var pending []string // messages of a SockJS frame not printed yet
	read := func() {
		for len(pending) == 0 {
			_, p, _ := ws.ReadMessage()
			_ = json.Unmarshal(p[1:], &pending) // a["...","..."]
		}
		m := pending[0]
		pending = pending[1:]
		// The epoch differs from run to run.
		if i := strings.Index(m, "x-epoch:"); i >= 0 {
			j := i + strings.IndexByte(m[i:], '\n')
			m = m[:i] + "x-epoch:E" + m[j:]
		}
		fmt.Printf("%q\n", m)
	}
	_, _, _ = ws.ReadMessage() // the open frame, "o"
	send("CONNECT\naccept-version:1.2\nhost:example.com\nheart-beat:0,0\n\n\x00")
	read()
	send("SUBSCRIBE\nid:0\ndestination:/user/queue/ack\n\n\x00")
	send("SUBSCRIBE\nid:1\ndestination:/topic/chat.42\nreceipt:r1\n\n\x00")
	read()
	send("SEND\ndestination:/app/chat/42\nreceipt:r2\n\nhello\x00")
	read()
	read()
	read()
	// Output:
	// "CONNECTED\nversion:1.2\nheart-beat:10000,10000\nserver:sockjsd\n\n\x00"
	// "RECEIPT\nreceipt-id:r1\n\n\x00"
	// "MESSAGE\ndestination:/user/queue/ack\nmessage-id:1-1\nsubscription:0\ncontent-length:8\n\nreceived\x00"
	// "MESSAGE\ndestination:/topic/chat.42\nmessage-id:2-1\nsubscription:1\nx-offset:1\nx-epoch:E\ncontent-length:5\n\nhello\x00"
	// "RECEIPT\nreceipt-id:r2\n\n\x00"
}

// Mounting under http.ServeMux, as a sockjs.Server mounts.
func ExampleNew_serveMux() {
	srv := stomp.New("/stomp", nil)
	mux := http.NewServeMux()
	mux.Handle("/stomp", srv)
	mux.Handle("/stomp/", srv)
	_ = http.ListenAndServe("127.0.0.1:8080", mux)
}

// Users from CONNECT's login and passcode, and a rule per destination.
func ExampleOptions_authentication() {
	check := func(login, passcode string) bool { return login == "ann" && passcode == "secret" }
	srv := stomp.New("/stomp", &stomp.Options{
		Authenticate: func(s *sockjs.Session, connect *stomp.Frame) (string, error) {
			if !check(connect.Get("login"), connect.Get("passcode")) {
				return "", &stomp.Error{Message: "bad login or passcode"}
			}
			return connect.Get("login"), nil
		},
		Authorize: func(s *stomp.Session, command, destination string) error {
			if strings.HasPrefix(destination, "/topic/admin.") && s.User() != "admin" {
				return errors.New("admins only")
			}
			return nil
		},
	})
	_ = srv
}

// Sharing a hub: the STOMP endpoint's topics are the hub's, so plain
// SockJS code publishing to "/topic/news" reaches STOMP subscribers, and
// a hub whose broker spans nodes carries topics and user destinations to
// every node. The hub's History decides what resumable subscriptions can
// recover.
func ExampleHubTopics() {
	h := hub.New(&hub.Options{History: func(topic string) hub.HistoryPolicy {
		return hub.HistoryPolicy{Size: 1000}
	}})
	srv := stomp.New("/stomp", &stomp.Options{Topics: stomp.HubTopics(h)})
	_, _ = h.Publish(context.Background(), "/topic/news", "to STOMP subscribers, as a MESSAGE body")
	_ = srv
}

// Pushing from Go, as Spring's SimpMessagingTemplate does.
func ExampleServer_Publish() {
	srv := stomp.New("/stomp", nil)
	ctx := context.Background()
	_ = srv.Publish(ctx, "/topic/prices", `{"EURUSD":1.08}`, stomp.Header{Name: "content-type", Value: "application/json"})
	_ = srv.Publish(ctx, "/queue/jobs", "resize 42.png")
	_ = srv.SendToUser(ctx, "ann", "/queue/notifications", "you have mail")
}
