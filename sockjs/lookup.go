package sockjs

// HasSession reports whether the Server holds a session with id of an HTTP
// transport: from the moment its first receiving request opens it until it
// is gone (closed, and its DisconnectDelay over, or timed out). Websocket
// sessions, which no other request can reach, are not counted. A cluster
// node uses it to keep its claim of a session exactly as long as the
// session lives here.
func (s *Server) HasSession(id string) bool {
	return s.registry.Get(id) != nil
}
