package prometheus

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sockjsd/sockjsd/sockjs"
)

// transportNames are the values of the transport label, indexed by the
// transport's position in Metrics.transports. The last is "other".
var transportNames = [...]string{
	"websocket", "rawwebsocket", "xhr", "xhr_streaming", "eventsource",
	"htmlfile", "jsonp", "xhr_send", "jsonp_send", "other",
}

const numTransports = len(transportNames)

func transportIndex(name string) int {
	switch name {
	case "websocket":
		return 0
	case "rawwebsocket":
		return 1
	case "xhr":
		return 2
	case "xhr_streaming":
		return 3
	case "eventsource":
		return 4
	case "htmlfile":
		return 5
	case "jsonp":
		return 6
	case "xhr_send":
		return 7
	case "jsonp_send":
		return 8
	}
	return numTransports - 1
}

// reasonNames are the values of the reason label; the last is "other".
var reasonNames = [...]string{
	"origin", "session_limit", "session_binding", "body_too_large",
	"bad_payload", "callback", "recv_queue_full", "shutting_down", "unauthorized", "other",
}

const numReasons = len(reasonNames)

func reasonIndex(reason string) int {
	for i, r := range reasonNames[:numReasons-1] {
		if r == reason {
			return i
		}
	}
	return numReasons - 1
}

// Close code label values: "1000" to "1015" at indexes 0 to 15, then
// "3xxx", "4xxx" and "other".
const (
	codeFirstRFC = 1000
	codeLastRFC  = 1015
	code3xxx     = codeLastRFC - codeFirstRFC + 1
	code4xxx     = code3xxx + 1
	codeOther    = code4xxx + 1
	numCodes     = codeOther + 1
)

func codeIndex(code int) int {
	switch {
	case code >= codeFirstRFC && code <= codeLastRFC:
		return code - codeFirstRFC
	case code >= 3000 && code <= 3999:
		return code3xxx
	case code >= 4000 && code <= 4999:
		return code4xxx
	}
	return codeOther
}

func codeLabel(i int) string {
	switch i {
	case code3xxx:
		return "3xxx"
	case code4xxx:
		return "4xxx"
	case codeOther:
		return "other"
	}
	return strconv.Itoa(codeFirstRFC + i)
}

// durationBuckets are the upper bounds, in seconds, of the
// sockjs_session_duration_seconds buckets: from a tenth of a second (a
// session closed at once) to four hours.
var durationBuckets = []float64{.1, .5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200, 14400}

// counters are one transport's counts. Open is a gauge; the rest only
// grow.
type counters struct {
	open                               atomic.Int64
	opened, closed                     atomic.Uint64
	msgsIn, bytesIn, msgsOut, bytesOut atomic.Uint64
	slow, conflicts, heartbeats        atomic.Uint64
	closedBy                           [numCodes]atomic.Uint64
}

// Metrics counts what one or more sockjs.Servers do and reports it to
// Prometheus: it implements both sockjs.Metrics and prometheus.Collector.
// Its methods are safe for concurrent use; the sockjs.Metrics ones only
// add to atomic counters (and, when a session ends, observe a histogram),
// so they never block. Create it with New.
type Metrics struct {
	byTransport [numTransports]counters
	refused     [numReasons]atomic.Uint64
	duration    *prometheus.HistogramVec
	// byDuration holds duration's histogram of each transport, looked up
	// at its first use: a label lookup per session closed (hashing,
	// validating the label as UTF-8) was a few per cent of the connect
	// path. Only transports in use get a series.
	byDuration [numTransports]atomic.Pointer[prometheus.Observer]

	open, opened, closed, msgsIn, bytesIn, msgsOut, bytesOut,
	slow, conflicts, heartbeats, refusedDesc *prometheus.Desc
}

var (
	_ sockjs.Metrics       = (*Metrics)(nil)
	_ prometheus.Collector = (*Metrics)(nil)
)

