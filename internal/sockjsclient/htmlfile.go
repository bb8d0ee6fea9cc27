package sockjsclient

import (
	"bytes"
	"io"
	"net/http"
)

// htmlfile: GET <session>/htmlfile?c=<callback> answers an HTML page that
// never finishes loading. Its head script binds the parent's callback;
// each frame then arrives as
//
//	<script>
//	p("<frame as a string literal>");
//	</script>
//
// which the browser runs as it arrives.
var htmlFileKind = streamKind{
	method:   http.MethodGet,
	suffix:   "/htmlfile",
	callback: "_jp.",
	prelude:  htmlFilePrelude,
	next:     nextScript,
}

// maxHead bounds the page before the first frame.
const maxHead = 64 << 10

// htmlFilePrelude reads the page's head, up to its script's end, and
// checks that the script calls the parent's callback (else no frame
// would reach the page) and defines p.
func htmlFilePrelude(st *stream) error {
	var head []byte
	for !bytes.Contains(head, []byte("</script>")) {
		line, err := readLine(st.body, &st.line)
		if err != nil {
			if err == io.EOF {
				return badHandshake("htmlfile response ended in its head: %s", quoteShort(head))
			}
			return err
		}
		head = append(append(head, line...), '\n')
		if len(head) > maxHead {
			return badHandshake("htmlfile head over %d bytes", maxHead)
		}
	}
	for _, want := range []string{"var c = parent." + st.cb + ";", "function p(d) {c.message(d);};"} {
		if !bytes.Contains(head, []byte(want)) {
			return badHandshake("htmlfile head lacks %q: %s", want, quoteShort(head))
		}
	}
	return nil
}

// nextScript reads one frame's script element, skipping the blank lines
// and padding between elements.
func nextScript(st *stream) ([]byte, error) {
	var line []byte
	for {
		l, err := readLine(st.body, &st.line)
		if err != nil {
			return nil, err // io.EOF: the page ended between scripts
		}
		if line = bytes.TrimRight(l, " \r"); len(line) > 0 {
			break
		}
	}
	if string(line) != "<script>" {
		return nil, badFrame("htmlfile: %s where a <script> element should start", quoteShort(line))
	}
	call, err := readLine(st.body, &st.line)
	if err == nil && (!bytes.HasPrefix(call, []byte("p(")) || !bytes.HasSuffix(call, []byte(");"))) {
		err = badFrame("htmlfile: script %s is not p(\"...\");", quoteShort(call))
	}
	if err != nil {
		return nil, eofInside(err)
	}
	st.data, err = decodeLiteral(call[2 : len(call)-2])
	if err != nil {
		return nil, err
	}
	end, err := readLine(st.body, &st.line)
	if err == nil && string(bytes.TrimSuffix(end, []byte{'\r'})) != "</script>" {
		err = badFrame("htmlfile: %s where the script should end", quoteShort(end))
	}
	if err != nil {
		return nil, eofInside(err)
	}
	return st.data, nil
}

// eofInside turns the end of a response inside an envelope into an error.
func eofInside(err error) error {
	if err == io.EOF {
		return badFrame("response ended inside a frame")
	}
	return err
}
