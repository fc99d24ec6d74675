package core

import (
	"fmt"
	"io"
	"log/slog"
)

// Secret holds a password or key. It prints, logs and marshals as
// "**redacted**" so it cannot leak through fmt, slog or encoding/json by
// accident; Reveal is the one way to read it.
type Secret string

const redacted = "**redacted**"

// Reveal returns the secret's value, for the one place that needs it.
func (s Secret) Reveal() string { return string(s) }

// IsSet reports whether the secret holds a value.
func (s Secret) IsSet() bool { return s != "" }

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return `core.Secret("` + s.String() + `")` }

// MarshalJSON never writes the value.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// LogValue keeps slog from printing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Format covers every verb, including the wrong ones for which fmt would
// otherwise print the raw value ("%!d(core.Secret=...)").
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, s.GoString())
		return
	}
	io.WriteString(f, s.String())
}
