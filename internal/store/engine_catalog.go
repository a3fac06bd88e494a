package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/kustodian/kustodian/internal/datetime"
	"github.com/kustodian/kustodian/internal/meta"
)

// Catalog document kinds (meta docs). Keys start with the escaped account
// (accountDir) and "/", so one account's documents share a prefix.
const (
	kindAccount   = "store.account"   // key: account → accountDoc
	kindSegment   = "store.segment"   // key: account/workspace/tableid/segment → segmentDoc
	kindTable     = "store.table"     // key: account/workspace/tableid → tableDoc (sealed schema)
	kindPlacement = "store.placement" // key: account/workspace → placementDoc
	kindTomb      = "store.wsdrop"    // key: account/workspace → tombDoc
)

const schemaInfo = "kustodian/schema/v1"

// ColumnSchema is a column's name and type.
type ColumnSchema struct {
	Name string
	Type ColumnType
}

// TableSchema is a table's name and columns (TimeGenerated first).
type TableSchema struct {
	Name    string
	Columns []ColumnSchema
}

type accountDoc struct {
	Account  string `json:"account"`
	WALFloor uint64 `json:"walFloor,omitempty"` // WAL files below it are in segments
}

type placementDoc struct {
	Account   string `json:"account"`
	Workspace string `json:"workspace"`
}

type tombDoc struct {
	Account   string `json:"account"`
	Workspace string `json:"workspace"`
	Seq       uint64 `json:"seq"` // records of the workspace in WAL files below it are dropped
}

type blockDoc struct {
	Offset int64 `json:"off"`
	Length int64 `json:"len"`
	Rows   int   `json:"rows"`
	Min    int64 `json:"min"`
	Max    int64 `json:"max"`
}

// Encodings of segmentDoc (its "v"). Rows written before ticks have no "v"
// (version 1) and their times in Unix nanoseconds; they are converted to
// ticks as they are read (segmentDoc.upgrade) and stay as they are in the
// catalog until compaction, a move, retention or a drop replaces them.
// Every row written now is version 2.
const (
	segDocNanos = 0 // version 1: "v" absent, times in Unix nanoseconds
	segDocTicks = 2 // times in ticks
)

type segmentDoc struct {
	Version    int        `json:"v,omitempty"` // segDocTicks; absent (0) in rows written in nanoseconds
	Account    string     `json:"account"`
	Workspace  string     `json:"workspace"`
	Table      string     `json:"table"` // table id, never the name
	Segment    string     `json:"segment"`
	Generation uint32     `json:"generation"`
	Min        int64      `json:"min"` // ticks, inclusive
	Max        int64      `json:"max"` // ticks, inclusive
	Rows       int        `json:"rows"`
	Size       int64      `json:"size"`
	WALSeq     uint64     `json:"walSeq"` // WAL floor the flush that wrote it committed; for a compacted segment the largest of its inputs; 0 for a moved segment
	Blocks     []blockDoc `json:"blocks"`
}

// decodeSegmentDoc decodes a catalog row of either encoding and returns it
// in ticks (Version segDocTicks).
func decodeSegmentDoc(body []byte) (segmentDoc, error) {
	var d segmentDoc
	if err := json.Unmarshal(body, &d); err != nil {
		return d, err
	}
	switch d.Version {
	case segDocTicks:
	case segDocNanos:
		d.Version = segDocTicks
		d.Min, d.Max = datetime.FromUnixNano(d.Min), datetime.FromUnixNano(d.Max)
		for i := range d.Blocks {
			b := &d.Blocks[i]
			b.Min, b.Max = datetime.FromUnixNano(b.Min), datetime.FromUnixNano(b.Max)
		}
	default:
		return d, fmt.Errorf("%w: segment row encoding %d", ErrUnknownVersion, d.Version)
	}
	return d, nil
}

// encodeSegmentDoc encodes a catalog row (in ticks) as version 2, or, when
// nanos is set (an engine writing earlier formats for upgrade tests), as
// version 1 in Unix nanoseconds.
func encodeSegmentDoc(d segmentDoc, nanos bool) ([]byte, error) {
	d.Version = segDocTicks
	if nanos {
		d.Version = segDocNanos
		d.Min, d.Max = d.Min*datetime.NanosPerTick, d.Max*datetime.NanosPerTick
		d.Blocks = slices.Clone(d.Blocks)
		for i := range d.Blocks {
			b := &d.Blocks[i]
			b.Min, b.Max = b.Min*datetime.NanosPerTick, b.Max*datetime.NanosPerTick
		}
	}
	return json.Marshal(d)
}

type tableDoc struct {
	Account    string `json:"account"`
	Workspace  string `json:"workspace"`
	Table      string `json:"table"` // table id
	Generation uint32 `json:"generation"`
	Sealed     []byte `json:"sealed"` // nonce ‖ AES-256-GCM(schema JSON)
}

