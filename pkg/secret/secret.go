// Package secret holds values that must never be printed: their String,
// GoString, Format and MarshalJSON all redact.
//
// It imports only the standard library.
package secret

import "fmt"

// Redacted is what a Secret prints as.
const Redacted = "[REDACTED]"

// Secret is a credential, such as an API key.
type Secret struct{ v string }

// New wraps a credential.
func New(v string) Secret { return Secret{v: v} }

// Reveal returns the credential itself, for the one place that sends it.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether no credential is held.
func (s Secret) IsZero() bool { return s.v == "" }

func (s Secret) String() string   { return s.redacted() }
func (s Secret) GoString() string { return s.redacted() }

// Format keeps fmt's %v, %s, %q, %x and friends from reaching the value.
func (s Secret) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.redacted()) }

// MarshalJSON redacts.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.redacted() + `"`), nil }

func (s Secret) redacted() string {
	if s.v == "" {
		return ""
	}
	return Redacted
}
