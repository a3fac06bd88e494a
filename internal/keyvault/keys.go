package keyvault

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"maps"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kustodian/kustodian/internal/meta"
)

// Limits Key Vault applies to tags.
const (
	maxTags        = 15
	maxTagNameLen  = 512
	maxTagValueLen = 256
)

// RSA key sizes served.
var rsaKeySizes = []int{2048, 3072, 4096}

// newVersion returns a new key version: 32 lower-case hex characters.
func newVersion() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// keyLabel names a key version for operators and backends; it is bound
// into a software key's seal.
func keyLabel(vault, name, version string) string {
	return strings.ToLower(vault) + "/" + strings.ToLower(name) + "/" + version
}

// txn runs fn in a transaction; an *apiError returned by fn is passed
// through, any other failure is logged and answered with a 500.
func (s *Service) txn(ctx context.Context, write bool, fn func(tx meta.Tx) error) *apiError {
	run := s.store.View
	if write {
		run = s.store.Update
	}
	err := run(ctx, fn)
	if err == nil {
		return nil
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	s.log.Error("keyvault: metadata store failed", "err", err)
	return errInternal
}

// liveKey loads a key that exists and is not deleted, and one of its
// versions ("" = the latest).
func liveKey(ctx context.Context, tx meta.Tx, vault, name, version string) (*keyRecord, *versionRecord, error) {
	if checkName(name) != nil {
		return nil, nil, keyNotFound(name)
	}
	rec, err := loadKey(ctx, tx, vault, name)
	if isNotFound(err) || (err == nil && rec.Deleted != nil) {
		return nil, nil, keyNotFound(name)
	} else if err != nil {
		return nil, nil, err
	}
	if version == "" {
		version = rec.Latest
	} else if !versionPattern.MatchString(version) {
		return nil, nil, keyNotFound(name + "/" + version)
	}
	v, err := loadVersion(ctx, tx, vault, name, version)
	if isNotFound(err) {
		return nil, nil, keyNotFound(name + "/" + version)
	}
	return rec, v, err
}

// recoveryLevel returns Key Vault's recoveryLevel and recoverableDays for
// the keys of a vault, as an api-version shows them: before 7.1 a custom
// retention is plain Recoverable and recoverableDays is absent.
func recoveryLevel(v *VaultConfig, api apiVersion) (string, *int) {
	if !v.SoftDeleteEnabled {
		return "Purgeable", nil
	}
	days := retentionDays(v)
	level := "Recoverable"
	if days != 90 && api.customizedRecovery {
		level = "CustomizedRecoverable"
	}
	if !v.PurgeProtection {
		level += "+Purgeable"
	}
	if !api.customizedRecovery {
		return level, nil
	}
	return level, &days
}

// retentionDays returns the vault's soft-delete retention (default 90).
func retentionDays(v *VaultConfig) int {
	if v.SoftDeleteRetentionDays <= 0 {
		return 90
	}
	return v.SoftDeleteRetentionDays
}

// attributes renders a version's attributes.
func (c *call) attributes(v *versionRecord) keyAttributesOut {
	level, days := recoveryLevel(c.vault, c.api)
	a := keyAttributesOut{Enabled: v.Enabled, NotBefore: v.NotBefore, Expires: v.Expires, Created: v.Created,
		Updated: v.Updated, RecoveryLevel: level, RecoverableDays: days}
	if c.api.exportable {
		a.Exportable = boolPtr(false)
	}
	return a
}

// bundle renders a key version.
func (c *call) bundle(name string, v *versionRecord) *keyBundle {
	return &keyBundle{
		Key: jsonWebKey{KID: c.kid(name, v.Version), Kty: v.Kty, KeyOps: slices.Clone(v.KeyOps),
			N: v.N, E: big.NewInt(int64(v.E)).Bytes()},
		Attributes: c.attributes(v),
		Tags:       v.Tags,
	}
}

// deletedBundle renders the latest version of a deleted key.
func (c *call) deletedBundle(rec *keyRecord, v *versionRecord) *keyBundle {
	b := c.bundle(rec.Name, v)
	if rec.Deleted != nil {
		b.RecoveryID = c.recoveryID(rec.Name)
		b.DeletedDate = unixPtr(rec.Deleted.DeletedAt)
		b.ScheduledPurgeDate = unixPtr(rec.Deleted.PurgeAt)
	}
	return b
}

// parseKty parses a requested key type.
func parseKty(kty string) (string, *apiError) {
	switch strings.ToUpper(kty) {
	case "RSA":
		return KtyRSA, nil
	case "RSA-HSM":
		return KtyRSAHSM, nil
	case "EC", "EC-HSM", "OCT", "OCT-HSM":
		return "", badParameter("Key type %s is not supported by this server: only RSA and RSA-HSM keys are.", kty)
	case "":
		return "", badParameter("The key type (kty) is required: RSA or RSA-HSM.")
	}
	return "", badParameter("The key type %q is invalid: use RSA or RSA-HSM.", kty)
}

// parseKeyOps validates key_ops, returning them in canonical spelling
// without duplicates (def when absent).
func parseKeyOps(ops []string, def []string) ([]string, *apiError) {
	if ops == nil {
		return slices.Clone(def), nil
	}
	out := make([]string, 0, len(ops))
	for _, o := range ops {
		canon, ok := knownKeyOps[strings.ToLower(o)]
		if !ok {
			return nil, badParameter("The key operation %q is invalid: use encrypt, decrypt, sign, verify, wrapKey or unwrapKey.", o)
		}
		if !slices.Contains(out, canon) {
			out = append(out, canon)
		}
	}
	return out, nil
}

// checkTags validates tags against Key Vault's limits.
func checkTags(tags map[string]string) *apiError {
	if len(tags) > maxTags {
		return badParameter("A key can have at most %d tags.", maxTags)
	}
	for k, v := range tags {
		if k == "" || len(k) > maxTagNameLen {
			return badParameter("Tag names must be 1 to %d characters.", maxTagNameLen)
		}
		if len(v) > maxTagValueLen {
			return badParameter("Tag values must be at most %d characters.", maxTagValueLen)
		}
	}
	return nil
}

// noReleasePolicy refuses a key release policy, which this server does not
// implement.
func noReleasePolicy(raw []byte) *apiError {
	if s := strings.TrimSpace(string(raw)); s != "" && s != "null" {
		return badParameter("Key release policies are not supported by this server.")
	}
	return nil
}

// applyAttributes sets the attributes a request carries on a version.
func applyAttributes(v *versionRecord, a *keyAttributesIn) *apiError {
	if a == nil {
		return nil
	}
	if a.Exportable != nil && *a.Exportable {
		return badParameter("Exportable keys must have release policy, and key release is not supported by this server.")
	}
	if a.Enabled != nil {
		v.Enabled = *a.Enabled
	}
	if a.NotBefore != nil {
		n := int64(*a.NotBefore)
		v.NotBefore = &n
	}
	if a.Expires != nil {
		e := int64(*a.Expires)
		v.Expires = &e
	}
	if v.NotBefore != nil && v.Expires != nil && *v.Expires <= *v.NotBefore {
		return badParameter("The expiry time (exp) must be after the activation time (nbf).")
	}
	return nil
}

// backendForKty returns the backend that holds new keys of a type in a
// vault.
func (s *Service) backendForKty(v *VaultConfig, kty string) (Backend, *apiError) {
	if kty != KtyRSAHSM {
		return s.software, nil
	}
	if !strings.EqualFold(v.SKU, "premium") {
		return nil, forbidden(InnerForbiddenByPolicy, "Hardware key operation not allowed on standard vault.")
	}
	if s.hsm == nil {
		return nil, badParameter("RSA-HSM keys are not available on this server: it has no HSM backend. " +
			"The operator can configure a PKCS#11 module, or explicitly allow RSA-HSM keys to be served by the software backend.")
	}
	return s.hsm, nil
}

// checkNotDeleted refuses a name held by a deleted key.
func (s *Service) checkNotDeleted(ctx context.Context, vault, name string) *apiError {
	return s.txn(ctx, false, func(tx meta.Tx) error {
		rec, err := loadKey(ctx, tx, vault, name)
		switch {
		case isNotFound(err):
			return nil
		case err != nil:
			return err
		case rec.Deleted != nil:
			return deletedButRecoverable(rec.Name)
		}
		return nil
	})
}

// addVersion stores a new version and makes it the key's latest, creating
// the key if needed. If it fails, the new material is destroyed.
func (s *Service) addVersion(ctx context.Context, vault, name string, v *versionRecord, b Backend) (*keyRecord, *apiError) {
	var rec *keyRecord
	aerr := s.txn(ctx, true, func(tx meta.Tx) error {
		var err error
		rec, err = loadKey(ctx, tx, vault, name)
		switch {
		case isNotFound(err):
			rec = &keyRecord{Name: name}
		case err != nil:
			return err
		case rec.Deleted != nil:
			return deletedButRecoverable(rec.Name)
		}
		rec.Latest = v.Version
		if err := saveVersion(ctx, tx, vault, rec.Name, v); err != nil {
			return err
		}
		return saveKey(ctx, tx, vault, rec)
	})
	if aerr != nil {
		if err := b.Destroy(ctx, v.Ref); err != nil {
			s.log.Error("keyvault: destroying the material of a version that could not be stored failed",
				"vault", vault, "key", name, "version", v.Version, "err", err)
		}
		return nil, aerr
	}
	return rec, nil
}

// newVersion checks what creating and importing a key share (no release
// policy, key operations, tags, attributes) and returns the new version's
// record, not yet numbered, and the backend for its key type.
func (c *call) newVersion(kty string, releasePolicy []byte, keyOps []string, tags map[string]string, attrs *keyAttributesIn) (*versionRecord, Backend, *apiError) {
	if e := noReleasePolicy(releasePolicy); e != nil {
		return nil, nil, e
	}
	ops, e := parseKeyOps(keyOps, defaultKeyOps)
	if e != nil {
		return nil, nil, e
	}
	if e := checkTags(tags); e != nil {
		return nil, nil, e
	}
	now := c.now.Unix()
	v := &versionRecord{Kty: kty, KeyOps: ops, Enabled: true, Created: now, Updated: now, Tags: tags}
	if e := applyAttributes(v, attrs); e != nil {
		return nil, nil, e
	}
	b, e := c.s.backendForKty(c.vault, kty)
	if e != nil {
		return nil, nil, e
	}
	return v, b, nil
}

// handleCreate serves POST /keys/{name}/create.
func handleCreate(c *call) (int, any, *apiError) {
	if e := checkName(c.name); e != nil {
		return 0, nil, e
	}
	var req createKeyRequest
	if e := decode(c, &req, maxBodyBytes); e != nil {
		return 0, nil, e
	}
	kty, e := parseKty(req.Kty)
	if e != nil {
		return 0, nil, e
	}
	size := 2048
	if req.KeySize != nil {
		size = *req.KeySize
		if !slices.Contains(rsaKeySizes, size) {
			return 0, nil, badParameter("The key size %d is not supported: use 2048, 3072 or 4096.", size)
		}
	}
	if req.PublicExponent != nil && *req.PublicExponent != 65537 {
		return 0, nil, badParameter("The public exponent %d is not supported: only 65537 is.", *req.PublicExponent)
	}
	v, b, e := c.newVersion(kty, req.ReleasePolicy, req.KeyOps, req.Tags, req.Attributes)
	if e != nil {
		return 0, nil, e
	}
	if e := c.s.checkNotDeleted(c.ctx, c.vaultName, c.name); e != nil {
		return 0, nil, e
	}
	v.Version = newVersion()
	pub, ref, err := b.GenerateRSA(c.ctx, size, keyLabel(c.vaultName, c.name, v.Version))
	if err != nil {
		c.s.log.Error("keyvault: key generation failed", "vault", c.vaultName, "key", c.name, "backend", b.Name(), "err", err)
		return 0, nil, errInternal
	}
	v.N, v.E, v.Backend, v.Ref = pub.N.Bytes(), pub.E, b.Name(), ref
	rec, e := c.s.addVersion(c.ctx, c.vaultName, c.name, v, b)
	if e != nil {
		return 0, nil, e
	}
	return http.StatusOK, c.bundle(rec.Name, v), nil
}

// rsaFromJWK builds an RSA private key from a JWK. The caller zeroes it.
func rsaFromJWK(k *jsonWebKey) (*rsa.PrivateKey, *apiError) {
	if len(k.N) == 0 || len(k.E) == 0 || len(k.D) == 0 || len(k.P) == 0 || len(k.Q) == 0 {
		return nil, badParameter("The key to import must be an RSA private key with n, e, d, p and q.")
	}
	if len(k.E) > 4 {
		return nil, badParameter("The key to import has an invalid public exponent.")
	}
	e := new(big.Int).SetBytes(k.E)
	priv := &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: new(big.Int).SetBytes(k.N), E: int(e.Int64())},
		D:         new(big.Int).SetBytes(k.D),
		Primes:    []*big.Int{new(big.Int).SetBytes(k.P), new(big.Int).SetBytes(k.Q)},
	}
	invalid := badParameter("The key to import is not a valid RSA private key.")
	if err := priv.Validate(); err != nil {
		zeroRSA(priv)
		return nil, invalid
	}
	priv.Precompute()
	for _, pair := range []struct {
		got  []byte
		want *big.Int
	}{{k.DP, priv.Precomputed.Dp}, {k.DQ, priv.Precomputed.Dq}, {k.QI, priv.Precomputed.Qinv}} {
		if len(pair.got) > 0 && pair.want != nil && new(big.Int).SetBytes(pair.got).Cmp(pair.want) != 0 {
			zeroRSA(priv)
			return nil, invalid
		}
	}
	return priv, nil
}

