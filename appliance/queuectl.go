package appliance

import (
	"context"
	"fmt"
	"time"

	"facteur/appliance/config"
	"facteur/services/mailstore"
)

// QueueParams name a queue entry; ID 0 with All means every entry.
type QueueParams struct {
	ID  uint64 `json:"id,omitempty"`
	All bool   `json:"all,omitempty"`
}

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

func (c *Core) queueRetry(ctx context.Context, p QueueParams) (any, error) {
	if !p.All {
		return nil, c.QueueRetry(ctx, p.ID)
	}
	entries, err := c.store.Queue(ctx)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if err := c.QueueRetry(ctx, e.ID); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func (c *Core) queueDrop(ctx context.Context, p QueueParams) (any, error) {
	if p.All {
		return nil, fmt.Errorf("drop takes one entry at a time")
	}
	return nil, c.QueueDrop(ctx, p.ID)
}

// SetSmarthost relays outbound mail through h, or delivers directly again
// with nil; the queue uses it when this returns.
func (c *Core) SetSmarthost(ctx context.Context, h *config.Smarthost) error {
	if err := c.changeSettings(ctx, func(s *config.Settings) { s.Smarthost = h }); err != nil {
		return err
	}
	c.restartQueue()
	return nil
}

// LifetimeParams set how many days the queue retries a message.
type LifetimeParams struct {
	Days int `json:"days"`
}

// SetQueueLifetime changes how long the queue retries before returning a
// message to its sender.
func (c *Core) SetQueueLifetime(ctx context.Context, days int) error {
	if days < 1 {
		return fmt.Errorf("queue lifetime %d days: want 1 to 30", days)
	}
	if err := c.changeSettings(ctx, func(s *config.Settings) { s.QueueMaxDays = days }); err != nil {
		return err
	}
	c.restartQueue()
	return nil
}

// DMARCParams set the DMARC policy a domain publishes.
type DMARCParams struct {
	Domain string `json:"domain"`
	Policy string `json:"policy"`
}

func (c *Core) dnsDMARC(ctx context.Context, p DMARCParams) (any, error) {
	switch p.Policy {
	case "none", "quarantine", "reject":
	default:
		return nil, fmt.Errorf("DMARC policy %q: want none, quarantine or reject", p.Policy)
	}
	return nil, c.changeDNS(ctx, p.Domain, func(cfg *DNSConfig) error {
		cfg.DMARC = p.Policy
		return nil
	})
}
