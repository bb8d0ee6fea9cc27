package cluster

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// BenchmarkEchoHop measures an xhr-polling echo (an xhr_send, then the
// poll that carries the message back) sent straight to the session's
// owner and through another node, and reports the latency percentiles of
// one echo. The difference is the cost of the forwarding hop for two
// requests, engine lookups included:
//
//	go test -run '^$' -bench EchoHop -benchtime 5000x ./sockjs/cluster
func BenchmarkEchoHop(b *testing.B) {
	for _, ec := range engineCases[:2] { // memory and redis
		for _, path := range []string{"direct", "forwarded"} {
			b.Run(ec.name+"/"+path, func(b *testing.B) {
				e := ec.make(b, time.Minute)
				nodes := newCluster(b, e, 2, clusterOpts{})
				c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
				defer c.CloseIdleConnections()
				owner, via := nodes[0].base, nodes[0].base
				if path == "forwarded" {
					via = nodes[1].base
				}
				if f := benchPoll(b, c, owner, "bench"); f != "o" {
					b.Fatal(f)
				}
				lat := make([]time.Duration, 0, b.N)
				b.ResetTimer()
				for range b.N {
					start := time.Now()
					benchSend(b, c, via, "bench")
					if f := benchPoll(b, c, via, "bench"); f != `a["m"]` {
						b.Fatal(f)
					}
					lat = append(lat, time.Since(start))
				}
				b.StopTimer()
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			})
		}
	}
}

func benchPoll(b *testing.B, c *http.Client, base, id string) string {
	resp, err := c.Post(base+"/000/"+id+"/xhr", "text/plain", nil)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return strings.TrimSuffix(string(body), "\n")
}

func benchSend(b *testing.B, c *http.Client, base, id string) {
	resp, err := c.Post(base+"/000/"+id+"/xhr_send", "text/plain", strings.NewReader(`["m"]`))
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		b.Fatal(resp.Status)
	}
}
