package appliance

import (
	"context"
	"time"

	"facteur/services/mailstore"
)

// QueueList returns the outbound queue, oldest first.
func (c *Core) QueueList(ctx context.Context) ([]mailstore.QueueEntry, error) {
	return c.store.Queue(ctx)
}

// QueueRetry makes entry id due now.
func (c *Core) QueueRetry(ctx context.Context, id uint64) error {
	err := c.store.UpdateQueueEntry(ctx, id, func(e *mailstore.QueueEntry) error {
		e.NextAttempt = time.Now().UTC()
		return nil
	})
	if err == nil {
		c.kickQueue()
	}
	return err
}

// QueueDrop removes entry id without delivering it or telling the sender.
func (c *Core) QueueDrop(ctx context.Context, id uint64) error {
	return c.store.DeleteQueueEntry(ctx, id)
}

// kickQueue wakes the delivery worker, if it runs.
func (c *Core) kickQueue() {}
