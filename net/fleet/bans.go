package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Ban refuses an address or prefix fleet-wide until it lapses: every node
// answers its WebSocket upgrades and /join requests 403.
type Ban struct {
	// Prefix is the banned network in canonical CIDR form ("203.0.113.7/32",
	// "2001:db8::/48"): netip.Prefix's String of a masked prefix.
	Prefix string `json:"prefix"`
	// Until is when the ban lapses, on the directory's clock; set by Bans,
	// ignored by Ban.
	Until  time.Time `json:"until"`
	Reason string    `json:"reason"` // why, for the operators
	By     string    `json:"by"`     // who banned it, for the operators
}

// MaxBanText bounds a ban's Reason and By, in bytes.
const MaxBanText = 200

func checkBan(b Ban, ttl time.Duration) error {
	if err := checkPrefix(b.Prefix); err != nil {
		return err
	}
	if len(b.Reason) > MaxBanText || len(b.By) > MaxBanText {
		return fmt.Errorf("fleet: ban of %s: reason and by at most %d bytes", b.Prefix, MaxBanText)
	}
	return checkTTL(ttl)
}

// checkPrefix requires a prefix in canonical form, so that one network
// has one ban key.
func checkPrefix(prefix string) error {
	p, err := netip.ParsePrefix(prefix)
	if err != nil {
		return fmt.Errorf("fleet: ban prefix: %w", err)
	}
	if c := p.Masked().String(); c != prefix {
		return fmt.Errorf("fleet: ban prefix %q is not canonical (%s)", prefix, c)
	}
	return nil
}

// The Redis directory keeps bans in two keys, with no TTL of their own
// but holding live bans only (every ban script first drops the lapsed
// ones, on Redis's clock):
//
//   - T:bans: hash, prefix to the ban as JSON (Reason, By).
//   - T:banexp: sorted set, prefix by expiry (ms).
//
// The bans an operator makes are few, so Bans reads them whole.
const luaBans = `
local BANS, BANEXP = T .. ':bans', T .. ':banexp'
local function sweep_bans(now)
  local gone = redis.call('ZRANGEBYSCORE', BANEXP, '-inf', '(' .. now)
  for i = 1, #gone, 500 do
    local part = {unpack(gone, i, math.min(i + 499, #gone))}
    redis.call('HDEL', BANS, unpack(part))
    redis.call('ZREM', BANEXP, unpack(part))
  end
end
local now = now_ms()
sweep_bans(now)
`

// banScript: ARGV prefix, json, ttl. Returns the expiry (ms).
var banScript = script(luaBans + `
local exp = now + tonumber(ARGV[4])
redis.call('HSET', BANS, ARGV[2], ARGV[3])
redis.call('ZADD', BANEXP, exp, ARGV[2])
return exp
`)

// unbanScript: ARGV prefix. Returns 1 if a live ban was lifted.
var unbanScript = script(luaBans + `
redis.call('ZREM', BANEXP, ARGV[2])
return redis.call('HDEL', BANS, ARGV[2])
`)

// bansScript returns prefix, expiry (ms), json for each live ban.
var bansScript = script(luaBans + `
local out = {}
local z = redis.call('ZRANGE', BANEXP, 0, -1, 'WITHSCORES')
for i = 1, #z, 2 do
  out[#out + 1] = z[i]
  out[#out + 1] = z[i + 1]
  out[#out + 1] = redis.call('HGET', BANS, z[i]) or '{}'
end
return out
`)

// banText is what the Redis directory stores of a ban beside its expiry.
type banText struct {
	Reason string `json:"reason,omitempty"`
	By     string `json:"by,omitempty"`
}

func (d *redisDir) banKeys() []string { return []string{d.index("bans"), d.index("banexp")} }

func (d *redisDir) Ban(ctx context.Context, b Ban, ttl time.Duration) error {
	if err := checkBan(b, ttl); err != nil {
		return err
	}
	js, err := json.Marshal(banText{Reason: b.Reason, By: b.By})
	if err != nil {
		return err
	}
	_, err = d.run(ctx, "ban", banScript, d.banKeys(), b.Prefix, js, ttl.Milliseconds())
	return err
}

func (d *redisDir) Unban(ctx context.Context, prefix string) error {
	if err := checkPrefix(prefix); err != nil {
		return err
	}
	v, err := d.run(ctx, "unban", unbanScript, d.banKeys(), prefix)
	if err != nil {
		return err
	}
	if num(v) == 0 {
		return ErrNotFound
	}
	return nil
}

func (d *redisDir) Bans(ctx context.Context) ([]Ban, error) {
	v, err := d.run(ctx, "bans", bansScript, d.banKeys())
	if err != nil {
		return nil, err
	}
	a, _ := v.([]any)
	out := make([]Ban, 0, len(a)/3)
	for i := 0; i+2 < len(a); i += 3 {
		var t banText
		if err := json.Unmarshal([]byte(str(a[i+2])), &t); err != nil {
			return nil, fmt.Errorf("fleet: ban of %s: %w", str(a[i]), err)
		}
		exp, err := strconv.ParseInt(str(a[i+1]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("fleet: ban of %s: expiry: %w", str(a[i]), err)
		}
		out = append(out, Ban{Prefix: str(a[i]), Until: time.UnixMilli(exp), Reason: t.Reason, By: t.By})
	}
	slices.SortFunc(out, func(x, y Ban) int { return strings.Compare(x.Prefix, y.Prefix) })
	return out, nil
}