type schemaPlain struct {
	Name    string         `json:"n"`
	Columns []ColumnSchema `json:"c"`
}

// segEntry is the in-memory catalog row of a segment.
type segEntry struct {
	doc segmentDoc
	id  FileID
	key string
	// refs counts the holders of the segment's file, guarded by the
	// owning account's refMu: one for the catalog while the segment is
	// listed in account.segs, plus one per reader (a scan iterator, a
	// compaction or a move). The file is removed when it drops to zero; see
	// account.unref.
	refs int
	// footer is the segment's metadata as last authenticated from its
	// sealed footer (by a scan that opened the file), so that row counts
	// need not open it again; a scan still asks the keyring for its
	// generation's AEK before using it.
	footer atomic.Pointer[SegmentMeta]
	// filters holds the value filters (filterKey → *valueFilter) scans
	// have opened, so that a needle lookup can rule blocks out without
	// reading them again. They are derived from content: used only after
	// the keyring gives the segment's AEK again, and dropped when the
	// account is unloaded (its key refused).
	filters sync.Map
}

// filterKey names the value filter of one column of one block.
type filterKey struct {
	block int
	col   string
}

// cachedRuledOut reports whether the cached filters of block i rule out a
// predicate of eq (false when none is cached), and whether a filter of
// every predicate's column is cached.
func (s *segEntry) cachedRuledOut(i int, eq []Equal) (ruled, all bool) {
	all = true
	for _, e := range eq {
		f, ok := s.filters.Load(filterKey{i, e.Column})
		if !ok {
			all = false
			continue
		}
		if !f.(*valueFilter).mayContain(e.Value) {
			return true, all
		}
	}
	return false, all
}

// newSegEntry returns the entry of a segment listed in the catalog (holding
// the catalog's reference).
func newSegEntry(key string, id FileID, d segmentDoc) *segEntry {
	return &segEntry{doc: d, id: id, key: key, refs: 1}
}

// tableID derives the id under which a table appears in plaintext.
func (e *Engine) tableID(ws, table string) string {
	m := hmac.New(sha256.New, e.o.TableIDKey)
	m.Write([]byte(ws))
	m.Write([]byte{0})
	m.Write([]byte(table))
	return hex.EncodeToString(m.Sum(nil))[:32]
}

