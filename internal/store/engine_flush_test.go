package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/kustodian/kustodian/internal/store/vfs"
)

// TestFlushCatalogFailures: a flush whose catalog commit fails, commits
// but reports an error, or has an unknown outcome never loses or
// duplicates a row, in the running process or after a restart.
func TestFlushCatalogFailures(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name     string
		arm      func(*flakyCatalog)
		flushErr bool
		// halted: later flushes fail until a restart.
		halted bool
	}{
		{"commit fails", func(c *flakyCatalog) { c.updateFails.Store(true) }, true, false},
		{"commits but reports an error", func(c *flakyCatalog) { c.lostReply.Store(true) }, false, false},
		{"outcome unknown", func(c *flakyCatalog) { c.lostReply.Store(true); c.viewFails.Store(true) }, true, true},
		{"outcome unknown, not committed", func(c *flakyCatalog) { c.updateFails.Store(true); c.viewFails.Store(true) }, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t, true)
			mem := env.fs.(*vfs.MemFS)
			cat := &flakyCatalog{Store: env.cat}
			e := env.open(t, noCompact, func(o *EngineOptions) { o.Catalog = cat })
			if err := e.Append(ctx, "a", []Rows{testRows(testWS1, secretTable, 0, 50, hour0, time.Second)}); err != nil {
				t.Fatal(err)
			}
			want := dumpRows(t, e, testWS1, secretTable)
			tc.arm(cat)
			err := e.Flush(ctx)
			if (err != nil) != tc.flushErr {
				t.Fatalf("flush: %v", err)
			}
			cat.updateFails.Store(false)
			cat.lostReply.Store(false)
			cat.viewFails.Store(false)
			if got := dumpRows(t, e, testWS1, secretTable); !slices.Equal(got, want) {
				t.Fatalf("rows after the flush: %d, want %d", len(got), len(want))
			}
			// More data, then another flush.
			if err := e.Append(ctx, "a", []Rows{testRows(testWS1, secretTable, 50, 50, hour0, time.Second)}); err != nil {
				t.Fatal(err)
			}
			want = dumpRows(t, e, testWS1, secretTable)
			if err := e.Flush(ctx); (err != nil) != tc.halted {
				t.Fatalf("second flush: %v (halted %v)", err, tc.halted)
			}
			if got := dumpRows(t, e, testWS1, secretTable); !slices.Equal(got, want) {
				t.Fatalf("rows after the second flush: %d, want %d", len(got), len(want))
			}
			if tc.halted {
				// A reload (as after a key refusal) must not delete the
				// flush's files as orphans, nor duplicate rows.
				e.Recover(ctx)
				if got := dumpRows(t, e, testWS1, secretTable); !slices.Equal(got, want) {
					t.Fatalf("rows after a reload: %d, want %d", len(got), len(want))
				}
			} else {
				checkFilesMatchCatalog(t, env, mem, "a")
			}
			// Restart as after a crash: the catalog decides.
			mem.Crash()
			e2 := env.open(t, noCompact)
			defer e2.Close(ctx)
			if got := dumpRows(t, e2, testWS1, secretTable); !slices.Equal(got, want) {
				t.Fatalf("rows after the restart: %d, want %d", len(got), len(want))
			}
			if err := e2.Flush(ctx); err != nil {
				t.Fatalf("flush after the restart: %v", err)
			}
			checkFilesMatchCatalog(t, env, mem, "a")
			if got := dumpRows(t, e2, testWS1, secretTable); !slices.Equal(got, want) {
				t.Fatalf("rows after the restart's flush: %d, want %d", len(got), len(want))
			}
		})
	}
}
