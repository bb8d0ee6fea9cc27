package transports

import (
	"strings"

	"github.com/sockjsd/sockjsd/session"
)

// htmlfile: a forever-loading HTML page (IE's "htmlfile" ActiveX trick)
// whose scripts call the parent's callback with each frame. The frame is a
// JavaScript string literal escaped HTML-safe, so no message content can
// end the <script> element; the callback is validated before use.

var htmlFile = receiverKind{
	name:        "htmlfile",
	allow:       "GET",
	contentType: []string{"text/html; charset=UTF-8"},
	streaming:   true,
	callback:    true,
	prelude:     htmlFilePrelude,
	envelope:    scriptEnvelope,
	// The frame becomes a quoted string, in which the two quotes around
	// each message gain a backslash each.
	frameCost:   len(scriptBefore + `""` + scriptAfter),
	messageCost: 2,
}

const htmlFileHeadBefore = `<!doctype html>
<html><head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
</head><body><h2>Don't panic!</h2>
  <script>
    document.domain = document.domain;
    var c = parent.`

const htmlFileHeadAfter = `;
    c.start();
    function p(d) {c.message(d);};
    window.onload = function() {c.stop();};
  </script>`

// IE renders nothing of a page before its first kilobyte: pad with spaces.
var htmlFilePadding = strings.Repeat(" ", 1024)

func htmlFilePrelude(dst []byte, callback string) []byte {
	start := len(dst)
	dst = append(dst, htmlFileHeadBefore...)
	dst = append(dst, callback...)
	dst = append(dst, htmlFileHeadAfter...)
	if pad := 1025 - (len(dst) - start); pad > 0 {
		dst = append(dst, htmlFilePadding[:pad]...)
	}
	return append(dst, "\r\n\r\n"...)
}

func scriptEnvelope(dst []byte, _ string, frame []byte) []byte {
	dst = append(dst, scriptBefore...)
	dst = session.AppendQuotedHTML(dst, bytesToString(frame))
	return append(dst, scriptAfter...)
}

const (
	scriptBefore = "<script>\np("
	scriptAfter  = ");\n</script>\r\n"
)
