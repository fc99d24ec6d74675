package core

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Secret holds a password or key. It prints, logs and marshals as
// "**redacted**" so it cannot leak through fmt, slog or encoding/json by
// accident; Reveal is the one way to read it.
type Secret string

const redacted = "**redacted**"

// Reveal returns the secret's value, for the one place that needs it. A
// reference or an unreadable stored value reveals nothing: Resolve it first.
func (s Secret) Reveal() string {
	if !s.IsValue() {
		return ""
	}
	return string(s)
}

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

// A Secret may hold, instead of a value, a reference to where the value is
// kept (an environment variable or a file), resolved each time it is used;
// or, when the catalog could not decrypt a stored value, the sentence that
// says so. Both start with a NUL byte, which no password, key or
// environment variable can contain, so they never pass for a value.
const (
	refMarker        = "\x00ref:"
	unreadableMarker = "\x00unreadable:"
)

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// SecretRef returns a secret that refers to its value instead of holding it:
// "env:VARIABLE" reads the environment variable, "file:/absolute/path" reads
// the file (which must be readable by its owner only), each time the secret
// is resolved.
func SecretRef(ref string) (Secret, error) {
	kind, where, _ := strings.Cut(ref, ":")
	switch kind {
	case "env":
		if !envNameRE.MatchString(where) {
			return "", Userf(ErrInvalid, "the secret reference does not name an environment variable; write env:VARIABLE, e.g. env:S3_SECRET_KEY")
		}
	case "file":
		if where == "" || !filepath.IsAbs(where) {
			return "", Userf(ErrInvalid, "the secret reference does not give an absolute file path; write file:/path/to/file")
		}
		where = filepath.Clean(where)
	default:
		// Not echoed: it may be the secret itself, given by mistake.
		return "", Userf(ErrInvalid, "a secret reference is env:VARIABLE or file:/path/to/file, not the secret itself")
	}
	return Secret(refMarker + kind + ":" + where), nil
}

// UnreadableSecret stands for a stored secret that cannot be read; resolving
// it fails with reason, which says what happened, and advice, the action
// that helps (entering the secret again), which each front end phrases.
func UnreadableSecret(reason string, advice Advice) Secret {
	return Secret(unreadableMarker + reason + adviceMarker + strings.Join([]string{
		string(advice.Action), advice.Service, advice.Destination, advice.Detail, advice.User}, "\x00"))
}

// adviceMarker ends the reason of an unreadable secret; the advice's action,
// service and destination follow, NUL-separated (names never hold a NUL).
const adviceMarker = "\x00advice:"

// unreadableAdvice is the advice an unreadable secret's reason came with.
func (s Secret) unreadableAdvice() Advice {
	_, enc, ok := strings.Cut(string(s), adviceMarker)
	if !ok {
		return Advice{}
	}
	f := strings.SplitN(enc, "\x00", 5)
	for len(f) < 5 {
		f = append(f, "")
	}
	return Advice{Action: Action(f[0]), Service: f[1], Destination: f[2], Detail: f[3], User: f[4]}
}

// Ref is the reference ("env:VARIABLE" or "file:/path") a secret stands
// for, or "" when it holds a value. A reference is not itself secret.
func (s Secret) Ref() string {
	if r, ok := strings.CutPrefix(string(s), refMarker); ok {
		return r
	}
	return ""
}

// Unreadable reports whether the secret is a stored value that could not be
// read, and why.
func (s Secret) Unreadable() (reason string, ok bool) {
	reason, ok = strings.CutPrefix(string(s), unreadableMarker)
	reason, _, _ = strings.Cut(reason, adviceMarker)
	return reason, ok
}

// IsValue reports whether the secret holds its value (as opposed to a
// reference or an unreadable stored value); only values are stored
// encrypted.
func (s Secret) IsValue() bool { return s != "" && !strings.HasPrefix(string(s), "\x00") }

// Resolve returns the secret's value: the secret itself when it holds one,
// else what its reference points to, read now. what names the secret in
// error messages, e.g. `the secret key of destination "s3"`. An empty
// secret resolves to itself.
func (s Secret) Resolve(what string) (Secret, error) {
	if reason, ok := s.Unreadable(); ok {
		a, cause := s.unreadableAdvice(), ErrAccessDenied
		if a.Action == ActionAskForRole {
			// Hidden from this database user by the catalog's server.
			cause = ErrForbidden
		}
		return "", Advise(a, cause, "%s", reason)
	}
	ref := s.Ref()
	if ref == "" {
		return s, nil
	}
	kind, where, _ := strings.Cut(ref, ":")
	switch kind {
	case "env":
		v, ok := os.LookupEnv(where)
		if !ok || v == "" {
			return "", Userf(ErrInvalid, "%s refers to the environment variable %s, which is not set; set it in the environment of the process that needs it (for the daemon, in its service unit)", what, where)
		}
		return Secret(v), nil
	case "file":
		v, err := readSecretFile(where)
		if err != nil {
			return "", Userf(err, "%s refers to the file %s: %s", what, where, message(err))
		}
		return Secret(v), nil
	}
	return "", Userf(ErrInvalid, "%s has an unknown reference %q; enter it again", what, ref)
}

// readSecretFile reads a secret kept in a file, refusing one that others
// can read, as ssh refuses a private key: a secret they could read is not
// one any more.
func readSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", Userf(fmt.Errorf("%w: %w", ErrNotFound, err), "it does not exist; create it, readable by its owner only")
		}
		return "", Userf(fmt.Errorf("%w: %w", ErrAccessDenied, err), "it cannot be read (%v); make it readable by the user running odoo-backup", errors.Unwrap(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", Userf(ErrInvalid, "it is not a regular file; point the reference at a file holding the secret")
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", Userf(ErrAccessDenied, "it is readable by group or others (mode %04o); restrict it with: chmod 600 %s", fi.Mode().Perm(), path)
	}
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return "", err
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return "", Userf(ErrInvalid, "it is empty; write the secret into it")
	}
	return v, nil
}