// handleImport serves PUT /keys/{name}.
func handleImport(c *call) (int, any, *apiError) {
	if e := checkName(c.name); e != nil {
		return 0, nil, e
	}
	var req importKeyRequest
	e := decode(c, &req, maxBodyBytes)
	if req.Key != nil {
		defer req.Key.zero()
	}
	if e != nil {
		return 0, nil, e
	}
	if req.Key == nil {
		return 0, nil, badParameter("The key to import (key) is missing.")
	}
	kty, e := parseKty(req.Key.Kty)
	if e != nil {
		return 0, nil, e
	}
	if req.HSM != nil && *req.HSM {
		kty = KtyRSAHSM
	}
	if len(req.Key.T) > 0 {
		return 0, nil, badParameter("Importing HSM-protected key blobs (key_hsm, BYOK) is not supported by this server.")
	}
	v, b, e := c.newVersion(kty, req.ReleasePolicy, req.Key.KeyOps, req.Tags, req.Attributes)
	if e != nil {
		return 0, nil, e
	}
	importer, ok := b.(RSAImporter)
	if !ok {
		return 0, nil, badParameter("Importing %s keys is not supported by this server: its %s backend generates keys but cannot take them in. "+
			"Create the key in the vault instead, or import it as a software-protected RSA key.", kty, b.Name())
	}
	priv, e := rsaFromJWK(req.Key)
	if e != nil {
		return 0, nil, e
	}
	defer zeroRSA(priv)
	if bits := priv.N.BitLen(); !slices.Contains(rsaKeySizes, bits) {
		return 0, nil, badParameter("The key to import has %d bits: use a 2048, 3072 or 4096-bit RSA key.", bits)
	}
	if e := c.s.checkNotDeleted(c.ctx, c.vaultName, c.name); e != nil {
		return 0, nil, e
	}
	v.Version = newVersion()
	ref, err := importer.ImportRSA(c.ctx, priv, keyLabel(c.vaultName, c.name, v.Version))
	if err != nil {
		c.s.log.Error("keyvault: key import failed", "vault", c.vaultName, "key", c.name, "backend", b.Name(), "err", err)
		return 0, nil, errInternal
	}
	v.N, v.E, v.Backend, v.Ref = priv.N.Bytes(), priv.E, b.Name(), ref
	rec, e := c.s.addVersion(c.ctx, c.vaultName, c.name, v, b)
	if e != nil {
		return 0, nil, e
	}
	return http.StatusOK, c.bundle(rec.Name, v), nil
}

