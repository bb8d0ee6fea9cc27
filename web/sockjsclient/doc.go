// Package sockjsclient embeds the sockjs-client browser library that a
// sockjsd server hands to browsers, so that no page and no iframe depends on
// a CDN, and the iframe transports' page always loads exactly the client
// version the application page uses (sockjs-client refuses to run in an
// iframe whose client version differs: "Incompatible SockJS!").
//
// The embedded file is sockjs-client's own minified build, dist/sockjs.min.js
// from the npm package sockjs-client@1.6.1, byte for byte, with the package's
// LICENSE (MIT) beside it. The sockjs server serves it at
// <prefix>/sockjs-<Version>.min.js; pages load it from there:
//
//	<script src="/echo/sockjs-1.6.1.min.js"></script>
//
// # Pinning another client version
//
// The client must speak protocol 0.3 (any sockjs-client 1.x does). To embed
// another version:
//
//  1. Fetch the package with npm and unpack it:
//     npm pack sockjs-client@X.Y.Z && tar xzf sockjs-client-X.Y.Z.tgz
//  2. Copy package/dist/sockjs.min.js and package/LICENSE over the files in
//     this directory. Do not edit them.
//  3. Set Version below to "X.Y.Z" and wantSHA256 in sockjsclient_test.go to
//     the output of `sha256sum sockjs.min.js`.
//  4. Run go test ./web/sockjsclient: it checks that the file's banner
//     ("/* sockjs-client vX.Y.Z | ...") names Version, and that the file is the
//     one whose checksum was recorded.
//
// The script's URL, the ETag and the iframe page all follow Version.
// An application that wants a client hosted elsewhere instead sets
// sockjs.Options.SockJSURL; that page's client version must then equal the
// one its own pages load.
package sockjsclient
