package seal

import (
	"errors"
	"fmt"
	"log/slog"
)

// Redacted is what a Secret prints as.
const Redacted = "[REDACTED]"

// ErrSecretMarshal is returned when a Secret is marshalled to JSON or text.
var ErrSecretMarshal = errors.New("seal: refusing to marshal a Secret; seal it or encode its bytes explicitly")

// Secret holds key material and keeps it out of logs and output by accident:
// fmt (every verb, including %v, %+v, %#v, %s, %x, %d and %q), slog and
// encoding/json never show its bytes. Code that needs the bytes converts
// explicitly: []byte(s).
//
// Marshalling refuses rather than redacts (MarshalJSON and MarshalText return
// ErrSecretMarshal), so that a Secret written by mistake to a stored or sent
// document fails loudly instead of silently replacing the key by a
// placeholder.
//
// fmt cannot call methods on unexported struct fields, so a Secret in an
// unexported field of a struct printed with fmt is shown as plain bytes;
// keep Secret fields exported, or give the struct its own String method.
type Secret []byte

// String returns "[REDACTED]".
func (s Secret) String() string { return Redacted }

// GoString returns "[REDACTED]", for %#v.
func (s Secret) GoString() string { return Redacted }

// Format writes "[REDACTED]" for every fmt verb and flag, so that no verb
// (such as %x or %d, which would otherwise format the bytes) reveals them.
func (s Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue returns the string "[REDACTED]" as the slog value of s.
func (s Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON refuses to encode s and returns ErrSecretMarshal.
func (s Secret) MarshalJSON() ([]byte, error) { return nil, ErrSecretMarshal }

// MarshalText refuses to encode s (used by encoding/xml, map keys and
// others) and returns ErrSecretMarshal.
func (s Secret) MarshalText() ([]byte, error) { return nil, ErrSecretMarshal }

// Zero overwrites the bytes of s with zeros. It does not reach copies made
// earlier.
func (s Secret) Zero() { clear(s) }
