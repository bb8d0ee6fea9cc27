package cluster

import (
	"net/http"
	"strings"
	"time"

	"github.com/sockjsd/sockjsd/sockjs"
)

// CodeSessionLost is the close code of a session whose node is gone (or
// no longer holds it), with the reason "Session lost".
const CodeSessionLost = sockjs.CodeTimedOut

const lostReason = "Session lost"

// lostAnswer answers the requests of a lost session: a private Server,
// whose sessions close as they open, answers a receiving request with an
// open frame (and, on a stream, the close frame c[1006,"Session lost"]),
// and a send with 404. sockjs-client takes an open frame on an open
// session for the end of it ("Server lost session", 1006); other clients
// get the close frame on their next receiving request. The application
// never sees these sessions.
//
// It stands in for a sockjs.Server method that would answer a session URL
// with a close frame alone (see the package doc).
type lostAnswer struct{ srv *sockjs.Server }

func newLostAnswer() lostAnswer {
	return lostAnswer{srv: sockjs.New(lostPrefix, func(s *sockjs.Session) {
		_ = s.Close(CodeSessionLost, lostReason)
	}, &sockjs.Options{
		DisconnectDelay: time.Second, // nobody comes back for it
		SessionKey:      sockjs.NoSessionBinding,
	})}
}

// lostPrefix mounts the private Server: serve gives it the session URL's
// last three segments under it, wherever the real Server is mounted.
const lostPrefix = "/lost"

func (a lostAnswer) serve(w http.ResponseWriter, r *http.Request) {
	id, transport, _ := sessionPath(r.URL.Path)
	server := strings.TrimSuffix(r.URL.Path, "/"+id+"/"+transport)
	server = server[strings.LastIndexByte(server, '/')+1:]
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path, u.RawPath = lostPrefix+"/"+server+"/"+id+"/"+transport, ""
	r2.URL = &u
	a.srv.ServeHTTP(w, r2)
}
