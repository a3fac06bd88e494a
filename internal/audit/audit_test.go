package audit

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/kustodian/kustodian/internal/meta"
)

func TestRecordAndList(t *testing.T) {
	ctx := context.Background()
	store, err := meta.OpenSQLite(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	// Written out of order; listed by time.
	for _, d := range []time.Duration{2 * time.Second, 0, time.Second} {
		err := store.Update(ctx, func(tx meta.Tx) error {
			return Record(ctx, tx, Event{Time: base.Add(d), Kind: "KeySet", Cause: d.String()})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	all, err := List(ctx, store, time.Time{}, 0)
	if err != nil || len(all) != 3 {
		t.Fatalf("List = %v, %v", all, err)
	}
	for i, want := range []string{"0s", "1s", "2s"} {
		if all[i].Cause != want || all[i].ID == "" {
			t.Errorf("event %d = %+v, want cause %s", i, all[i], want)
		}
	}
	later, _ := List(ctx, store, base.Add(time.Second), 0)
	if len(later) != 2 || later[0].Cause != "1s" {
		t.Errorf("since filter = %+v", later)
	}
	one, _ := List(ctx, store, time.Time{}, 1)
	if len(one) != 1 {
		t.Errorf("limit = %d", len(one))
	}
	// A failed transaction leaves no event.
	_ = store.Update(ctx, func(tx meta.Tx) error {
		if err := Record(ctx, tx, Event{Time: base, Kind: "X"}); err != nil {
			return err
		}
		return context.Canceled
	})
	if again, _ := List(ctx, store, time.Time{}, 0); len(again) != 3 {
		t.Errorf("rolled back event was kept: %d", len(again))
	}
}
