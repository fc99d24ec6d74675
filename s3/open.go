package s3

import (
	"context"
	"fmt"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/store/localdir"
)

var _ core.StoreOpener = Open

// Open builds the object store of a destination. It does not contact the
// storage; Probe does. The store keeps to the destination's bandwidth
// limits, shared with every other store of it this process opens
// (core.DestinationLimiters).
func Open(_ context.Context, d core.Destination) (core.ObjectStore, error) {
	switch d.Kind {
	case core.DestinationLocal:
		l, err := localdir.NewLocal(d.Local.Dir)
		if err != nil {
			return nil, err
		}
		l.SetLimits(core.DestinationLimiters(d))
		return l, nil
	case core.DestinationS3:
		// A secret kept by reference is read now, at each use.
		settings := d.S3
		var err error
		settings.SecretKey, err = d.S3.SecretKey.Resolve(fmt.Sprintf("the secret key of destination %q", d.Name))
		if err != nil {
			return nil, err
		}
		s, err := NewS3(Config{S3Settings: settings, LockMode: d.Lock.Mode, LockFor: d.Lock.Duration()})
		if err != nil {
			return nil, err
		}
		s.SetLimits(core.DestinationLimiters(d))
		return s, nil
	}
	return nil, userErr(core.ErrInvalid, nil, "destination %q has unknown kind %q; it must be %q or %q", d.Name, d.Kind, core.DestinationS3, core.DestinationLocal)
}

// OpenLockingFor is Open with every lock lasting for instead of the
// destination's days: tests lock objects for seconds.
func OpenLockingFor(lockFor time.Duration) core.StoreOpener {
	return func(ctx context.Context, d core.Destination) (core.ObjectStore, error) {
		if d.Kind != core.DestinationS3 || !d.Lock.Enabled() {
			return Open(ctx, d)
		}
		settings := d.S3
		var err error
		settings.SecretKey, err = d.S3.SecretKey.Resolve(fmt.Sprintf("the secret key of destination %q", d.Name))
		if err != nil {
			return nil, err
		}
		return NewS3(Config{S3Settings: settings, LockMode: d.Lock.Mode, LockFor: lockFor})
	}
}

// ProbeKeyPrefix starts the keys of Probe's test objects.
const ProbeKeyPrefix = core.ProbeKeyPrefix

// Probe checks that st works end to end (core.ProbeStore): it writes a small
// object, reads it back, compares, and deletes it.
func Probe(ctx context.Context, st core.ObjectStore) error { return core.ProbeStore(ctx, st) }