// handleGetKey serves GET /keys/{name}[/{version}].
func handleGetKey(c *call) (int, any, *apiError) {
	var rec *keyRecord
	var v *versionRecord
	if e := c.s.txn(c.ctx, false, func(tx meta.Tx) error {
		var err error
		rec, v, err = liveKey(c.ctx, tx, c.vaultName, c.name, c.version)
		return err
	}); e != nil {
		return 0, nil, e
	}
	return http.StatusOK, c.bundle(rec.Name, v), nil
}

// handleUpdate serves PATCH /keys/{name}[/{version}].
func handleUpdate(c *call) (int, any, *apiError) {
	var req updateKeyRequest
	if e := decode(c, &req, maxBodyBytes); e != nil {
		return 0, nil, e
	}
	if e := noReleasePolicy(req.ReleasePolicy); e != nil {
		return 0, nil, e
	}
	var ops []string
	if req.KeyOps != nil {
		var e *apiError
		if ops, e = parseKeyOps(req.KeyOps, nil); e != nil {
			return 0, nil, e
		}
	}
	if e := checkTags(req.Tags); e != nil {
		return 0, nil, e
	}
	var rec *keyRecord
	var v *versionRecord
	if e := c.s.txn(c.ctx, true, func(tx meta.Tx) error {
		var err error
		if rec, v, err = liveKey(c.ctx, tx, c.vaultName, c.name, c.version); err != nil {
			return err
		}
		if e := applyAttributes(v, req.Attributes); e != nil {
			return e
		}
		if ops != nil {
			v.KeyOps = ops
		}
		if req.Tags != nil {
			v.Tags = req.Tags
		}
		v.Updated = c.now.Unix()
		return saveVersion(c.ctx, tx, c.vaultName, rec.Name, v)
	}); e != nil {
		return 0, nil, e
	}
	return http.StatusOK, c.bundle(rec.Name, v), nil
}

