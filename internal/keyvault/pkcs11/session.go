//go:build cgo

package pkcs11

import (
	"context"
	"errors"
	"fmt"

	p11 "github.com/miekg/pkcs11"

	"github.com/kustodian/kustodian/internal/keyvault"
)

// defaultMaxSessions bounds the session pool unless the token allows fewer.
// A session runs one operation at a time, so this is also the number of
// operations in flight.
const defaultMaxSessions = 16

// maxSessions is the pool size for a token.
func maxSessions(ti p11.TokenInfo) int {
	n := uint(defaultMaxSessions)
	for _, limit := range []uint{ti.MaxSessionCount, ti.MaxRwSessionCount} {
		if limit != p11.CK_EFFECTIVELY_INFINITE && limit != p11.CK_UNAVAILABLE_INFORMATION && limit < n {
			n = limit
		}
	}
	return int(max(n, 1))
}

// do runs fn with a session of the pool. fn must leave the session with no
// operation active, which the single-part PKCS#11 calls guarantee as they
// end the operation whether they fail or not.
func (b *Backend) do(ctx context.Context, fn func(sh p11.SessionHandle) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return ErrClosed
	}

	select {
	case b.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-b.sem }()

	var sh p11.SessionHandle
	select {
	case sh = <-b.idle:
	default:
		var err error
		sh, err = b.mod.p.OpenSession(b.slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
		if err != nil {
			return fmt.Errorf("pkcs11: opening a session: %w", err)
		}
	}

	err := fn(sh)
	if sessionLost(err) {
		// Best effort: the session is of no further use either way.
		_ = b.mod.p.CloseSession(sh)
	} else {
		b.idle <- sh // never blocks: at most cap(b.sem) sessions exist
	}
	return err
}

// sessionLost reports whether err means the session cannot be used again.
func sessionLost(err error) bool {
	var rv p11.Error
	if !errors.As(err, &rv) {
		return false
	}
	switch rv {
	case p11.CKR_SESSION_HANDLE_INVALID, p11.CKR_SESSION_CLOSED,
		p11.CKR_DEVICE_REMOVED, p11.CKR_DEVICE_ERROR, p11.CKR_TOKEN_NOT_PRESENT,
		p11.CKR_OPERATION_ACTIVE, p11.CKR_CRYPTOKI_NOT_INITIALIZED:
		return true
	}
	return false
}

// findKey returns the object of class (CKO_PUBLIC_KEY or CKO_PRIVATE_KEY)
// of the RSA key with CKA_ID id.
func (b *Backend) findKey(sh p11.SessionHandle, class uint, id []byte) (p11.ObjectHandle, error) {
	objs, err := b.findObjects(sh, class, id)
	if err != nil {
		return 0, err
	}
	switch len(objs) {
	case 0:
		return 0, keyvault.ErrKeyMaterialNotFound
	case 1:
		return objs[0], nil
	default:
		return 0, fmt.Errorf("pkcs11: %d objects of class %d share CKA_ID %x", len(objs), class, id)
	}
}

// findObjects returns the RSA key objects of class with CKA_ID id (at most
// two, which is enough to tell one from many).
func (b *Backend) findObjects(sh p11.SessionHandle, class uint, id []byte) ([]p11.ObjectHandle, error) {
	tmpl := []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, class),
		p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_RSA),
		p11.NewAttribute(p11.CKA_ID, id),
	}
	if err := b.mod.p.FindObjectsInit(sh, tmpl); err != nil {
		return nil, fmt.Errorf("pkcs11: finding key: %w", err)
	}
	objs, _, err := b.mod.p.FindObjects(sh, 2)
	ferr := b.mod.p.FindObjectsFinal(sh)
	if err == nil {
		err = ferr
	}
	if err != nil {
		return nil, fmt.Errorf("pkcs11: finding key: %w", err)
	}
	return objs, nil
}
