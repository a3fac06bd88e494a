package kek

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
)

// KeyRef names a key encryption key. An empty Version means the latest
// version of the key (automatic rotation).
type KeyRef struct {
	VaultURI string
	Name     string
	Version  string
}

// String returns the key identifier form of the reference.
func (r KeyRef) String() string {
	s := strings.TrimSuffix(r.VaultURI, "/") + "/keys/" + r.Name
	if r.Version != "" {
		s += "/" + r.Version
	}
	return s
}

// KeyInfo describes a key version.
type KeyInfo struct {
	KID           string // full key identifier, with version
	Version       string
	Kty           string
	Bits          int
	Enabled       bool
	NotBefore     *time.Time
	Expires       *time.Time
	RecoveryLevel string
	Ops           []string
}

// Client wraps and unwraps with a KEK.
type Client interface {
	// GetKey returns the properties of the key (the latest version when
	// ref.Version is empty).
	GetKey(ctx context.Context, ref KeyRef) (*KeyInfo, error)
	// Wrap encrypts plaintext with the key and returns the wrapped bytes and
	// the identifier of the version that wrapped them.
	Wrap(ctx context.Context, ref KeyRef, plaintext []byte) (wrapped []byte, kid string, err error)
	// Unwrap decrypts bytes wrapped by Wrap. ref.Version must be the version
	// that wrapped them.
	Unwrap(ctx context.Context, ref KeyRef, wrapped []byte) ([]byte, error)
}

// WrapAlgorithm is the algorithm Kustodian wraps account keys with.
const WrapAlgorithm = azkeys.EncryptionAlgorithmRSAOAEP256

// Error classes.
var (
	// ErrRevoked means the customer has withdrawn access: the key is
	// disabled, deleted or missing, or the identity lost its permissions.
	ErrRevoked = errors.New("key access revoked")
	// ErrTransient means the vault could not be reached or answered with a
	// temporary failure; the same call may succeed later.
	ErrTransient = errors.New("key vault temporarily unavailable")
)

// Error is a classified failure of a vault call.
type Error struct {
	Op     string // "get", "wrapKey", "unwrapKey"
	Key    string // key identifier
	Status int    // HTTP status, 0 when there was no answer
	Code   string // Key Vault error code, if any
	Class  error  // ErrRevoked or ErrTransient
	Err    error
}

func (e *Error) Error() string {
	switch {
	case e.Status != 0:
		return fmt.Sprintf("%s %s: vault answered %d %s: %v", e.Op, e.Key, e.Status, e.Code, e.Class)
	default:
		return fmt.Sprintf("%s %s: %v: %v", e.Op, e.Key, e.Class, e.Err)
	}
}

// Unwrap returns the class, so errors.Is(err, ErrRevoked) works.
func (e *Error) Unwrap() []error { return []error{e.Class, e.Err} }

// classify turns an azkeys error into an *Error.
func classify(op string, ref KeyRef, err error) error {
	e := &Error{Op: op, Key: ref.String(), Err: err, Class: ErrTransient}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		e.Status, e.Code = re.StatusCode, re.ErrorCode
		if inner := innerCode(re); inner != "" {
			e.Code = inner
		}
		switch {
		case re.StatusCode == http.StatusUnauthorized, re.StatusCode == http.StatusForbidden,
			re.StatusCode == http.StatusNotFound, re.StatusCode == http.StatusGone:
			e.Class = ErrRevoked
		case re.StatusCode == http.StatusBadRequest:
			// A malformed request is our bug or a key that cannot do the
			// operation (wrong type): not transient.
			e.Class = ErrRevoked
		}
		e.Err = nil
		return e
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	// Challenge and token failures mean the identity cannot authenticate.
	var authErr interface{ NonRetriable() }
	if errors.As(err, &authErr) && !isNetErr(err) {
		e.Class = ErrRevoked
	}
	return e
}

