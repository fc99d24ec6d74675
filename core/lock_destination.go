package core

import (
	"context"
	"fmt"
	"time"
)

// ActionCreateLockBucket: a destination was to lock its objects, but its
// bucket has no Object Lock, which only a bucket's creation can turn on.
// Advice.Destination is the destination, Advice.Detail the bucket.
const ActionCreateLockBucket Action = "create-lock-bucket"

// ActionAllowShortLock: a destination's lock is shorter than what a
// retention on it keeps backups for. Advice.Destination is the destination,
// Advice.Service the service whose configuration keeps longest, Advice.Detail
// the days that configuration keeps backups.
const ActionAllowShortLock Action = "allow-short-lock"

// MaxLockDays bounds a destination's lock: a hundred years.
const MaxLockDays = 36500

// checkLockSettings checks d.Lock without touching anything.
func checkLockSettings(d *Destination) error {
	l := d.Lock
	switch l.Mode {
	case LockNone:
		if l.Days != 0 {
			return settingErr("lock", Userf(ErrInvalid, "a lock of %d days needs a mode, %s or %s", l.Days, LockGovernance, LockCompliance))
		}
		return nil
	case LockGovernance, LockCompliance:
	default:
		return settingErr("lock", Userf(ErrInvalid, "Object Lock mode %q is neither %s nor %s", l.Mode, LockGovernance, LockCompliance))
	}
	switch {
	case d.Kind != DestinationS3:
		return settingErr("lock", Userf(ErrInvalid, "a local directory cannot lock what it holds, since Object Lock is a feature of S3 buckets; lock an S3 destination whose bucket has Object Lock enabled instead"))
	case l.Days <= 0:
		return settingErr("lock", Userf(ErrInvalid, "an Object Lock needs a number of days greater than 0, not %d", l.Days))
	case l.Days > MaxLockDays:
		return settingErr("lock", Userf(ErrInvalid, "an Object Lock of %d days is longer than the %d days (100 years) allowed; give fewer days", l.Days, MaxLockDays))
	}
	return nil
}

// checkBucketLock refuses a destination that is to lock its objects in a
// bucket without Object Lock.
func checkBucketLock(ctx context.Context, st ObjectStore, d Destination) error {
	if !d.Lock.Enabled() {
		return nil
	}
	l, ok := lockerOf(st)
	if !ok {
		return settingErr("lock", Userf(ErrInvalid, "the store of destination %q cannot lock objects", d.Name))
	}
	on, err := l.BucketLockEnabled(ctx)
	if err != nil {
		return err
	}
	if !on {
		return settingErr("lock", Advise(Advice{Action: ActionCreateLockBucket, Destination: d.Name, Detail: d.S3.Bucket}, ErrInvalid,
			"bucket %q on %s has no Object Lock, so nothing written there could be locked and nothing was saved", d.S3.Bucket, d.S3.Endpoint))
	}
	return nil
}

// LockKeepConfigurations are the configurations a lock is compared with.
type LockKeepConfigurations interface {
	AllConfigurations(ctx context.Context) ([]Configuration, error)
}

// checkLockCoversRetention refuses a lock on d shorter than what a
// retention of a configuration on d keeps its backups for (LongestKeep):
// the backups kept longer would stay deletable after the lock ends.
func checkLockCoversRetention(d Destination, cfgs []Configuration) error {
	if !d.Lock.Enabled() {
		return nil
	}
	lock := d.Lock.Duration()
	var worst *Configuration
	var longest time.Duration
	for i, c := range cfgs {
		if c.Destination != d.Name {
			continue
		}
		if keep := LongestKeep(c.Retention, c.Frequency); keep > lock && keep > longest {
			worst, longest = &cfgs[i], keep
		}
	}
	if worst == nil {
		return nil
	}
	days := int((longest + 24*time.Hour - 1) / (24 * time.Hour))
	return settingErr("lock", Advise(Advice{Action: ActionAllowShortLock, Destination: d.Name, Service: worst.Service, Detail: fmt.Sprint(days)}, ErrInvalid,
		"a lock of %d days on %s is shorter than the %d days the retention of %s there (%s, %s) keeps backups, so those backups would stay deletable after their first %d days",
		d.Lock.Days, d.Name, days, worst.Service, worst.Retention, worst.Frequency, d.Lock.Days))
}

// destinationConfigurations are the configurations on d the catalog
// holds, when it can list them.
func destinationConfigurations(ctx context.Context, cat any, d Destination) ([]Configuration, error) {
	lc, ok := cat.(LockKeepConfigurations)
	if !ok {
		return nil, nil
	}
	all, err := lc.AllConfigurations(ctx)
	if err != nil {
		return nil, err
	}
	var out []Configuration
	for _, c := range all {
		if c.Destination == d.Name {
			out = append(out, c)
		}
	}
	return out, nil
}

// checkConfigurationLock refuses a configuration of service whose retention
// keeps backups longer than the lock of its destination.
func checkConfigurationLock(ctx context.Context, cat any, service string, tc TemplateConfiguration) error {
	dc, ok := cat.(interface {
		Destination(ctx context.Context, name string) (Destination, error)
	})
	if !ok {
		return nil
	}
	d, err := dc.Destination(ctx, tc.Destination)
	if err != nil || !d.Lock.Enabled() {
		return nil // an unknown destination is refused when saved
	}
	err = checkLockCoversRetention(d, []Configuration{{Service: service, Destination: d.Name, Frequency: tc.Frequency, Retention: tc.Retention}})
	if err != nil {
		return settingErr("retention", err)
	}
	return nil
}
