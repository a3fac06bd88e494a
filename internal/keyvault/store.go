package keyvault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/kustodian/kustodian/internal/meta"
)

// keyDocKey is the document key of a key record.
func keyDocKey(vault, name string) string {
	return strings.ToLower(vault) + "/" + strings.ToLower(name)
}

// versionDocKey is the document key of a version record.
func versionDocKey(vault, name, version string) string {
	return keyDocKey(vault, name) + "/" + version
}

// loadKey returns the key record of a name, or an error wrapping
// meta.ErrNotFound.
func loadKey(ctx context.Context, tx meta.Tx, vault, name string) (*keyRecord, error) {
	b, err := tx.Doc(ctx, docKindKey, keyDocKey(vault, name))
	if err != nil {
		return nil, err
	}
	var k keyRecord
	if err := json.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("keyvault: key record %s/%s: %w", vault, name, err)
	}
	return &k, nil
}

// saveKey writes a key record.
func saveKey(ctx context.Context, tx meta.Tx, vault string, k *keyRecord) error {
	b, err := json.Marshal(k)
	if err != nil {
		return err
	}
	return tx.PutDoc(ctx, docKindKey, keyDocKey(vault, k.Name), b)
}

// loadVersion returns a version record, or an error wrapping
// meta.ErrNotFound.
func loadVersion(ctx context.Context, tx meta.Tx, vault, name, version string) (*versionRecord, error) {
	b, err := tx.Doc(ctx, docKindVersion, versionDocKey(vault, name, version))
	if err != nil {
		return nil, err
	}
	var v versionRecord
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("keyvault: version record %s/%s/%s: %w", vault, name, version, err)
	}
	return &v, nil
}

// saveVersion writes a version record.
func saveVersion(ctx context.Context, tx meta.Tx, vault, name string, v *versionRecord) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.PutDoc(ctx, docKindVersion, versionDocKey(vault, name, v.Version), b)
}

// loadVersions returns every version of a key, oldest first.
func loadVersions(ctx context.Context, tx meta.Tx, vault, name string) ([]*versionRecord, error) {
	docs, err := tx.Docs(ctx, docKindVersion, keyDocKey(vault, name)+"/")
	if err != nil {
		return nil, err
	}
	out := make([]*versionRecord, 0, len(docs))
	for _, d := range docs {
		var v versionRecord
		if err := json.Unmarshal(d.Body, &v); err != nil {
			return nil, fmt.Errorf("keyvault: version record %s: %w", d.Key, err)
		}
		out = append(out, &v)
	}
	sort.Slice(out, func(i, j int) bool { return versionSortKey(out[i]) < versionSortKey(out[j]) })
	return out, nil
}

// versionSortKey orders versions by creation time, then id.
func versionSortKey(v *versionRecord) string {
	return fmt.Sprintf("%020d.%s", v.Created, v.Version)
}

// storedKey is a key record with its vault, as listed across vaults.
type storedKey struct {
	vault string
	rec   *keyRecord
}

// loadKeys returns the key records whose document keys start with prefix
// ("" for every vault, "{vault}/" for one), in document-key order.
func loadKeys(ctx context.Context, tx meta.Tx, prefix string) ([]storedKey, error) {
	docs, err := tx.Docs(ctx, docKindKey, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]storedKey, 0, len(docs))
	for _, d := range docs {
		var k keyRecord
		if err := json.Unmarshal(d.Body, &k); err != nil {
			return nil, fmt.Errorf("keyvault: key record %s: %w", d.Key, err)
		}
		vault, _, _ := strings.Cut(d.Key, "/")
		out = append(out, storedKey{vault: vault, rec: &k})
	}
	return out, nil
}

// deleteKeyDocs removes a key record and all its versions.
func deleteKeyDocs(ctx context.Context, tx meta.Tx, vault, name string, versions []*versionRecord) error {
	for _, v := range versions {
		if err := tx.DeleteDoc(ctx, docKindVersion, versionDocKey(vault, name, v.Version)); err != nil {
			return err
		}
	}
	return tx.DeleteDoc(ctx, docKindKey, keyDocKey(vault, name))
}

// refInUse reports whether a version other than those of the key
// vault/name references the same backend material (possible after a
// restore into another vault).
func refInUse(ctx context.Context, tx meta.Tx, vault, name, backend string, ref []byte) (bool, error) {
	docs, err := tx.Docs(ctx, docKindVersion, "")
	if err != nil {
		return false, err
	}
	own := keyDocKey(vault, name) + "/"
	for _, d := range docs {
		if strings.HasPrefix(d.Key, own) {
			continue
		}
		var v versionRecord
		if err := json.Unmarshal(d.Body, &v); err != nil {
			continue
		}
		if v.Backend == backend && string(v.Ref) == string(ref) {
			return true, nil
		}
	}
	return false, nil
}

// isNotFound reports whether err is the metadata store's not-found.
func isNotFound(err error) bool { return errors.Is(err, meta.ErrNotFound) }