// innerCode returns the innererror code of a Key Vault error body (for
// example "KeyDisabled" under "Forbidden"), if any.
func innerCode(re *azcore.ResponseError) string {
	if re.RawResponse == nil || re.RawResponse.Body == nil {
		return ""
	}
	body, err := io.ReadAll(io.LimitReader(re.RawResponse.Body, 64<<10))
	if err != nil {
		return ""
	}
	re.RawResponse.Body = io.NopCloser(bytes.NewReader(body))
	var e struct {
		Error struct {
			Inner struct {
				Code string `json:"code"`
			} `json:"innererror"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return e.Error.Inner.Code
}

func isNetErr(err error) bool {
	var ne net.Error
	var ue *url.Error
	return errors.As(err, &ne) || errors.As(err, &ue)
}

// VaultClient speaks the Key Vault protocol through azkeys. It keeps one
// azkeys client per vault, so the authentication challenge and the bearer
// token are learnt once and reused: each key operation is then one request
// to the vault, not an unauthenticated probe followed by the real call. It
// is safe for concurrent use.
type VaultClient struct {
	cred      azcore.TokenCredential
	transport policy.Transporter

	mu      sync.Mutex
	clients map[string]*azkeys.Client // by vault URI
}

// NewVaultClient returns a client authenticating with cred (for a cluster:
// its managed identity) and sending requests through transport (nil: the
// default). azkeys' challenge-resource verification stays on.
func NewVaultClient(cred azcore.TokenCredential, transport policy.Transporter) *VaultClient {
	return &VaultClient{cred: cred, transport: transport, clients: map[string]*azkeys.Client{}}
}

func (c *VaultClient) client(ref KeyRef) (*azkeys.Client, error) {
	u, err := url.Parse(ref.VaultURI)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("vault URI %q must be an https URL", ref.VaultURI)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl := c.clients[ref.VaultURI]; cl != nil {
		return cl, nil
	}
	opts := &azkeys.ClientOptions{}
	// No retries here: the refresh loop is the retry, and a vault that asks
	// to be left alone (Retry-After) must not stall key checks for it.
	opts.Retry = policy.RetryOptions{MaxRetries: -1, TryTimeout: 10 * time.Second}
	if c.transport != nil {
		opts.Transport = c.transport
	}
	cl, err := azkeys.NewClient(ref.VaultURI, c.cred, opts)
	if err != nil {
		return nil, err
	}
	c.clients[ref.VaultURI] = cl
	return cl, nil
}

// GetKey implements Client.
func (c *VaultClient) GetKey(ctx context.Context, ref KeyRef) (*KeyInfo, error) {
	cl, err := c.client(ref)
	if err != nil {
		return nil, err
	}
	resp, err := cl.GetKey(ctx, ref.Name, ref.Version, nil)
	if err != nil {
		return nil, classify("get", ref, err)
	}
	info := &KeyInfo{}
	if k := resp.Key; k != nil {
		if k.KID != nil {
			info.KID = string(*k.KID)
			info.Version = k.KID.Version()
		}
		if k.Kty != nil {
			info.Kty = string(*k.Kty)
		}
		if len(k.N) > 0 {
			info.Bits = new(big.Int).SetBytes(k.N).BitLen()
		}
		for _, op := range k.KeyOps {
			if op != nil {
				info.Ops = append(info.Ops, string(*op))
			}
		}
	}
	if a := resp.Attributes; a != nil {
		info.Enabled = a.Enabled == nil || *a.Enabled
		info.NotBefore, info.Expires = a.NotBefore, a.Expires
		if a.RecoveryLevel != nil {
			info.RecoveryLevel = *a.RecoveryLevel
		}
	}
	return info, nil
}

// Wrap implements Client.
func (c *VaultClient) Wrap(ctx context.Context, ref KeyRef, plaintext []byte) ([]byte, string, error) {
	cl, err := c.client(ref)
	if err != nil {
		return nil, "", err
	}
	alg := WrapAlgorithm
	resp, err := cl.WrapKey(ctx, ref.Name, ref.Version, azkeys.KeyOperationParameters{Algorithm: &alg, Value: plaintext}, nil)
	if err != nil {
		return nil, "", classify("wrapKey", ref, err)
	}
	kid := ""
	if resp.KID != nil {
		kid = string(*resp.KID)
	}
	return resp.Result, kid, nil
}

// Unwrap implements Client.
func (c *VaultClient) Unwrap(ctx context.Context, ref KeyRef, wrapped []byte) ([]byte, error) {
	cl, err := c.client(ref)
	if err != nil {
		return nil, err
	}
	alg := WrapAlgorithm
	resp, err := cl.UnwrapKey(ctx, ref.Name, ref.Version, azkeys.KeyOperationParameters{Algorithm: &alg, Value: wrapped}, nil)
	if err != nil {
		return nil, classify("unwrapKey", ref, err)
	}
	return resp.Result, nil
}

// Failure is a failed validation: which condition, and why.
type Failure struct {
	Condition string // stable code, e.g. "KeyVaultNotRecoverable"
	Message   string
	Err       error
}

func (f *Failure) Error() string { return f.Message }

// Unwrap returns the underlying error.
func (f *Failure) Unwrap() error { return f.Err }

// Validate checks that a key can serve as a cluster's KEK, through c as the
// cluster's identity will use it: the vault answers; the identity may get the
// key; the vault is recoverable (soft delete and purge protection, read from
// the key's recovery level); the key is enabled, currently valid, RSA and at
// least minBits (0: 2048) bits; and a wrap/unwrap round trip of random bytes
// succeeds. It returns the key's properties, or a *Failure.
func Validate(ctx context.Context, c Client, ref KeyRef, minBits int) (*KeyInfo, error) {
	if minBits == 0 {
		minBits = 2048
	}
	info, err := c.GetKey(ctx, ref)
	if err != nil {
		return nil, failure(ref, "get", err)
	}
	now := time.Now()
	switch {
	case !recoverable(info.RecoveryLevel):
		return nil, &Failure{Condition: "KeyVaultNotRecoverable", Message: fmt.Sprintf(
			"The key vault of %s is not recoverable (recovery level %q): enable both soft delete and purge protection on the vault.",
			ref, info.RecoveryLevel)}
	case !info.Enabled:
		return nil, &Failure{Condition: "KeyDisabled", Message: fmt.Sprintf("The key %s is disabled: enable it or choose another version.", info.KID)}
	case info.NotBefore != nil && now.Before(*info.NotBefore):
		return nil, &Failure{Condition: "KeyNotYetValid", Message: fmt.Sprintf("The key %s is not valid before %s.", info.KID, info.NotBefore.UTC().Format(time.RFC3339))}
	case info.Expires != nil && !now.Before(*info.Expires):
		return nil, &Failure{Condition: "KeyExpired", Message: fmt.Sprintf("The key %s expired at %s.", info.KID, info.Expires.UTC().Format(time.RFC3339))}
	case info.Kty != "RSA" && info.Kty != "RSA-HSM":
		return nil, &Failure{Condition: "KeyTypeNotSupported", Message: fmt.Sprintf("The key %s is of type %s: a customer-managed key must be RSA or RSA-HSM.", info.KID, info.Kty)}
	case info.Bits < minBits:
		return nil, &Failure{Condition: "KeySizeTooSmall", Message: fmt.Sprintf("The key %s has %d bits; keyRsaSize asks for at least %d.", info.KID, info.Bits, minBits)}
	case len(info.Ops) > 0 && (!slices.Contains(info.Ops, "wrapKey") || !slices.Contains(info.Ops, "unwrapKey")):
		return nil, &Failure{Condition: "KeyOperationNotAllowed", Message: fmt.Sprintf(
			"The key %s does not allow wrapKey and unwrapKey (its key_ops are %s): add them to the key's operations.", info.KID, strings.Join(info.Ops, ", "))}
	}
	probe := make([]byte, 32)
	if _, err := rand.Read(probe); err != nil {
		return nil, err
	}
	versioned := ref
	versioned.Version = info.Version
	wrapped, _, err := c.Wrap(ctx, versioned, probe)
	if err != nil {
		return nil, failure(ref, "wrapKey", err)
	}
	back, err := c.Unwrap(ctx, versioned, wrapped)
	if err != nil {
		return nil, failure(ref, "unwrapKey", err)
	}
	defer clear(back)
	if subtle.ConstantTimeCompare(back, probe) != 1 {
		return nil, &Failure{Condition: "KeyRoundTripFailed", Message: fmt.Sprintf("Wrapping and unwrapping with %s did not give back the same bytes.", info.KID)}
	}
	return info, nil
}

// recoverable reports whether a recovery level means soft delete with purge
// protection ("Recoverable", "Recoverable+ProtectedSubscription",
// "CustomizedRecoverable", ...), as opposed to "Purgeable" or
// "Recoverable+Purgeable".
func recoverable(level string) bool {
	return strings.Contains(level, "Recoverable") && !strings.Contains(level, "Purgeable")
}

func failure(ref KeyRef, op string, err error) error {
	var ve *Error
	if !errors.As(err, &ve) {
		return &Failure{Condition: "KeyVaultRequestFailed", Message: fmt.Sprintf("Cannot use %s: %v.", ref, err), Err: err}
	}
	perm := map[string]string{"get": "get", "wrapKey": "wrapKey", "unwrapKey": "unwrapKey"}[op]
	switch {
	case ve.Status == http.StatusForbidden && strings.Contains(strings.ToLower(ve.Code), "disabled"):
		return &Failure{Condition: "KeyDisabled", Message: fmt.Sprintf("The key %s is disabled.", ref), Err: err}
	case ve.Status == http.StatusForbidden || ve.Status == http.StatusUnauthorized:
		return &Failure{Condition: "KeyVaultAccessDenied", Message: fmt.Sprintf(
			"The cluster's managed identity may not %s the key %s: grant it the get, wrapKey and unwrapKey key permissions in the vault's access policies (the vault answered %d %s).",
			perm, ref, ve.Status, ve.Code), Err: err}
	case ve.Status == http.StatusNotFound && ve.Code == "KeyNotFound":
		return &Failure{Condition: "KeyNotFound", Message: fmt.Sprintf("The key %s was not found in the vault.", ref), Err: err}
	case ve.Status == http.StatusNotFound:
		return &Failure{Condition: "KeyVaultNotFound", Message: fmt.Sprintf("The key vault of %s was not found (%s).", ref, ve.Code), Err: err}
	case ve.Status != 0:
		return &Failure{Condition: "KeyVaultRequestFailed", Message: fmt.Sprintf("The vault refused %s on %s: %d %s.", op, ref, ve.Status, ve.Code), Err: err}
	default:
		return &Failure{Condition: "KeyVaultUnreachable", Message: fmt.Sprintf("The key vault of %s could not be reached: %v.", ref, ve.Err), Err: err}
	}
}
