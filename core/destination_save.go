package core

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DestinationCatalog is what adding, changing, testing and removing a
// destination needs of the catalog.
type DestinationCatalog interface {
	AddDestination(ctx context.Context, d *Destination) error
	UpdateDestination(ctx context.Context, d Destination) error
	Destination(ctx context.Context, name string) (Destination, error)
	RemoveDestination(ctx context.Context, name string, forgetBackups bool) error
}

// Destination.SSE values: SSES3 asks the bucket to encrypt objects with keys
// it manages, SSEKMS with a key of its key management service
// (Destination.SSEKMSKeyID, or the service's default key when empty).
const (
	SSES3  = "SSE-S3"
	SSEKMS = "SSE-KMS"
)

// ActionPlainHTTP: an S3 endpoint was given with a scheme; plain HTTP is a
// setting of its own (the command line's --no-tls, the console's No TLS box).
const ActionPlainHTTP Action = "plain-http"

// SettingError says which setting of what a person asked for breaks a rule,
// so a front end can point at it (a form field, a flag). Setting is the
// name of the setting: for a destination "name", "dir", "endpoint",
// "bucket", "sse", "kmskey", "cafile", "keyfile", "recipient", "layout" or
// "lock"; for a configuration "destination", "frequency", "minute", "at",
// "weekday", "day", "retention" or "primary".
type SettingError struct {
	Setting string
	Err     error
}

func (e *SettingError) Error() string { return e.Err.Error() }
func (e *SettingError) Unwrap() error { return e.Err }

// SettingOf is the setting err is about, or "" when it is about none.
func SettingOf(err error) string {
	var se *SettingError
	if errors.As(err, &se) {
		return se.Setting
	}
	return ""
}

func settingErr(setting string, err error) error {
	if err == nil {
		return nil
	}
	return &SettingError{Setting: setting, Err: err}
}

// DestinationProbeError: the destination did not pass the probe made before
// saving it, so it was not saved. Err is the probe's error.
type DestinationProbeError struct {
	Destination string
	Err         error
}

func (e *DestinationProbeError) Error() string {
	return fmt.Sprintf("destination %q does not work, so it was not saved: %s", e.Destination, e.Err.Error())
}
func (e *DestinationProbeError) Unwrap() error { return e.Err }

// CheckDestination checks d's settings without touching anything and puts
// them in the form they are stored in: absolute paths (the daemon may run
// from another directory), the prefix without slashes, the recipient
// trimmed. Every error is a *SettingError.
func CheckDestination(d *Destination) error {
	if err := ValidateName("destination", d.Name); err != nil {
		return settingErr("name", err)
	}
	switch d.Kind {
	case DestinationLocal:
		if d.Local.Dir == "" {
			return settingErr("dir", Userf(ErrInvalid, "give the directory that holds the backups"))
		}
		abs, err := filepath.Abs(d.Local.Dir)
		if err != nil {
			return settingErr("dir", err)
		}
		d.Local.Dir = abs
	case DestinationS3:
		if err := checkS3(d); err != nil {
			return err
		}
	default:
		return settingErr("kind", Userf(ErrInvalid, "destination %s is neither a local directory nor S3", d.Name))
	}
	if d.Layout != "" {
		l, err := ParseLayout(string(d.Layout))
		if err != nil {
			return settingErr("layout", err)
		}
		d.Layout = l
	}
	if err := checkLockSettings(d); err != nil {
		return err
	}
	switch {
	case d.Encrypt.KeyFile != "":
		abs, err := filepath.Abs(d.Encrypt.KeyFile)
		if err != nil {
			return settingErr("keyfile", err)
		}
		d.Encrypt.KeyFile = abs
	case d.Encrypt.Recipient != "":
		if _, err := ParseRecipient(d.Encrypt.Recipient); err != nil {
			return settingErr("recipient", err)
		}
		d.Encrypt.Recipient = strings.TrimSpace(d.Encrypt.Recipient)
	}
	return nil
}

func checkS3(d *Destination) error {
	switch {
	case d.S3.Endpoint == "":
		return settingErr("endpoint", Userf(ErrInvalid, "give the endpoint as HOST:PORT"))
	case strings.Contains(d.S3.Endpoint, "://"):
		return settingErr("endpoint", Advise(Advice{Action: ActionPlainHTTP, Destination: d.Name}, ErrInvalid,
			"give the endpoint as HOST:PORT without a scheme"))
	case d.S3.Bucket == "":
		return settingErr("bucket", Userf(ErrInvalid, "an S3 destination needs a bucket"))
	}
	d.S3.Prefix = strings.Trim(d.S3.Prefix, "/")
	switch d.S3.SSE {
	case "", SSES3, SSEKMS:
	default:
		return settingErr("sse", Userf(ErrInvalid, "server-side encryption %q is neither %s nor %s", d.S3.SSE, SSES3, SSEKMS))
	}
	if d.S3.SSEKMSKeyID != "" && d.S3.SSE != SSEKMS {
		return settingErr("kmskey", Userf(ErrInvalid, "a KMS key goes with %s server-side encryption only", SSEKMS))
	}
	if d.S3.CAFile != "" {
		abs, err := filepath.Abs(d.S3.CAFile)
		if err != nil {
			return settingErr("cafile", err)
		}
		d.S3.CAFile = abs
	}
	return nil
}

