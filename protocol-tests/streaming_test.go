package protocoltests

// eventsource (<session>/eventsource) and htmlfile (<session>/htmlfile).

import (
	"strings"
	"testing"
)

// ---- eventsource -------------------------------------------------------

func TestEventSource_Transport(t *testing.T) {
	t.Parallel()
	url := sessionURL(svcEcho)
	s := open(t, "GET", url+"/eventsource", "", nil)
	defer s.close()
	mustStatus(t, s.response, 200)
	checkContentType(t, s.response, "text/event-stream")
	checkNotCached(t, s.response)

	mustRead(t, s, "\r\n") // prelude, for an old Opera bug
	mustRead(t, s, "data: o\r\n\r\n")

	xhrSend(t, url, `["x"]`)
	mustRead(t, s, "data: a[\"x\"]\r\n\r\n")

	// Leading spaces, NUL, CR and LF survive because the frame is JSON.
	xhrSend(t, url, `["  \u0000\n\r "]`)
	mustRead(t, s, `data: a["  \u0000\n\r "]`+"\r\n\r\n")
}

func TestEventSource_ResponseLimit(t *testing.T) {
	t.Parallel()
	url := sessionURL(svcEcho)
	s := open(t, "GET", url+"/eventsource", "", nil)
	defer s.close()
	mustStatus(t, s.response, 200)
	if s.read() == "" {
		t.Fatal("no prelude")
	}
	mustRead(t, s, "data: o\r\n\r\n")

	msg := `"` + strings.Repeat("x", 4096) + `"`
	xhrSend(t, url, "["+msg+"]")
	mustRead(t, s, "data: a["+msg+"]\r\n\r\n")
	mustEnd(t, s)
}

// ---- htmlfile ----------------------------------------------------------

// htmlfileHead is the page that starts an htmlfile response, with the
// callback left as %s. The server pads it past 1024 bytes.
const htmlfileHead = `<!doctype html>
<html><head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
</head><body><h2>Don't panic!</h2>
  <script>
    document.domain = document.domain;
    var c = parent.%s;
    c.start();
    function p(d) {c.message(d);};
    window.onload = function() {c.stop();};
  </script>`

// htmlfileFrame is how an htmlfile response carries the frame f (JSON
// text, already escaped for a JS string).
func htmlfileFrame(f string) string { return "<script>\np(\"" + f + "\");\n</script>\r\n" }

func TestHtmlFile_Transport(t *testing.T) {
	t.Parallel()
	url := sessionURL(svcEcho)
	s := open(t, "GET", url+"/htmlfile?c=%63allback", "", nil)
	defer s.close()
	mustStatus(t, s.response, 200)
	checkContentType(t, s.response, "text/html;charset=UTF-8")
	checkNotCached(t, s.response)

	head := s.read()
	if want := strings.Replace(htmlfileHead, "%s", "callback", 1); strings.TrimSpace(head) != want {
		t.Fatalf("first chunk, trimmed:\n%s\nwant:\n%s", strings.TrimSpace(head), want)
	}
	if len(head) <= 1024 {
		t.Errorf("first chunk is %d bytes, want more than 1024", len(head))
	}
	mustRead(t, s, htmlfileFrame("o"))

	xhrSend(t, url, `["x"]`)
	mustRead(t, s, htmlfileFrame(`a[\"x\"]`))
}

// checkNoCallback and checkInvalidCallback are shared by htmlfile and
// jsonp: a missing callback, or one with a character outside
// [a-zA-Z0-9-_.], is a 500 with a message.
func checkNoCallback(t *testing.T, transport string) {
	t.Helper()
	r := get(t, baseURL(svcEcho)+"/a/a/"+transport, nil)
	mustStatus(t, r, 500)
	mustBodyContain(t, r, `"callback" parameter required`)
}

func checkInvalidCallback(t *testing.T, transport string) {
	t.Helper()
	for _, cb := range []string{"%20", "*", "abc(", "abc%28"} {
		t.Run(cb, func(t *testing.T) {
			t.Parallel()
			r := get(t, baseURL(svcEcho)+"/a/a/"+transport+"?c="+cb, nil)
			mustStatus(t, r, 500)
			mustBodyContain(t, r, `invalid "callback" parameter`)
		})
	}
}

func TestHtmlFile_NoCallback(t *testing.T) {
	t.Parallel()
	checkNoCallback(t, "htmlfile")
}

func TestHtmlFile_InvalidCallback(t *testing.T) {
	t.Parallel()
	checkInvalidCallback(t, "htmlfile")
}

func TestHtmlFile_ResponseLimit(t *testing.T) {
	t.Parallel()
	url := sessionURL(svcEcho)
	s := open(t, "GET", url+"/htmlfile?c=callback", "", nil)
	defer s.close()
	mustStatus(t, s.response, 200)
	if s.read() == "" {
		t.Fatal("no prelude")
	}
	mustRead(t, s, htmlfileFrame("o"))

	msg := strings.Repeat("x", 4096)
	xhrSend(t, url, `["`+msg+`"]`)
	mustRead(t, s, htmlfileFrame(`a[\"`+msg+`\"]`))
	mustEnd(t, s)
}
