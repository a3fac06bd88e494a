package kek

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/kustodian/kustodian/internal/seal"
)

// Authority wraps and unwraps account keys with one key encryption key.
type Authority interface {
	// Kind is AuthorityPlatform or AuthorityCustomer.
	Kind() string
	// Current returns the identifier of the key version new wraps use: the
	// configured version, or for automatic rotation the latest enabled one.
	Current(ctx context.Context) (keyID string, err error)
	// Wrap wraps aek with the key version keyID.
	Wrap(ctx context.Context, keyID string, aek []byte) ([]byte, error)
	// Unwrap unwraps with the key version keyID that wrapped.
	Unwrap(ctx context.Context, keyID string, wrapped []byte) ([]byte, error)
	// Describe names the key for logs and audit (never secret).
	Describe() string
}

// PlatformAuthority wraps with the server's master key: the role of the
// seed's "Microsoft key". It never fails transiently.
type PlatformAuthority struct {
	Sealer *seal.Sealer
}

// PlatformKeyID identifies the platform key.
const PlatformKeyID = "platform:master-key/v1"

// Kind implements Authority.
func (PlatformAuthority) Kind() string { return AuthorityPlatform }

// Current implements Authority.
func (PlatformAuthority) Current(context.Context) (string, error) { return PlatformKeyID, nil }

// Describe implements Authority.
func (PlatformAuthority) Describe() string { return PlatformKeyID }

var platformAAD = []byte("kustodian/kek/platform-wrapped-aek/v1")

// Wrap implements Authority.
func (p PlatformAuthority) Wrap(_ context.Context, keyID string, aek []byte) ([]byte, error) {
	if keyID != PlatformKeyID {
		return nil, fmt.Errorf("platform authority cannot wrap with %q", keyID)
	}
	return p.Sealer.Seal(aek, platformAAD)
}

// Unwrap implements Authority.
func (p PlatformAuthority) Unwrap(_ context.Context, keyID string, wrapped []byte) ([]byte, error) {
	if keyID != PlatformKeyID {
		return nil, fmt.Errorf("platform authority cannot unwrap a key wrapped by %q", keyID)
	}
	return p.Sealer.Open(wrapped, platformAAD)
}

// CustomerAuthority wraps with a customer's key in a Key Vault through
// Client (for a cluster: as its managed identity).
type CustomerAuthority struct {
	Client Client
	// Key is the configured key; an empty Version follows the latest version.
	Key KeyRef
}

// Kind implements Authority.
func (CustomerAuthority) Kind() string { return AuthorityCustomer }

// Describe implements Authority.
func (c CustomerAuthority) Describe() string { return c.Key.String() }

// Current implements Authority.
func (c CustomerAuthority) Current(ctx context.Context) (string, error) {
	if c.Key.Version != "" {
		return c.Key.String(), nil
	}
	info, err := c.Client.GetKey(ctx, c.Key)
	if err != nil {
		return "", err
	}
	if !info.Enabled {
		return "", &Error{Op: "get", Key: c.Key.String(), Class: ErrRevoked, Err: fmt.Errorf("latest version is disabled")}
	}
	ref := c.Key
	ref.Version = info.Version
	return ref.String(), nil
}

// Wrap implements Authority.
func (c CustomerAuthority) Wrap(ctx context.Context, keyID string, aek []byte) ([]byte, error) {
	ref, err := ParseKeyID(keyID)
	if err != nil {
		return nil, err
	}
	wrapped, _, err := c.Client.Wrap(ctx, ref, aek)
	return wrapped, err
}

// Unwrap implements Authority.
func (c CustomerAuthority) Unwrap(ctx context.Context, keyID string, wrapped []byte) ([]byte, error) {
	ref, err := ParseKeyID(keyID)
	if err != nil {
		return nil, err
	}
	return c.Client.Unwrap(ctx, ref, wrapped)
}

// ParseKeyID parses "https://{vault}/keys/{name}/{version}".
func ParseKeyID(id string) (KeyRef, error) {
	u, err := url.Parse(id)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return KeyRef{}, fmt.Errorf("key id %q is not an https URL", id)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 3 || parts[0] != "keys" || parts[1] == "" || parts[2] == "" {
		return KeyRef{}, fmt.Errorf("key id %q must be https://{vault}/keys/{name}/{version}", id)
	}
	return KeyRef{VaultURI: "https://" + u.Host, Name: parts[1], Version: parts[2]}, nil
}
