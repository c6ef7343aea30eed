package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/shatter/shatter/net/fleet"
)

// maxBanMinutes bounds a ban's length: a year. A ban is for an abuser of
// the moment; a network to refuse for good belongs in the firewall.
const maxBanMinutes = 365 * 24 * 60

// banSet is the fleet's bans as this node last read them from the
// directory. When the directory cannot be reached, the last set read
// stays in force, each ban until its Until.
type banSet struct {
	mu     sync.Mutex
	bans   []fleet.Ban
	nets   []netip.Prefix // bans' prefixes, parsed
	stale  bool           // the last refresh failed
	failed bool           // a refresh failure was logged and not yet followed by a success
}

// set replaces the set with what the directory listed.
func (b *banSet) set(bans []fleet.Ban) {
	nets := make([]netip.Prefix, 0, len(bans))
	for _, ban := range bans {
		if p, err := netip.ParsePrefix(ban.Prefix); err == nil {
			nets = append(nets, p)
		}
	}
	b.mu.Lock()
	b.bans, b.nets, b.stale = bans, nets, false
	b.mu.Unlock()
}

// banned reports the ban that covers addr at now, if any.
func (b *banSet) banned(addr netip.Addr, now time.Time) (fleet.Ban, bool) {
	if !addr.IsValid() {
		return fleet.Ban{}, false
	}
	addr = addr.Unmap()
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, p := range b.nets {
		if p.Contains(addr) && now.Before(b.bans[i].Until) {
			return b.bans[i], true
		}
	}
	return fleet.Ban{}, false
}

// list returns the live bans and whether they may be out of date.
func (b *banSet) list(now time.Time) ([]fleet.Ban, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := []fleet.Ban{}
	for _, ban := range b.bans {
		if now.Before(ban.Until) {
			out = append(out, ban)
		}
	}
	return out, b.stale
}

// runBans reads the fleet's bans at once and then every refresh period,
// until ctx is done.
func (s *Server) runBans(ctx context.Context) {
	t := time.NewTicker(s.refresh)
	defer t.Stop()
	for {
		s.refreshBans(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// refreshBans reads the fleet's bans from the directory; on failure the
// last set read stays in force (logged once per outage).
func (s *Server) refreshBans(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, s.callTimeout)
	defer cancel()
	bans, err := s.dir.Bans(cctx)
	if err != nil {
		s.bans.mu.Lock()
		s.bans.stale = true
		logIt := !s.bans.failed
		s.bans.failed = true
		s.bans.mu.Unlock()
		if logIt && ctx.Err() == nil {
			s.log.Warn("cannot read the fleet's bans; keeping the last ones read", "err", err)
		}
		return
	}
	s.bans.mu.Lock()
	if s.bans.failed {
		s.log.Info("reading the fleet's bans again")
	}
	s.bans.failed = false
	s.bans.mu.Unlock()
	s.bans.set(bans)
}

// refuseBanned answers 403 to a client address the fleet has banned (as
// JSON {"error": "banned", "until"} if asJSON), and reports whether it
// did.
func (s *Server) refuseBanned(w http.ResponseWriter, r *http.Request, asJSON bool) bool {
	ban, ok := s.bans.banned(s.clientAddr(r), time.Now())
	if !ok {
		return false
	}
	s.metrics.Closes.WithLabelValues("banned").Inc()
	until := ban.Until.UTC().Format(time.RFC3339)
	if asJSON {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "banned", "until": until})
	} else {
		http.Error(w, "your address is banned until "+until, http.StatusForbidden)
	}
	return true
}

// parseBanPrefix reads an address ("203.0.113.7", "2001:db8::1") or a
// prefix ("203.0.113.0/24") in the canonical form the directory keys
// bans by.
func parseBanPrefix(text string) (string, error) {
	p, err := netip.ParsePrefix(text)
	if err != nil {
		a, aerr := netip.ParseAddr(text)
		if aerr != nil || a.Zone() != "" {
			return "", fmt.Errorf("prefix: %q is not an address or a CIDR prefix", text)
		}
		a = a.Unmap()
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Is4In6() {
		return "", fmt.Errorf("prefix: %q: write an IPv4-mapped prefix as IPv4", text)
	}
	return p.Masked().String(), nil
}

// banRequest is the body of POST /bans.
type banRequest struct {
	Prefix  string  `json:"prefix"`
	Minutes float64 `json:"minutes"`
	Reason  string  `json:"reason"`
}

// handleBan is POST /bans: ban an address or prefix fleet-wide.
func (s *Server) handleBan(w http.ResponseWriter, r *http.Request) {
	var req banRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		adminError(w, http.StatusBadRequest, "body: "+err.Error())
		return
	}
	prefix, err := parseBanPrefix(req.Prefix)
	if err != nil {
		adminError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !(req.Minutes > 0) || req.Minutes > maxBanMinutes {
		adminError(w, http.StatusBadRequest, fmt.Sprintf("minutes: above 0 and at most %d (a year)", maxBanMinutes))
		return
	}
	by := adminWho(r)
	if len(req.Reason) > fleet.MaxBanText {
		adminError(w, http.StatusBadRequest, fmt.Sprintf("reason: at most %d bytes", fleet.MaxBanText))
		return
	}
	if len(by) > fleet.MaxBanText {
		by = by[:fleet.MaxBanText]
	}
	ttl := time.Duration(req.Minutes * float64(time.Minute))
	ban := fleet.Ban{Prefix: prefix, Reason: req.Reason, By: by}
	if err := s.dir.Ban(r.Context(), ban, max(ttl, time.Millisecond)); err != nil {
		adminError(w, http.StatusServiceUnavailable, "fleet directory: "+err.Error())
		return
	}
	s.refreshBans(r.Context()) // in force here at once, elsewhere at the next refresh
	s.logAction(by, "banned", "prefix", prefix, "minutes", req.Minutes, "reason", req.Reason)
	ban.Until = time.Now().Add(ttl)
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "ban": ban})
}

// handleBans is GET /bans: the fleet's bans as the directory lists them,
// or as this node last read them (with "stale": true) when it cannot be
// reached.
func (s *Server) handleBans(w http.ResponseWriter, r *http.Request) {
	s.refreshBans(r.Context())
	bans, stale := s.bans.list(time.Now())
	writeJSON(w, http.StatusOK, map[string]any{"bans": bans, "stale": stale})
}

// handleUnban is DELETE /bans/{prefix}: lift a ban (the prefix
// URL-escaped: 203.0.113.0%2F24).
func (s *Server) handleUnban(w http.ResponseWriter, r *http.Request) {
	prefix, err := parseBanPrefix(r.PathValue("prefix"))
	if err != nil {
		adminError(w, http.StatusBadRequest, err.Error())
		return
	}
	switch err := s.dir.Unban(r.Context(), prefix); {
	case errors.Is(err, fleet.ErrNotFound):
		adminError(w, http.StatusNotFound, "no ban of "+prefix)
		return
	case err != nil:
		adminError(w, http.StatusServiceUnavailable, "fleet directory: "+err.Error())
		return
	}
	s.refreshBans(r.Context())
	s.logAction(adminWho(r), "unbanned", "prefix", prefix)
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "prefix": prefix})
}
