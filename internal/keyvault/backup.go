package keyvault

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/kustodian/kustodian/internal/meta"
)

// backupFormat identifies the backup blob layout.
const backupFormat = "kustodian-keyvault-key-backup/v1"

// backupAAD binds a sealed blob to its purpose.
var backupAAD = []byte("kustodian/keyvault/key-backup/v1")

// backupBlob is what a backup holds, sealed under the master key: every
// version's public part, attributes and backend reference (for software
// keys, the private key sealed once more under the master key).
type backupBlob struct {
	Format   string           `json:"format"`
	TenantID string           `json:"tenantId"`
	Vault    string           `json:"vault"`
	Name     string           `json:"name"`
	Latest   string           `json:"latest"`
	Policy   *rotPolicy       `json:"rotationPolicy,omitempty"`
	Versions []*versionRecord `json:"versions"`
	Created  int64            `json:"created"`
}

// errNoBackup answers backup and restore on a server without a sealer.
var errNoBackup = badParameter("Key backup and restore are not available on this server.")

// handleBackup serves POST /keys/{name}/backup.
func handleBackup(c *call) (int, any, *apiError) {
	if c.s.sealer == nil {
		return 0, nil, errNoBackup
	}
	blob := backupBlob{Format: backupFormat, TenantID: c.vault.TenantID, Vault: c.vaultName, Created: c.now.Unix()}
	if e := c.s.txn(c.ctx, false, func(tx meta.Tx) error {
		rec, _, err := liveKey(c.ctx, tx, c.vaultName, c.name, "")
		if err != nil {
			return err
		}
		blob.Name, blob.Latest, blob.Policy = rec.Name, rec.Latest, rec.Policy
		blob.Versions, err = loadVersions(c.ctx, tx, c.vaultName, rec.Name)
		return err
	}); e != nil {
		return 0, nil, e
	}
	plain, err := json.Marshal(blob)
	if err != nil {
		c.s.log.Error("keyvault: encoding a backup failed", "vault", c.vaultName, "key", blob.Name, "err", err)
		return 0, nil, errInternal
	}
	sealed, err := c.s.sealer.Seal(plain, backupAAD)
	clear(plain)
	if err != nil {
		c.s.log.Error("keyvault: sealing a backup failed", "vault", c.vaultName, "key", blob.Name, "err", err)
		return 0, nil, errInternal
	}
	return http.StatusOK, backupResult{Value: sealed}, nil
}

// handleRestore serves POST /keys/restore: the key of a backup is restored
// with all its versions (same version ids) into a vault of the same tenant,
// provided no key, live or deleted, has its name.
func handleRestore(c *call) (int, any, *apiError) {
	if c.s.sealer == nil {
		return 0, nil, errNoBackup
	}
	var req restoreRequest
	if e := decode(c, &req, maxRestoreBytes); e != nil {
		return 0, nil, e
	}
	if req.Value == nil || len(*req.Value) == 0 {
		return 0, nil, badParameter("The key backup (value) is missing.")
	}
	invalid := badParameter("The key backup is not valid: it is corrupt or was made by another server.")
	plain, err := c.s.sealer.Open(*req.Value, backupAAD)
	if err != nil {
		return 0, nil, invalid
	}
	var blob backupBlob
	err = json.Unmarshal(plain, &blob)
	clear(plain)
	if err != nil || blob.Format != backupFormat || checkName(blob.Name) != nil || len(blob.Versions) == 0 {
		return 0, nil, invalid
	}
	if !strings.EqualFold(blob.TenantID, c.vault.TenantID) {
		return 0, nil, badParameter("The key backup belongs to another tenant; it can only be restored into a vault of tenant %s.", blob.TenantID)
	}
	var latest *versionRecord
	for _, v := range blob.Versions {
		if !versionPattern.MatchString(v.Version) || (v.Kty != KtyRSA && v.Kty != KtyRSAHSM) {
			return 0, nil, invalid
		}
		if c.s.backendFor(v.Backend) == nil {
			return 0, nil, badParameter("The key backup holds key material of the %s backend, which this server does not have.", v.Backend)
		}
		if v.Kty == KtyRSAHSM && !strings.EqualFold(c.vault.SKU, "premium") {
			return 0, nil, forbidden(InnerForbiddenByPolicy, "Hardware key operation not allowed on standard vault.")
		}
		if v.Version == blob.Latest {
			latest = v
		}
	}
	if latest == nil {
		return 0, nil, invalid
	}
	rec := &keyRecord{Name: blob.Name, Latest: blob.Latest, Policy: blob.Policy}
	if e := c.s.txn(c.ctx, true, func(tx meta.Tx) error {
		existing, err := loadKey(c.ctx, tx, c.vaultName, blob.Name)
		switch {
		case err == nil && existing.Deleted != nil:
			return deletedButRecoverable(existing.Name)
		case err == nil:
			return conflict("", "Key %s already exists in this key vault; a backup can only be restored under a name that is not in use.", existing.Name)
		case !isNotFound(err):
			return err
		}
		for _, v := range blob.Versions {
			if err := saveVersion(c.ctx, tx, c.vaultName, rec.Name, v); err != nil {
				return err
			}
		}
		return saveKey(c.ctx, tx, c.vaultName, rec)
	}); e != nil {
		return 0, nil, e
	}
	return http.StatusOK, c.bundle(rec.Name, latest), nil
}