// handleDelete serves DELETE /keys/{name}: a soft delete in a vault with
// soft delete, else a delete for good.
func handleDelete(c *call) (int, any, *apiError) {
	var rec *keyRecord
	var v *versionRecord
	soft := c.vault.SoftDeleteEnabled
	if e := c.s.txn(c.ctx, true, func(tx meta.Tx) error {
		var err error
		if rec, v, err = liveKey(c.ctx, tx, c.vaultName, c.name, ""); err != nil {
			return err
		}
		if !soft {
			return nil
		}
		rec.Deleted = &deletion{DeletedAt: c.now.UTC(), PurgeAt: c.now.UTC().AddDate(0, 0, retentionDays(c.vault))}
		return saveKey(c.ctx, tx, c.vaultName, rec)
	}); e != nil {
		return 0, nil, e
	}
	if !soft {
		if err := c.s.purgeKey(c.ctx, c.vaultName, rec.Name); err != nil && !isNotFound(err) {
			c.s.log.Error("keyvault: deleting a key failed", "vault", c.vaultName, "key", rec.Name, "err", err)
			return 0, nil, errInternal
		}
	}
	return http.StatusOK, c.deletedBundle(rec, v), nil
}

// deletedKey loads a deleted key and its latest version.
func deletedKey(ctx context.Context, tx meta.Tx, vault, name string) (*keyRecord, *versionRecord, error) {
	if checkName(name) != nil {
		return nil, nil, deletedKeyNotFound(name)
	}
	rec, err := loadKey(ctx, tx, vault, name)
	if isNotFound(err) || (err == nil && rec.Deleted == nil) {
		return nil, nil, deletedKeyNotFound(name)
	} else if err != nil {
		return nil, nil, err
	}
	v, err := loadVersion(ctx, tx, vault, name, rec.Latest)
	if isNotFound(err) {
		return nil, nil, deletedKeyNotFound(name)
	}
	return rec, v, err
}

