package firewall

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"facteur/internal/netif"
)

// Options configure the firewall role.
type Options struct {
	// PolicyPath is the policy snapshot the core writes (JSON, replaced
	// atomically). The role applies it at start and whenever it changes.
	PolicyPath string
	// SocketPath is where the role listens for events and admin requests
	// (mode 0600).
	SocketPath string
	// SocketUID and SocketGID, when not zero, become the socket's owner,
	// so that the core, which drops root, can connect.
	SocketUID, SocketGID int
	// StatePath is the role's own small file: ban records and the last
	// policy applied.
	StatePath string
	// Logger gets the role's log; nil discards it.
	Logger *slog.Logger
	// DryRun never touches the kernel (dev mode): `show` still answers
	// with the ruleset that would be applied.
	DryRun bool
	// NetNS, when not zero, is an open network namespace file whose
	// firewall the role manages instead of its own (tests).
	NetNS int
	// PollInterval is how often the policy file is checked for a change
	// (default one second). A RequestReload, or a value on Reload (say,
	// SIGHUP from signal.Notify), checks at once.
	PollInterval time.Duration
	Reload       <-chan os.Signal
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Connected lists the networks the box is on, for a policy with
	// LANConnected (default: netif.Connected, or none with NetNS).
	Connected func() []netip.Prefix
}

// role is the running firewall role.
type role struct {
	opts   Options
	log    *slog.Logger
	banner *Banner
	kernel kernel

	mu sync.Mutex // protects the fields below and serialises kernel changes
	// policy is the policy the kernel holds, nil before the first apply.
	policy *Policy
	// seen is the policy file as last read, to notice a new one.
	seen fs.FileInfo
	// connected are the box's networks as last added to the LAN.
	connected []netip.Prefix
}

// Run runs the firewall role until ctx is done: it applies the last known
// policy before anything else, then listens on the socket and follows the
// policy file. A policy that cannot be read or applied leaves the previous
// one in force.
func Run(ctx context.Context, o Options) error {
	r, err := newRole(o)
	if err != nil {
		return err
	}
	r.boot()
	l, err := listenUnix(o.SocketPath, o.SocketUID, o.SocketGID)
	if err != nil {
		return err
	}
	srv := &server{r: r, l: l}
	var wg sync.WaitGroup
	wg.Go(srv.serve)
	wg.Go(func() { r.watch(ctx) })
	<-ctx.Done()
	srv.close()
	wg.Wait()
	return r.saveState()
}

func newRole(o Options) (*role, error) {
	if o.PolicyPath == "" || o.SocketPath == "" || o.StatePath == "" {
		return nil, errors.New("firewall: PolicyPath, SocketPath and StatePath are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Connected == nil {
		o.Connected = netif.Connected
		if o.NetNS != 0 {
			o.Connected = func() []netip.Prefix { return nil }
		}
	}
	r := &role{opts: o, log: o.Logger, banner: NewBanner(o.Now)}
	if o.DryRun {
		r.kernel = dryKernel{r.banner}
		return r, nil
	}
	r.kernel = nftKernel{netns: o.NetNS}
	return r, nil
}

// boot applies the policy file, or, if it is missing or bad, the last
// policy the kernel accepted, and with it the saved bans.
func (r *role) boot() {
	st, err := loadState(r.opts.StatePath)
	if err != nil {
		r.log.Error("firewall state unreadable; starting without saved bans", slog.Any("err", err))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p, err := r.readPolicyLocked()
	// The Banner needs the policy's rules and exemptions to restore.
	switch {
	case err == nil:
		r.banner.SetPolicy(p)
	case st.Policy != nil:
		r.banner.SetPolicy(*st.Policy)
	}
	r.banner.Restore(st.Offenders)
	if err == nil {
		err = r.applyLocked(p)
	}
	switch {
	case err == nil:
	case st.Policy == nil:
		r.log.Warn("no firewall policy applied; the host firewall is as it was", slog.Any("err", err))
	default:
		r.log.Error("policy file not applied; applying the last good policy", slog.Any("err", err))
		if err := r.applyLocked(*st.Policy); err != nil {
			r.log.Error("last good firewall policy not applied", slog.Any("err", err))
		}
	}
}

// readPolicyLocked reads the policy file and remembers which file it read.
func (r *role) readPolicyLocked() (Policy, error) {
	fi, err := os.Stat(r.opts.PolicyPath)
	if err != nil {
		r.seen = nil
		return Policy{}, fmt.Errorf("policy: %w", err)
	}
	r.seen = fi
	p, err := ReadPolicy(r.opts.PolicyPath)
	if err == nil && p.LANConnected {
		r.connected = r.opts.Connected()
		p.LAN = append(slices.Clone(p.LAN), r.connected...)
	}
	return p, err
}

// networksChanged reports whether the box's networks differ from those
// in the applied policy's LAN (a DHCP lease came, an address changed).
func (r *role) networksChanged() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.policy == nil || !r.policy.LANConnected {
		return false
	}
	now := r.opts.Connected()
	if slices.Equal(now, r.connected) {
		return false
	}
	r.log.Info("the box's networks changed; applying the firewall policy again", slog.Any("networks", now))
	return true
}

// applyLocked puts p in the kernel together with the bans in force that p
// does not exempt, then makes p the Banner's policy and lifts the bans it
// exempts. On failure nothing changes, in the kernel or here.
func (r *role) applyLocked(p Policy) error {
	var bans []Ban
	for _, b := range r.banner.Active() {
		if !p.exempt(b.IP) {
			bans = append(bans, b)
		}
	}
	if err := r.kernel.apply(p, bans); err != nil {
		return err
	}
	r.policy = &p
	for _, ip := range r.banner.SetPolicy(p) {
		if err := r.kernel.unban(ip); err != nil {
			r.log.Error("unban newly exempt address", slog.String("ip", ip.String()), slog.Any("err", err))
		}
	}
	r.log.Info("firewall policy applied", slog.Int("bans", len(bans)))
	if err := r.saveStateLocked(); err != nil {
		r.log.Error("save firewall state", slog.Any("err", err))
	}
	return nil
}

// watch re-applies the policy file whenever it changes, until ctx is done.
func (r *role) watch(ctx context.Context) {
	t := time.NewTicker(r.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.reload(r.networksChanged())
		case <-r.opts.Reload:
			r.reload(false)
		}
	}
}

