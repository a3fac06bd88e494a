package keyvault

import (
	"context"
	"errors"
	"time"
)

// Key permissions of an access policy, as Key Vault names them.
const (
	PermGet       = "get"
	PermList      = "list"
	PermCreate    = "create"
	PermUpdate    = "update"
	PermImport    = "import"
	PermDelete    = "delete"
	PermRecover   = "recover"
	PermPurge     = "purge"
	PermBackup    = "backup"
	PermRestore   = "restore"
	PermWrapKey   = "wrapKey"
	PermUnwrapKey = "unwrapKey"
	PermEncrypt   = "encrypt"
	PermDecrypt   = "decrypt"
	PermSign      = "sign"
	PermVerify    = "verify"
	PermRotate    = "rotate"
	PermGetPolicy = "getrotationpolicy"
	PermSetPolicy = "setrotationpolicy"
	PermAll       = "all"
)

// AccessPolicy grants key permissions to a principal of a tenant.
type AccessPolicy struct {
	TenantID      string   `json:"tenantId"`
	ObjectID      string   `json:"objectId"`
	ApplicationID string   `json:"applicationId,omitempty"`
	Keys          []string `json:"keys"` // permission names, case-insensitive
}

// VaultConfig is what the data plane needs of a vault; the management plane
// (Microsoft.KeyVault/vaults) owns it.
type VaultConfig struct {
	Name                    string // globally unique, DNS label
	TenantID                string
	SKU                     string // "standard" or "premium" (HSM-backed keys need premium)
	AccessPolicies          []AccessPolicy
	SoftDeleteEnabled       bool
	SoftDeleteRetentionDays int
	PurgeProtection         bool
	CreatedAt               time.Time
	// Location is the vault's Azure region (e.g. "westeurope"); the data
	// plane only names it in access-denied messages. Empty: omitted.
	Location string
}

// ErrVaultNotFound is returned by Vaults for an unknown or deleted vault.
var ErrVaultNotFound = errors.New("keyvault: vault not found")

// Vaults looks up live vaults by name (case-insensitive).
type Vaults interface {
	Vault(ctx context.Context, name string) (*VaultConfig, error)
}
