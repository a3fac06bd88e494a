package ingest

import (
	"container/heap"
	"crypto/sha256"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DefaultReplayEntries is the default bound of a ReplayGuard: at about
// 100 bytes an entry, some 50 MB, the signatures of 500,000 requests — at
// the default skew (a signature is remembered for up to 30 minutes), a
// steady 270 posts per second before the cap is felt.
const DefaultReplayEntries = 500_000

// ReplayGuard refuses an exact replay of a request it accepted: the same
// workspace and signature while the request's x-ms-date is still within
// the allowed skew. Azure's Data Collector API accepts such replays (the
// signature covers only the method, Content-Length, Content-Type,
// x-ms-date and the path, not the body), so a captured request can be
// sent again, or a different body of the same length sent under its
// signature, until its date falls out of the window. With the guard a
// signature is good for one request; as a consequence a sender must not
// send two posts of the same length with the same x-ms-date (one second
// of resolution), since they carry the same signature.
//
// Memory is bounded: at most max signatures are remembered, each until
// its date leaves the window. When the bound is reached the signature with
// the oldest date is forgotten and the guard stops accepting requests
// dated at or before it (403, as for a stale date): the window narrows
// under load rather than letting a forgotten signature be replayed.
// Requests signed with the current time are unaffected until the bound is
// reached within a single second.
//
// It is safe for concurrent use.
type ReplayGuard struct {
	mu    sync.Mutex
	max   int
	skew  time.Duration
	now   func() time.Time
	seen  map[replayKey]int64 // signature -> its date (Unix seconds)
	dates replayHeap          // the same, oldest date first
	floor int64               // dates at or before it are refused (Unix seconds)
	has   bool                // floor is set
}

type replayKey [16]byte

// NewReplayGuard returns a guard remembering at most max signatures
// (DefaultReplayEntries if max <= 0) for the x-ms-date skew skew.
func NewReplayGuard(max int, skew time.Duration, now func() time.Time) *ReplayGuard {
	if max <= 0 {
		max = DefaultReplayEntries
	}
	if skew <= 0 {
		skew = DefaultMaxSkew
	}
	if now == nil {
		now = time.Now
	}
	return &ReplayGuard{max: max, skew: skew, now: now, seen: map[replayKey]int64{}}
}

// Len returns the number of signatures remembered.
func (g *ReplayGuard) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.seen)
}

// Reserve records an authenticated request's signature, or refuses the
// request as a replay (409 DuplicateRequest) or as older than the guard
// can vouch for (403). The request's handler calls forget if it does not
// store the data, so the sender may send the same request again.
func (g *ReplayGuard) Reserve(customerID, signature string, date time.Time) (forget func(), err error) {
	var k replayKey
	sum := sha256.Sum256([]byte(strings.ToLower(customerID) + ":" + signature))
	copy(k[:], sum[:])
	d := date.Unix()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.expireLocked()
	if _, dup := g.seen[k]; dup {
		return nil, fail(http.StatusConflict, "DuplicateRequest",
			"A request with this signature was already received: sign every post with its own x-ms-date (replay protection is on; two posts of the same length need different dates).")
	}
	if g.has && d <= g.floor {
		return nil, fail(http.StatusForbidden, "InvalidAuthorization",
			"The x-ms-date is older than the server's replay protection can vouch for under the current load: sign the post with the current time.")
	}
	for len(g.dates) >= g.max {
		old := heap.Pop(&g.dates).(replayEntry)
		if g.seen[old.key] == old.date {
			delete(g.seen, old.key)
		}
		if !g.has || old.date > g.floor {
			g.floor, g.has = old.date, true
		}
	}
	g.seen[k] = d
	heap.Push(&g.dates, replayEntry{key: k, date: d})
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.seen[k] == d {
			delete(g.seen, k) // its heap entry goes when it expires
		}
	}, nil
}

// expireLocked forgets signatures whose date is out of the window: a
// replay of them is refused as stale anyway.
func (g *ReplayGuard) expireLocked() {
	cutoff := g.now().Add(-g.skew).Unix()
	for len(g.dates) > 0 && g.dates[0].date < cutoff {
		old := heap.Pop(&g.dates).(replayEntry)
		if g.seen[old.key] == old.date {
			delete(g.seen, old.key)
		}
	}
}

type replayEntry struct {
	key  replayKey
	date int64
}

// replayHeap is a min-heap of entries by date.
type replayHeap []replayEntry

func (h replayHeap) Len() int           { return len(h) }
func (h replayHeap) Less(i, j int) bool { return h[i].date < h[j].date }
func (h replayHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *replayHeap) Push(x any)        { *h = append(*h, x.(replayEntry)) }
func (h *replayHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