// handleGetDeletedKey serves GET /deletedkeys/{name}.
func handleGetDeletedKey(c *call) (int, any, *apiError) {
	var rec *keyRecord
	var v *versionRecord
	if e := c.s.txn(c.ctx, false, func(tx meta.Tx) error {
		var err error
		rec, v, err = deletedKey(c.ctx, tx, c.vaultName, c.name)
		return err
	}); e != nil {
		return 0, nil, e
	}
	return http.StatusOK, c.deletedBundle(rec, v), nil
}

// handleRecoverDeletedKey serves POST /deletedkeys/{name}/recover.
func handleRecoverDeletedKey(c *call) (int, any, *apiError) {
	var rec *keyRecord
	var v *versionRecord
	if e := c.s.txn(c.ctx, true, func(tx meta.Tx) error {
		var err error
		if rec, v, err = deletedKey(c.ctx, tx, c.vaultName, c.name); err != nil {
			return err
		}
		rec.Deleted = nil
		return saveKey(c.ctx, tx, c.vaultName, rec)
	}); e != nil {
		return 0, nil, e
	}
	return http.StatusOK, c.bundle(rec.Name, v), nil
}

// handlePurgeDeletedKey serves DELETE /deletedkeys/{name}.
func handlePurgeDeletedKey(c *call) (int, any, *apiError) {
	var rec *keyRecord
	if e := c.s.txn(c.ctx, false, func(tx meta.Tx) error {
		var err error
		rec, _, err = deletedKey(c.ctx, tx, c.vaultName, c.name)
		return err
	}); e != nil {
		return 0, nil, e
	}
	if c.vault.PurgeProtection {
		return 0, nil, forbidden(InnerForbiddenByPolicy, "Operation \"purge\" is not allowed because purge protection is enabled for this vault. "+
			"Key Vault service will automatically purge it after the retention period has passed.")
	}
	if err := c.s.purgeKey(c.ctx, c.vaultName, rec.Name); err != nil {
		if isNotFound(err) {
			return 0, nil, deletedKeyNotFound(c.name)
		}
		c.s.log.Error("keyvault: purging a key failed", "vault", c.vaultName, "key", rec.Name, "err", err)
		return 0, nil, errInternal
	}
	return http.StatusNoContent, nil, nil
}