// New returns a Metrics whose metric names start with namespace + "_sockjs_"
// (or just "sockjs_" when namespace is empty), registered with reg unless
// reg is nil. It panics if namespace is not a valid metric name prefix or
// if registration fails, as when reg already has the same metrics with the
// same constant labels (see "Several servers" in the package doc).
func New(reg prometheus.Registerer, namespace string) *Metrics {
	if namespace != "" && !validNamespace(namespace) {
		panic("sockjs/prometheus: invalid namespace " + strconv.Quote(namespace))
	}
	name := func(n string) string { return prometheus.BuildFQName(namespace, "sockjs", n) }
	byTransport := []string{"transport"}
	desc := func(n, help string, labels ...string) *prometheus.Desc {
		if labels == nil {
			labels = byTransport
		}
		return prometheus.NewDesc(name(n), help, labels, nil)
	}
	m := &Metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    name("session_duration_seconds"),
			Help:    "How long SockJS sessions lived, from opening to the end of their handler.",
			Buckets: durationBuckets,
		}, byTransport),
		open:        desc("sessions_open", "SockJS sessions open now, by the transport that opened them."),
		opened:      desc("sessions_opened_total", "SockJS sessions opened, by the transport that opened them."),
		closed:      desc("sessions_closed_total", "SockJS sessions ended, by transport and close code (1000 to 1015, 3xxx, 4xxx or other).", "transport", "code"),
		msgsIn:      desc("messages_received_total", "SockJS messages received from clients."),
		bytesIn:     desc("received_bytes_total", "Bytes of the SockJS messages received from clients."),
		msgsOut:     desc("messages_sent_total", "SockJS messages written to clients."),
		bytesOut:    desc("sent_bytes_total", "Bytes of the SockJS messages written to clients."),
		slow:        desc("slow_client_closes_total", "SockJS sessions closed because their client did not keep up (close code 1008)."),
		conflicts:   desc("receiver_conflicts_total", "Receiving requests turned away with 2010 because another was attached to the session."),
		heartbeats:  desc("heartbeats_sent_total", "SockJS heartbeat frames sent."),
		refusedDesc: desc("requests_refused_total", "Requests the SockJS server refused, by reason.", "reason"),
	}
	if reg != nil {
		reg.MustRegister(m)
	}
	return m
}

// validNamespace reports whether s matches [a-zA-Z_:][a-zA-Z0-9_:]*.
func validNamespace(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == ':' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// SessionOpened implements sockjs.Metrics.
func (m *Metrics) SessionOpened(transport string) {
	c := &m.byTransport[transportIndex(transport)]
	c.opened.Add(1)
	c.open.Add(1)
}

// SessionClosed implements sockjs.Metrics.
func (m *Metrics) SessionClosed(transport string, code int, lifetime time.Duration) {
	i := transportIndex(transport)
	c := &m.byTransport[i]
	c.open.Add(-1)
	c.closed.Add(1)
	c.closedBy[codeIndex(code)].Add(1)
	m.observer(i).Observe(lifetime.Seconds())
}

// MessagesIn implements sockjs.Metrics.
// observer is transport i's duration histogram.
func (m *Metrics) observer(i int) prometheus.Observer {
	if o := m.byDuration[i].Load(); o != nil {
		return *o
	}
	o := m.duration.WithLabelValues(transportNames[i]) // the same one, if two race
	m.byDuration[i].Store(&o)
	return o
}

func (m *Metrics) MessagesIn(transport string, count, bytes int) {
	c := &m.byTransport[transportIndex(transport)]
	c.msgsIn.Add(uint64(max(count, 0)))
	c.bytesIn.Add(uint64(max(bytes, 0)))
}

// MessagesOut implements sockjs.Metrics.
func (m *Metrics) MessagesOut(transport string, count, bytes int) {
	c := &m.byTransport[transportIndex(transport)]
	c.msgsOut.Add(uint64(max(count, 0)))
	c.bytesOut.Add(uint64(max(bytes, 0)))
}

// SlowClient implements sockjs.Metrics.
func (m *Metrics) SlowClient(transport string) {
	m.byTransport[transportIndex(transport)].slow.Add(1)
}

// Refused implements sockjs.Metrics.
func (m *Metrics) Refused(reason string) { m.refused[reasonIndex(reason)].Add(1) }

// ReceiverConflict implements sockjs.Metrics.
func (m *Metrics) ReceiverConflict(transport string) {
	m.byTransport[transportIndex(transport)].conflicts.Add(1)
}

// Heartbeat implements sockjs.Metrics.
func (m *Metrics) Heartbeat(transport string) {
	m.byTransport[transportIndex(transport)].heartbeats.Add(1)
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		m.open, m.opened, m.closed, m.msgsIn, m.bytesIn, m.msgsOut, m.bytesOut,
		m.slow, m.conflicts, m.heartbeats, m.refusedDesc,
	} {
		ch <- d
	}
	m.duration.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		if v != 0 {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
		}
	}
	for i := range m.byTransport {
		c := &m.byTransport[i]
		t := transportNames[i]
		// Read closed before opened and open last, so that a scrape racing
		// with sessions never shows more closed than opened.
		closed := c.closed.Load()
		opened := c.opened.Load()
		if opened != 0 {
			ch <- prometheus.MustNewConstMetric(m.open, prometheus.GaugeValue, float64(max(c.open.Load(), 0)), t)
		}
		counter(m.opened, opened, t)
		if closed != 0 {
			for code := range c.closedBy {
				counter(m.closed, c.closedBy[code].Load(), t, codeLabel(code))
			}
		}
		counter(m.msgsIn, c.msgsIn.Load(), t)
		counter(m.bytesIn, c.bytesIn.Load(), t)
		counter(m.msgsOut, c.msgsOut.Load(), t)
		counter(m.bytesOut, c.bytesOut.Load(), t)
		counter(m.slow, c.slow.Load(), t)
		counter(m.conflicts, c.conflicts.Load(), t)
		counter(m.heartbeats, c.heartbeats.Load(), t)
	}
	for i := range m.refused {
		v := m.refused[i].Load()
		if v != 0 || i != numReasons-1 { // every known reason, even at zero
			ch <- prometheus.MustNewConstMetric(m.refusedDesc, prometheus.CounterValue, float64(v), reasonNames[i])
		}
	}
	m.duration.Collect(ch)
}

