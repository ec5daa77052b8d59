package mailstore

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestQueueEntryLifecycle(t *testing.T) {
	s, _ := openTest(t)
	out := &Outbound{From: "a@example.com", To: []string{"x@one.test", "y@two.test"}, Extra: []byte(`{"k":1}`)}
	if _, err := s.Deliver(ctx, time.Now(), nil, out, strings.NewReader(testMessage("q", "body"))); err != nil {
		t.Fatal(err)
	}
	q, err := s.Queue(ctx)
	if err != nil || len(q) != 1 || q[0].Size == 0 || string(q[0].Extra) != `{"k":1}` {
		t.Fatalf("Queue = %+v, %v", q, err)
	}
	id, body := q[0].ID, q[0].Body
	must(t, s.UpdateQueueEntry(ctx, id, func(e *QueueEntry) error { e.Attempts = 3; e.LastError = "busy"; return nil }))
	if e, err := s.QueueEntry(ctx, id); err != nil || e.Attempts != 3 || e.LastError != "busy" {
		t.Fatalf("after update: %+v, %v", e, err)
	}
	if left, err := s.DoneQueueRecipients(ctx, id, []string{"x@one.test"}); err != nil || left != 1 {
		t.Fatalf("DoneQueueRecipients = %d, %v; want 1 left", left, err)
	}
	if left, err := s.DoneQueueRecipients(ctx, id, []string{"y@two.test"}); err != nil || left != 0 {
		t.Fatalf("DoneQueueRecipients = %d, %v; want 0 left", left, err)
	}
	if _, err := s.QueueEntry(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("entry still there after its last recipient: %v", err)
	}
	if b, err := s.OpenBody(body); err == nil {
		b.Close()
		t.Errorf("the body outlived its only reference")
	}
}