// pageItem is an item of a paged list with its sort key.
type pageItem struct {
	sortKey string
	load    func(tx meta.Tx) (keyItem, error)
}

// page answers one page of items (sorted by sortKey) after the request's
// $skiptoken, with a nextLink when more remain.
func (c *call) page(items []pageItem, path string) (int, any, *apiError) {
	max, e := queryInt(c, "maxresults", 25, 1, 25)
	if e != nil {
		return 0, nil, e
	}
	start := 0
	if tok := c.r.URL.Query().Get("$skiptoken"); tok != "" {
		after, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			return 0, nil, badParameter("The $skiptoken is invalid.")
		}
		start = sort.Search(len(items), func(i int) bool { return items[i].sortKey > string(after) })
	}
	end := min(start+max, len(items))
	out := listResult{Value: []keyItem{}}
	if e := c.s.txn(c.ctx, false, func(tx meta.Tx) error {
		for _, it := range items[start:end] {
			item, err := it.load(tx)
			if isNotFound(err) {
				continue // removed meanwhile
			} else if err != nil {
				return err
			}
			out.Value = append(out.Value, item)
		}
		return nil
	}); e != nil {
		return 0, nil, e
	}
	if end < len(items) {
		tok := base64.RawURLEncoding.EncodeToString([]byte(items[end-1].sortKey))
		next := c.base + path + "?api-version=" + url.QueryEscape(c.apiVersion) + "&$skiptoken=" + tok +
			"&maxresults=" + strconv.Itoa(max)
		out.NextLink = &next
	}
	return http.StatusOK, out, nil
}