// Snapshot is the counts of a Metrics at one moment.
type Snapshot struct {
	// Transports holds the counts of every transport with any, keyed by
	// transport label value.
	Transports map[string]TransportStats
	// Refused counts refused requests by reason, for every known reason
	// (and "other" when not zero).
	Refused map[string]uint64
}

// TransportStats are the counts of one transport, or a sum of them.
type TransportStats struct {
	Open              int64  // sessions open now
	Opened            uint64 // sessions opened
	Closed            uint64 // sessions ended
	MessagesIn        uint64 // messages received from clients
	BytesIn           uint64 // their bytes
	MessagesOut       uint64 // messages written to clients
	BytesOut          uint64 // their bytes
	SlowClients       uint64 // sessions closed as slow clients
	ReceiverConflicts uint64 // receivers turned away with 2010
	Heartbeats        uint64 // heartbeat frames sent
}

// Add returns the sum of s and o.
func (s TransportStats) Add(o TransportStats) TransportStats {
	return TransportStats{
		Open:              s.Open + o.Open,
		Opened:            s.Opened + o.Opened,
		Closed:            s.Closed + o.Closed,
		MessagesIn:        s.MessagesIn + o.MessagesIn,
		BytesIn:           s.BytesIn + o.BytesIn,
		MessagesOut:       s.MessagesOut + o.MessagesOut,
		BytesOut:          s.BytesOut + o.BytesOut,
		SlowClients:       s.SlowClients + o.SlowClients,
		ReceiverConflicts: s.ReceiverConflicts + o.ReceiverConflicts,
		Heartbeats:        s.Heartbeats + o.Heartbeats,
	}
}

// Total returns the sum of every transport's counts.
func (s Snapshot) Total() TransportStats {
	var t TransportStats
	for _, ts := range s.Transports {
		t = t.Add(ts)
	}
	return t
}

// Snapshot returns the current counts. Each count is read atomically, but
// not all of them at the same instant.
func (m *Metrics) Snapshot() Snapshot {
	s := Snapshot{
		Transports: make(map[string]TransportStats),
		Refused:    make(map[string]uint64, numReasons),
	}
	for i := range m.byTransport {
		c := &m.byTransport[i]
		ts := TransportStats{
			Closed:            c.closed.Load(), // before Opened: see Collect
			Opened:            c.opened.Load(),
			MessagesIn:        c.msgsIn.Load(),
			BytesIn:           c.bytesIn.Load(),
			MessagesOut:       c.msgsOut.Load(),
			BytesOut:          c.bytesOut.Load(),
			SlowClients:       c.slow.Load(),
			ReceiverConflicts: c.conflicts.Load(),
			Heartbeats:        c.heartbeats.Load(),
		}
		ts.Open = max(c.open.Load(), 0)
		if ts != (TransportStats{}) {
			s.Transports[transportNames[i]] = ts
		}
	}
	for i := range m.refused {
		if v := m.refused[i].Load(); v != 0 || i != numReasons-1 {
			s.Refused[reasonNames[i]] = v
		}
	}
	return s
}

// TransportNames returns the values the transport label may take, in a
// fixed order: the session transports, the sending transports, "other".
func TransportNames() []string {
	return []string{
		"websocket", "xhr_streaming", "eventsource", "htmlfile", "xhr", "jsonp",
		"rawwebsocket", "xhr_send", "jsonp_send", "other",
	}
}
