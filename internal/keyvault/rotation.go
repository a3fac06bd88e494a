package keyvault

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rotation policy action types, as Key Vault spells them.
const (
	ActionRotate = "Rotate"
	ActionNotify = "Notify"
)

// rotPolicy is a stored rotation policy.
type rotPolicy struct {
	Actions    []rotAction `json:"actions"`
	ExpiryTime string      `json:"expiryTime,omitempty"`
	Created    int64       `json:"created"`
	Updated    int64       `json:"updated"`
}

// rotAction is one lifetime action of a stored policy.
type rotAction struct {
	Type             string `json:"type"`
	TimeAfterCreate  string `json:"timeAfterCreate,omitempty"`
	TimeBeforeExpiry string `json:"timeBeforeExpiry,omitempty"`
}

// rotationPolicyWire is a rotation policy as Key Vault sends and receives
// it.
type rotationPolicyWire struct {
	ID              string               `json:"id,omitempty"`
	LifetimeActions []lifetimeActionWire `json:"lifetimeActions"`
	Attributes      *rotationAttrsWire   `json:"attributes,omitempty"`
}

type lifetimeActionWire struct {
	Trigger *triggerWire `json:"trigger"`
	Action  *actionWire  `json:"action"`
}

type triggerWire struct {
	TimeAfterCreate  *string `json:"timeAfterCreate,omitempty"`
	TimeBeforeExpiry *string `json:"timeBeforeExpiry,omitempty"`
}

type actionWire struct {
	Type string `json:"type"`
}

type rotationAttrsWire struct {
	ExpiryTime *string `json:"expiryTime,omitempty"`
	Created    *int64  `json:"created,omitempty"`
	Updated    *int64  `json:"updated,omitempty"`
}

// defaultPolicy is what a key without a policy of its own answers: notify
// 30 days before expiry, as Key Vault does.
var defaultPolicy = rotPolicy{Actions: []rotAction{{Type: ActionNotify, TimeBeforeExpiry: "P30D"}}}

// wire renders a stored policy for the key whose policy URL is id.
func (p *rotPolicy) wire(id string) rotationPolicyWire {
	out := rotationPolicyWire{ID: id, LifetimeActions: []lifetimeActionWire{}}
	for _, a := range p.Actions {
		t := &triggerWire{}
		if a.TimeAfterCreate != "" {
			t.TimeAfterCreate = &a.TimeAfterCreate
		}
		if a.TimeBeforeExpiry != "" {
			t.TimeBeforeExpiry = &a.TimeBeforeExpiry
		}
		out.LifetimeActions = append(out.LifetimeActions, lifetimeActionWire{Trigger: t, Action: &actionWire{Type: a.Type}})
	}
	attrs := &rotationAttrsWire{}
	if p.ExpiryTime != "" {
		e := p.ExpiryTime
		attrs.ExpiryTime = &e
	}
	if p.Created != 0 {
		c, u := p.Created, p.Updated
		attrs.Created, attrs.Updated = &c, &u
	}
	out.Attributes = attrs
	return out
}

// parsePolicy validates a policy sent by a client. The rules follow Key
// Vault's: every action has exactly one trigger; action types are Rotate
// and Notify, each at most once; Notify triggers before expiry; durations
// are ISO 8601; expiryTime is at least 28 days; rotation triggers are at
// least 7 days; rotating before expiry needs an expiryTime.
func parsePolicy(w *rotationPolicyWire) (*rotPolicy, error) {
	p := &rotPolicy{}
	if w.Attributes != nil && w.Attributes.ExpiryTime != nil && *w.Attributes.ExpiryTime != "" {
		d, err := parseISODuration(*w.Attributes.ExpiryTime)
		if err != nil {
			return nil, fmt.Errorf("expiryTime: %w", err)
		}
		if d.approx() < 28*24*time.Hour {
			return nil, errors.New("expiryTime must be at least 28 days (P28D)")
		}
		p.ExpiryTime = strings.ToUpper(*w.Attributes.ExpiryTime)
	}
	seen := map[string]bool{}
	for i, la := range w.LifetimeActions {
		if la.Action == nil || la.Trigger == nil {
			return nil, fmt.Errorf("lifetimeActions[%d] needs an action and a trigger", i)
		}
		var typ string
		switch strings.ToLower(la.Action.Type) {
		case "rotate":
			typ = ActionRotate
		case "notify":
			typ = ActionNotify
		default:
			return nil, fmt.Errorf("lifetimeActions[%d]: action type %q is not Rotate or Notify", i, la.Action.Type)
		}
		if seen[typ] {
			return nil, fmt.Errorf("lifetimeActions: more than one %s action", typ)
		}
		seen[typ] = true
		after, before := la.Trigger.TimeAfterCreate, la.Trigger.TimeBeforeExpiry
		if (after == nil || *after == "") == (before == nil || *before == "") {
			return nil, fmt.Errorf("lifetimeActions[%d]: the trigger needs exactly one of timeAfterCreate and timeBeforeExpiry", i)
		}
		a := rotAction{Type: typ}
		var spec string
		if after != nil && *after != "" {
			if typ == ActionNotify {
				return nil, fmt.Errorf("lifetimeActions[%d]: a Notify action triggers with timeBeforeExpiry", i)
			}
			spec, a.TimeAfterCreate = *after, strings.ToUpper(*after)
		} else {
			if p.ExpiryTime == "" && typ == ActionRotate {
				return nil, fmt.Errorf("lifetimeActions[%d]: timeBeforeExpiry needs attributes.expiryTime", i)
			}
			spec, a.TimeBeforeExpiry = *before, strings.ToUpper(*before)
		}
		d, err := parseISODuration(spec)
		if err != nil {
			return nil, fmt.Errorf("lifetimeActions[%d]: %w", i, err)
		}
		if d.approx() < 7*24*time.Hour {
			return nil, fmt.Errorf("lifetimeActions[%d]: the trigger must be at least 7 days (P7D)", i)
		}
		if p.ExpiryTime != "" && a.TimeBeforeExpiry != "" {
			exp, _ := parseISODuration(p.ExpiryTime)
			if d.approx() >= exp.approx() {
				return nil, fmt.Errorf("lifetimeActions[%d]: timeBeforeExpiry must be shorter than expiryTime", i)
			}
		}
		p.Actions = append(p.Actions, a)
	}
	return p, nil
}