// keyPage lists the vault's keys, deleted ones or live ones.
func (c *call) keyPage(deleted bool, path string) (int, any, *apiError) {
	var keys []storedKey
	if e := c.s.txn(c.ctx, false, func(tx meta.Tx) error {
		var err error
		keys, err = loadKeys(c.ctx, tx, c.vaultName+"/")
		return err
	}); e != nil {
		return 0, nil, e
	}
	var items []pageItem
	for _, k := range keys {
		if (k.rec.Deleted != nil) != deleted {
			continue
		}
		rec := k.rec
		items = append(items, pageItem{sortKey: strings.ToLower(rec.Name), load: func(tx meta.Tx) (keyItem, error) {
			v, err := loadVersion(c.ctx, tx, c.vaultName, rec.Name, rec.Latest)
			if err != nil {
				return keyItem{}, err
			}
			item := keyItem{KID: c.kid(rec.Name, ""), Attributes: c.attributes(v), Tags: v.Tags}
			if rec.Deleted != nil {
				item.RecoveryID = c.recoveryID(rec.Name)
				item.DeletedDate = unixPtr(rec.Deleted.DeletedAt)
				item.ScheduledPurgeDate = unixPtr(rec.Deleted.PurgeAt)
			}
			return item, nil
		}})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].sortKey < items[j].sortKey })
	return c.page(items, path)
}

// handleListKeys serves GET /keys.
func handleListKeys(c *call) (int, any, *apiError) { return c.keyPage(false, "/keys") }

// handleListDeletedKeys serves GET /deletedkeys.
func handleListDeletedKeys(c *call) (int, any, *apiError) { return c.keyPage(true, "/deletedkeys") }

// handleListVersions serves GET /keys/{name}/versions.
func handleListVersions(c *call) (int, any, *apiError) {
	var rec *keyRecord
	var versions []*versionRecord
	if e := c.s.txn(c.ctx, false, func(tx meta.Tx) error {
		var err error
		if rec, _, err = liveKey(c.ctx, tx, c.vaultName, c.name, ""); err != nil {
			return err
		}
		versions, err = loadVersions(c.ctx, tx, c.vaultName, c.name)
		return err
	}); e != nil {
		return 0, nil, e
	}
	items := make([]pageItem, 0, len(versions))
	for _, v := range versions {
		item := keyItem{KID: c.kid(rec.Name, v.Version), Attributes: c.attributes(v), Tags: v.Tags}
		items = append(items, pageItem{sortKey: versionSortKey(v), load: func(meta.Tx) (keyItem, error) { return item, nil }})
	}
	return c.page(items, "/keys/"+url.PathEscape(rec.Name)+"/versions")
}

// rotate creates a new version of a key with the latest version's type,
// size, operations and tags; its exp follows the rotation policy's
// expiryTime.
func (s *Service) rotate(ctx context.Context, vault *VaultConfig, name string) (*versionRecord, *keyRecord, *apiError) {
	vname := strings.ToLower(vault.Name)
	var rec *keyRecord
	var latest *versionRecord
	if e := s.txn(ctx, false, func(tx meta.Tx) error {
		var err error
		rec, latest, err = liveKey(ctx, tx, vname, name, "")
		return err
	}); e != nil {
		return nil, nil, e
	}
	b, e := s.backendForKty(vault, latest.Kty)
	if e != nil {
		return nil, nil, e
	}
	now := s.now()
	v := &versionRecord{Version: newVersion(), Kty: latest.Kty, KeyOps: slices.Clone(latest.KeyOps), Enabled: true,
		Created: now.Unix(), Updated: now.Unix(), Tags: maps.Clone(latest.Tags), Expires: rec.Policy.newVersionExpiry(now)}
	pub, ref, err := b.GenerateRSA(ctx, latest.bits(), keyLabel(vname, rec.Name, v.Version))
	if err != nil {
		s.log.Error("keyvault: key generation failed", "vault", vname, "key", rec.Name, "backend", b.Name(), "err", err)
		return nil, nil, errInternal
	}
	v.N, v.E, v.Backend, v.Ref = pub.N.Bytes(), pub.E, b.Name(), ref
	rec, e = s.addVersion(ctx, vname, rec.Name, v, b)
	if e != nil {
		return nil, nil, e
	}
	return v, rec, nil
}