// accountDir escapes an account id into one path element and catalog key
// prefix: [A-Za-z0-9_-] are kept, every other byte becomes %XX.
func accountDir(account string) string {
	var b strings.Builder
	for i := 0; i < len(account); i++ {
		c := account[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// docExists reads back whether the catalog holds (kind, key): how a commit
// whose reply was an error learns whether it happened.
func (e *Engine) docExists(ctx context.Context, kind, key string) (bool, error) {
	var found bool
	err := e.o.Catalog.View(ctx, func(tx meta.Tx) error {
		_, err := tx.Doc(ctx, kind, key)
		switch {
		case err == nil:
			found = true
		case errors.Is(err, meta.ErrNotFound):
		default:
			return err
		}
		return nil
	})
	return found, err
}

// putJSON stores v as JSON under (kind, key) in tx.
func putJSON(ctx context.Context, tx meta.Tx, kind, key string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.PutDoc(ctx, kind, key, body)
}

// putSegment stores the catalog row of a segment in tx.
func (e *Engine) putSegment(ctx context.Context, tx meta.Tx, s *segEntry) error {
	body, err := encodeSegmentDoc(s.doc, e.o.oldFormat != 0)
	if err != nil {
		return err
	}
	return tx.PutDoc(ctx, kindSegment, s.key, body)
}

// putSegmentsAndSchemas stores the catalog rows of segs and the sealed
// schemas tables of account a in tx: what a flush or a move commits.
func (e *Engine) putSegmentsAndSchemas(ctx context.Context, tx meta.Tx, a *account, segs []*segEntry, tables []tableDoc) error {
	for _, s := range segs {
		if err := e.putSegment(ctx, tx, s); err != nil {
			return err
		}
	}
	for _, td := range tables {
		if err := putJSON(ctx, tx, kindTable, a.key+"/"+td.Workspace+"/"+td.Table, td); err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) putDocs(ctx context.Context, kind, key string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := e.o.Catalog.Update(ctx, func(tx meta.Tx) error { return tx.PutDoc(ctx, kind, key, body) }); err != nil {
		return fmt.Errorf("store: catalog: %w", err)
	}
	return nil
}

func (e *Engine) catalogAccounts(ctx context.Context) ([]string, error) {
	var names []string
	err := e.o.Catalog.View(ctx, func(tx meta.Tx) error {
		docs, err := tx.Docs(ctx, kindAccount, "")
		if err != nil {
			return err
		}
		for _, d := range docs {
			var a accountDoc
			if err := json.Unmarshal(d.Body, &a); err != nil {
				return fmt.Errorf("%w: catalog account %s: %v", ErrCorrupt, d.Key, err)
			}
			names = append(names, a.Account)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: catalog: %w", err)
	}
	return names, nil
}

// loadCatalog reads the plaintext catalog of an account (segments,
// placements, tombstones, WAL floor); it needs no key.
func (e *Engine) loadCatalog(ctx context.Context, a *account) error {
	err := e.o.Catalog.View(ctx, func(tx meta.Tx) error {
		p := a.key + "/"
		body, err := tx.Doc(ctx, kindAccount, a.key)
		if err != nil {
			return err
		}
		var ad accountDoc
		if err := json.Unmarshal(body, &ad); err != nil {
			return fmt.Errorf("%w: account doc: %v", ErrCorrupt, err)
		}
		a.floor = ad.WALFloor
		docs, err := tx.Docs(ctx, kindSegment, p)
		if err != nil {
			return err
		}
		a.segs = a.segs[:0]
		for _, d := range docs {
			sd, err := decodeSegmentDoc(d.Body)
			if errors.Is(err, ErrUnknownVersion) {
				return fmt.Errorf("segment doc %s: %w", d.Key, err)
			} else if err != nil {
				return fmt.Errorf("%w: segment doc %s: %v", ErrCorrupt, d.Key, err)
			}
			id, err := ParseFileID(sd.Segment)
			if err != nil {
				return fmt.Errorf("%w: segment doc %s: %v", ErrCorrupt, d.Key, err)
			}
			a.segs = append(a.segs, newSegEntry(d.Key, id, sd))
		}
		docs, err = tx.Docs(ctx, kindPlacement, p)
		if err != nil {
			return err
		}
		for _, d := range docs {
			var pd placementDoc
			if err := json.Unmarshal(d.Body, &pd); err != nil {
				return fmt.Errorf("%w: placement doc %s: %v", ErrCorrupt, d.Key, err)
			}
			a.placed[pd.Workspace] = true
		}
		docs, err = tx.Docs(ctx, kindTomb, p)
		if err != nil {
			return err
		}
		for _, d := range docs {
			var td tombDoc
			if err := json.Unmarshal(d.Body, &td); err != nil {
				return fmt.Errorf("%w: tombstone doc %s: %v", ErrCorrupt, d.Key, err)
			}
			a.tombs[td.Workspace] = td.Seq
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: catalog of account %s: %w", a.name, err)
	}
	return nil
}

// schemaAAD binds a sealed schema to its account, workspace and table id.
func schemaAAD(account, ws, tid string) []byte {
	aad := []byte(schemaInfo + "\x00")
	aad = binary.AppendUvarint(aad, uint64(len(account)))
	aad = append(aad, account...)
	aad = binary.AppendUvarint(aad, uint64(len(ws)))
	aad = append(aad, ws...)
	return append(aad, tid...)
}

func schemaGCM(aek *AEK) (cipher.AEAD, error) {
	var g cipher.AEAD
	err := aek.with(func(key []byte) error {
		k, err := hkdf.Key(sha256.New, key, nil, schemaInfo, 32)
		if err != nil {
			return err
		}
		defer clear(k)
		blk, err := aes.NewCipher(k)
		if err != nil {
			return err
		}
		g, err = cipher.NewGCM(blk)
		return err
	})
	return g, err
}

func sealSchema(aek *AEK, account, ws, tid string, s schemaPlain) ([]byte, error) {
	plain, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	g, err := schemaGCM(aek)
	if err != nil {
		return nil, err
	}
	out := make([]byte, g.NonceSize(), g.NonceSize()+len(plain)+g.Overhead())
	if _, err := io.ReadFull(rand.Reader, out); err != nil {
		return nil, err
	}
	return g.Seal(out, out[:g.NonceSize()], plain, schemaAAD(account, ws, tid)), nil
}

func openSchema(aek *AEK, account, ws, tid string, sealed []byte) (schemaPlain, error) {
	var s schemaPlain
	g, err := schemaGCM(aek)
	if err != nil {
		return s, err
	}
	if len(sealed) < g.NonceSize()+g.Overhead() {
		return s, fmt.Errorf("%w: sealed schema too short", ErrCorrupt)
	}
	plain, err := g.Open(nil, sealed[:g.NonceSize()], sealed[g.NonceSize():], schemaAAD(account, ws, tid))
	if err != nil {
		return s, fmt.Errorf("%w: sealed schema of table %s fails authentication", ErrCorrupt, tid)
	}
	if err := json.Unmarshal(plain, &s); err != nil {
		return s, fmt.Errorf("%w: schema: %v", ErrCorrupt, err)
	}
	return s, nil
}
