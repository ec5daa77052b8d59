package mailstore

import "sync"

// Feed tells open sessions that a mailbox changed. A notification carries
// no payload: the subscriber asks the store what changed since the highest
// modification sequence it has seen (Changes), so notifications can be
// coalesced and never arrive out of order with the data.
type Feed struct {
	// mu guards subs.
	mu   sync.Mutex
	subs map[uint64]map[*Subscription]struct{}
}

// Subscription receives a value on C (buffered, coalescing) whenever its
// mailbox changes.
type Subscription struct {
	C    chan struct{}
	mbox uint64
	feed *Feed
}

func newFeed() *Feed {
	return &Feed{subs: map[uint64]map[*Subscription]struct{}{}}
}

// Subscribe starts notifications for mbox. Call Close when done.
func (f *Feed) Subscribe(mbox uint64) *Subscription {
	sub := &Subscription{C: make(chan struct{}, 1), mbox: mbox, feed: f}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.subs[mbox] == nil {
		f.subs[mbox] = map[*Subscription]struct{}{}
	}
	f.subs[mbox][sub] = struct{}{}
	return sub
}

// Close stops notifications.
func (sub *Subscription) Close() {
	f := sub.feed
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.subs[sub.mbox], sub)
	if len(f.subs[sub.mbox]) == 0 {
		delete(f.subs, sub.mbox)
	}
}

func (f *Feed) notify(mbox uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for sub := range f.subs[mbox] {
		select {
		case sub.C <- struct{}{}:
		default: // a notification is already pending
		}
	}
}