// handleRotate serves POST /keys/{name}/rotate.
func handleRotate(c *call) (int, any, *apiError) {
	v, rec, e := c.s.rotate(c.ctx, c.vault, c.name)
	if e != nil {
		return 0, nil, e
	}
	return http.StatusOK, c.bundle(rec.Name, v), nil
}

// policyID is the identifier of a key's rotation policy.
func (c *call) policyID(name string) string {
	return "https://" + c.kidHost + "/keys/" + name + "/rotationpolicy"
}

// handleGetPolicy serves GET /keys/{name}/rotationpolicy.
func handleGetPolicy(c *call) (int, any, *apiError) {
	var rec *keyRecord
	if e := c.s.txn(c.ctx, false, func(tx meta.Tx) error {
		var err error
		rec, _, err = liveKey(c.ctx, tx, c.vaultName, c.name, "")
		return err
	}); e != nil {
		return 0, nil, e
	}
	p := rec.Policy
	if p == nil {
		p = &defaultPolicy
	}
	return http.StatusOK, p.wire(c.policyID(rec.Name)), nil
}

// handleSetPolicy serves PUT /keys/{name}/rotationpolicy.
func handleSetPolicy(c *call) (int, any, *apiError) {
	var req rotationPolicyWire
	if e := decode(c, &req, maxBodyBytes); e != nil {
		return 0, nil, e
	}
	p, err := parsePolicy(&req)
	if err != nil {
		return 0, nil, badParameter("The rotation policy is invalid: %s.", err.Error())
	}
	var rec *keyRecord
	if e := c.s.txn(c.ctx, true, func(tx meta.Tx) error {
		var err error
		if rec, _, err = liveKey(c.ctx, tx, c.vaultName, c.name, ""); err != nil {
			return err
		}
		now := c.now.Unix()
		p.Created, p.Updated = now, now
		if rec.Policy != nil && rec.Policy.Created != 0 {
			p.Created = rec.Policy.Created
		}
		rec.Policy = p
		return saveKey(c.ctx, tx, c.vaultName, rec)
	}); e != nil {
		return 0, nil, e
	}
	return http.StatusOK, p.wire(c.policyID(rec.Name)), nil
}

// handleRandom serves POST /rng.
func handleRandom(c *call) (int, any, *apiError) {
	var req randomRequest
	if e := decode(c, &req, maxBodyBytes); e != nil {
		return 0, nil, e
	}
	if req.Count == nil || *req.Count < 1 || *req.Count > 128 {
		return 0, nil, badParameter("count must be an integer from 1 to 128.")
	}
	b := make([]byte, *req.Count)
	_, _ = rand.Read(b)
	return http.StatusOK, backupResult{Value: b}, nil
}

// windowCheck refuses operations outside a version's nbf/exp window.
func windowCheck(v *versionRecord, op string, now time.Time) *apiError {
	if v.NotBefore != nil && now.Unix() < *v.NotBefore {
		return forbidden(InnerKeyNotYetValid, "Operation %s is not allowed on a not-yet-valid key.", op)
	}
	if v.Expires != nil && now.Unix() >= *v.Expires {
		return forbidden(InnerKeyExpired, "Operation %s is not allowed on an expired key.", op)
	}
	return nil
}
