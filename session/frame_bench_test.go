package session

import (
	"context"
	"strings"
	"testing"
	"time"
)

func BenchmarkAppendQuotedHTML(b *testing.B) {
	frame := string(AppendMessages(nil, []string{strings.Repeat("abcdefgh", 128)}))
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	buf := make([]byte, 0, 4096)
	for b.Loop() {
		buf = AppendQuotedHTML(buf[:0], frame)
	}
}

// BenchmarkSendTake is the session's part of every outgoing message: Send
// queues it, the connection's writer takes the batch from its lease and encodes it. With
// the writer's batch and buffer reused, it allocates nothing.
func BenchmarkSendTake(b *testing.B) {
	limits := Limits{SendQueueBytes: 1 << 20, SendQueueMessages: 1024, RecvQueue: 16,
		RecvTimeout: time.Second, DisconnectDelay: time.Minute}
	s := New("bench", "", limits, nil)
	wake := make(chan struct{}, 1)
	var l Lease
	_ = s.Attach(context.Background(), &l, Connection(), 0, func() { signal(wake) })
	var batch Batch
	_ = l.Next(&batch, false) // the open frame
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Send("hello, world 123"); err != nil {
			b.Fatal(err)
		}
		<-wake
		_ = l.Next(&batch, false)
		buf = AppendBatch(buf[:0], &batch)
	}
}

// BenchmarkDeliverRecv is the session's part of every incoming message.
func BenchmarkDeliverRecv(b *testing.B) {
	limits := Limits{SendQueueBytes: 1 << 20, SendQueueMessages: 1024, RecvQueue: 16,
		RecvTimeout: time.Second, DisconnectDelay: time.Minute}
	s := New("bench", "", limits, nil)
	msgs := []string{"hello, world 123"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Deliver(ctx, msgs); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Recv(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