// rotationDue reports whether a key whose latest version is v must be
// rotated at now under policy p.
func (p *rotPolicy) rotationDue(v *versionRecord, now time.Time) bool {
	for _, a := range p.Actions {
		if a.Type != ActionRotate {
			continue
		}
		switch {
		case a.TimeAfterCreate != "":
			d, err := parseISODuration(a.TimeAfterCreate)
			if err == nil && !now.Before(d.addTo(time.Unix(v.Created, 0))) {
				return true
			}
		case a.TimeBeforeExpiry != "" && v.Expires != nil:
			d, err := parseISODuration(a.TimeBeforeExpiry)
			if err == nil && !now.Before(d.subFrom(time.Unix(*v.Expires, 0))) {
				return true
			}
		}
	}
	return false
}

// newVersionExpiry returns the exp of a version created at now under p:
// now + expiryTime, or nil without one.
func (p *rotPolicy) newVersionExpiry(now time.Time) *int64 {
	if p == nil || p.ExpiryTime == "" {
		return nil
	}
	d, err := parseISODuration(p.ExpiryTime)
	if err != nil {
		return nil
	}
	return unixPtr(d.addTo(now))
}

// isoDuration is an ISO 8601 duration ("P1Y2M10DT2H30M", "P4W").
type isoDuration struct {
	years, months, days int
	clock               time.Duration
}

// parseISODuration parses an ISO 8601 duration with integer components.
func parseISODuration(s string) (isoDuration, error) {
	var d isoDuration
	bad := fmt.Errorf("%q is not an ISO 8601 duration such as P90D", s)
	u := strings.ToUpper(strings.TrimSpace(s))
	if len(u) < 3 || u[0] != 'P' {
		return d, bad
	}
	u = u[1:]
	inTime, found := false, false
	for u != "" {
		if u[0] == 'T' {
			if inTime {
				return d, bad
			}
			inTime = true
			u = u[1:]
			if u == "" {
				return d, bad
			}
			continue
		}
		i := 0
		for i < len(u) && u[i] >= '0' && u[i] <= '9' {
			i++
		}
		if i == 0 || i == len(u) || i > 6 {
			return d, bad
		}
		n, _ := strconv.Atoi(u[:i])
		unit := u[i]
		u = u[i+1:]
		found = true
		switch {
		case !inTime && unit == 'Y':
			d.years += n
		case !inTime && unit == 'M':
			d.months += n
		case !inTime && unit == 'W':
			d.days += 7 * n
		case !inTime && unit == 'D':
			d.days += n
		case inTime && unit == 'H':
			d.clock += time.Duration(n) * time.Hour
		case inTime && unit == 'M':
			d.clock += time.Duration(n) * time.Minute
		case inTime && unit == 'S':
			d.clock += time.Duration(n) * time.Second
		default:
			return d, bad
		}
	}
	if !found {
		return d, bad
	}
	return d, nil
}

// addTo returns t + d (calendar arithmetic for years, months and days).
func (d isoDuration) addTo(t time.Time) time.Time {
	return t.AddDate(d.years, d.months, d.days).Add(d.clock)
}

// subFrom returns t - d.
func (d isoDuration) subFrom(t time.Time) time.Time {
	return t.AddDate(-d.years, -d.months, -d.days).Add(-d.clock)
}

// approx returns the duration's length from the Unix epoch, for
// comparisons only.
func (d isoDuration) approx() time.Duration {
	t0 := time.Unix(0, 0).UTC()
	return d.addTo(t0).Sub(t0)
}