// AddDestination checks a new destination and saves it once it works: its
// settings (CheckDestination), that no destination has its name, its key
// file (read for the recipient), its directory (created now, when asked
// for: later a missing directory is an error, as an unmounted disk must not
// fill the root one), then the probe (ProbeDestination with open). Nothing
// is saved unless all pass. A destination given no layout gets
// DefaultLayout. The command line and the console both add destinations
// through it.
func AddDestination(ctx context.Context, cat DestinationCatalog, open StoreOpener, d *Destination) error {
	if err := CheckDestination(d); err != nil {
		return err
	}
	if d.Layout == "" {
		d.Layout = DefaultLayout()
	}
	if _, err := cat.Destination(ctx, d.Name); err == nil {
		return settingErr("name", Userf(ErrExists, "a destination named %q already exists; choose another name", d.Name))
	}
	if err := saveDestination(ctx, open, d); err != nil {
		return err
	}
	return nameTaken(cat.AddDestination(ctx, d))
}

// UpdateDestination checks a changed destination as AddDestination does
// (d.ID, or its name, says which one) and saves it once it works.
func UpdateDestination(ctx context.Context, cat DestinationCatalog, open StoreOpener, d Destination) error {
	return UpdateDestinationWith(ctx, cat, open, d, DestinationSaveOptions{})
}

// DestinationSaveOptions are what a person may accept when saving a
// destination.
type DestinationSaveOptions struct {
	// AllowShortLock saves a lock shorter than what a retention on the
	// destination keeps backups for (ActionAllowShortLock).
	AllowShortLock bool
}

// UpdateDestinationWith is UpdateDestination with opts. A lock is also
// checked against the retentions of the configurations on the destination
// (when cat can list them): one that keeps backups longer than the lock is
// refused unless opts.AllowShortLock.
func UpdateDestinationWith(ctx context.Context, cat DestinationCatalog, open StoreOpener, d Destination, opts DestinationSaveOptions) error {
	if err := CheckDestination(&d); err != nil {
		return err
	}
	// Only a lock that changes is checked: one accepted before stays
	// accepted.
	if cur, err := cat.Destination(ctx, d.Name); d.Lock.Enabled() && !opts.AllowShortLock && (err != nil || cur.Lock != d.Lock) {
		cfgs, err := destinationConfigurations(ctx, cat, d)
		if err != nil {
			return err
		}
		if err := checkLockCoversRetention(d, cfgs); err != nil {
			return err
		}
	}
	if err := saveDestination(ctx, open, &d); err != nil {
		return err
	}
	return nameTaken(cat.UpdateDestination(ctx, d))
}

// saveDestination does what saving d needs besides the catalog: a key file
// chosen (without its recipient yet) is read, a local directory created,
// and d probed.
func saveDestination(ctx context.Context, open StoreOpener, d *Destination) error {
	if d.Encrypt.KeyFile != "" && d.Encrypt.Recipient == "" {
		r, err := IdentityFileRecipient(d.Encrypt.KeyFile)
		if err != nil {
			return settingErr("keyfile", err)
		}
		d.Encrypt.Recipient, d.Encrypt.Passphrase = r, ""
	}
	if d.Kind == DestinationLocal {
		if err := os.MkdirAll(d.Local.Dir, 0o700); err != nil {
			return settingErr("dir", Userf(err, "cannot create %s: %v; check the parent directory's permissions", d.Local.Dir, errors.Unwrap(err)))
		}
	}
	if d.Lock.Enabled() {
		// Said as it is, not as a probe that failed.
		if st, err := open(ctx, *d); err == nil {
			if err := checkBucketLock(ctx, st, *d); SettingOf(err) == "lock" {
				return err
			}
		}
	}
	if err := ProbeDestination(ctx, open, *d); err != nil {
		pe := &DestinationProbeError{Destination: d.Name, Err: err}
		return &UserError{Msg: pe.Error(), Cause: pe}
	}
	return nil
}

// TestDestination probes the destination named name (ProbeDestination),
// giving up after timeout (0: no limit) with an error that says it did not
// answer. It is the command line's `destination test` and the console's
// test key.
func TestDestination(ctx context.Context, cat DestinationCatalog, open StoreOpener, name string, timeout time.Duration) (Destination, error) {
	d, err := cat.Destination(ctx, name)
	if err != nil {
		return d, err
	}
	pctx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		pctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	err = ProbeDestination(pctx, open, d)
	if err != nil && pctx.Err() != nil && ctx.Err() == nil {
		err = Userf(ErrUnreachable, "%s %s did not answer within %s; check that it is up and reachable from this host", d.Kind, d.Describe(), timeout)
	}
	return d, err
}

// RemoveDestination removes the destination named name: the catalog
// refuses while a service or template uses it, or while backups are
// recorded on it unless forgetBackups. The objects it holds are not touched.
func RemoveDestination(ctx context.Context, cat DestinationCatalog, name string, forgetBackups bool) error {
	return cat.RemoveDestination(ctx, name, forgetBackups)
}

// nameTaken points a catalog's refusal of a name in use at the name.
func nameTaken(err error) error {
	if errors.Is(err, ErrExists) {
		return settingErr("name", err)
	}
	return err
}
