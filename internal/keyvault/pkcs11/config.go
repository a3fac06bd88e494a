package pkcs11

import "errors"

// Config says which token to use and how to log in to it.
type Config struct {
	// ModulePath is the PKCS#11 module (shared library) to load, such as
	// /usr/lib/softhsm/libsofthsm2.so. A name without a slash is looked up
	// by the dynamic loader.
	ModulePath string
	// TokenLabel is the label of the token to use (CK_TOKEN_INFO's label,
	// up to 32 bytes). It must match exactly one token of the module.
	TokenLabel string
	// PIN is the normal user's PIN. It is only used to log in, and never
	// appears in logs or errors.
	PIN string
}

// Errors that Open and the Backend's methods return besides the
// keyvault errors.
var (
	// ErrTokenNotFound: no token of the module has the configured label.
	ErrTokenNotFound = errors.New("pkcs11: token not found")
	// ErrLoginFailed: the token refused the login (wrong or locked PIN, ...).
	// The error wraps the token's return code, never the PIN.
	ErrLoginFailed = errors.New("pkcs11: login failed")
	// ErrTokenInUse: another Backend of this process has the token open.
	ErrTokenInUse = errors.New("pkcs11: token already open in this process")
	// ErrClosed: the Backend has been closed.
	ErrClosed = errors.New("pkcs11: backend closed")
	// ErrCgoRequired: the program was built without cgo, which PKCS#11
	// needs to load the module.
	ErrCgoRequired = errors.New("pkcs11: built without cgo; PKCS#11 needs cgo")
)

// Name is what Backend.Name reports.
const Name = "pkcs11"
