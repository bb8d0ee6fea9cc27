// Package session is the core of sockjsd: the SockJS framing layer, the
// session state machine with its bounded queues and single-receiver lease,
// and the registry of sessions by id.
//
// It is an implementation detail of package sockjs; its API may change at
// any time. Applications import github.com/sockjsd/sockjsd/sockjs.
package session