// reload applies the policy file if it changed since it was last read, or
// always if force is set. It returns why it did not apply it.
func (r *role) reload(force bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !force && !r.changedLocked() {
		return nil
	}
	p, err := r.readPolicyLocked()
	if err == nil {
		err = r.applyLocked(p)
	}
	if err != nil {
		r.log.Error("new firewall policy not applied; the previous one stays", slog.Any("err", err))
	}
	return err
}

// changedLocked reports whether the policy file is another file than the
// one last read (the core replaces it by rename) or was modified.
func (r *role) changedLocked() bool {
	fi, err := os.Stat(r.opts.PolicyPath)
	if err != nil {
		return false
	}
	old := r.seen
	return old == nil || !os.SameFile(old, fi) || !old.ModTime().Equal(fi.ModTime()) || old.Size() != fi.Size()
}

func (r *role) saveState() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.saveStateLocked()
}

func (r *role) saveStateLocked() error {
	return saveState(r.opts.StatePath, state{Offenders: r.banner.Offenders(), Policy: r.policy})
}

// event handles a failure the core reports.
func (r *role) event(req Request) Response {
	ip := req.IP.Unmap()
	d, banned := r.banner.Failure(ip)
	r.log.Debug("firewall event", slog.String("type", req.Type), slog.String("ip", ip.String()),
		slog.String("proto", req.Proto), slog.String("user", req.User))
	if !banned {
		return Response{OK: true}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log.Warn("banning address", slog.String("ip", ip.String()), slog.Duration("for", d))
	if err := r.kernel.ban(ip, d); err != nil {
		r.log.Error("ban in kernel", slog.String("ip", ip.String()), slog.Any("err", err))
	}
	if err := r.saveStateLocked(); err != nil {
		r.log.Error("save firewall state", slog.Any("err", err))
	}
	return Response{OK: true, Banned: true}
}

// ban handles an admin's ban.
func (r *role) ban(ip netip.Addr, d time.Duration) error {
	ip = ip.Unmap()
	if d == 0 {
		d = DefaultManualBan
	}
	if err := r.banner.Ban(ip, d); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log.Warn("banning address by request", slog.String("ip", ip.String()), slog.Duration("for", d))
	return errors.Join(r.kernel.ban(ip, d), r.saveStateLocked())
}

// unban handles an admin's unban.
func (r *role) unban(ip netip.Addr) error {
	ip = ip.Unmap()
	r.banner.Unban(ip)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log.Info("unbanning address by request", slog.String("ip", ip.String()))
	return errors.Join(r.kernel.unban(ip), r.saveStateLocked())
}

// show returns the ruleset of the policy in force.
func (r *role) show() (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.policy == nil {
		return "", errors.New("no policy applied yet")
	}
	return Render(*r.policy), nil
}
