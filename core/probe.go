package core

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
)

// ProbeKeyPrefix starts the keys of ProbeStore's test objects.
const ProbeKeyPrefix = ".odoo-backup-probe-"

// ProbeDestination opens d's store with open and probes it. It is the check
// made before a destination is saved, by `destination test` and by the
// console's test key: one function, so they all mean the same by "works".
func ProbeDestination(ctx context.Context, open StoreOpener, d Destination) error {
	st, err := open(ctx, d)
	if err != nil {
		return err
	}
	if err := checkBucketLock(ctx, st, d); err != nil {
		return err
	}
	return ProbeStore(ctx, st)
}

// ProbeStore checks that st works end to end: it writes a small object under
// a unique key, reads it back, compares, and deletes it. The error is one
// sentence saying which step failed and why, wrapping the store's error.
func ProbeStore(ctx context.Context, st ObjectStore) error {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	key := ProbeKeyPrefix + hex.EncodeToString(rnd[:])
	want := []byte("probe object of odoo-backup: " + key + "\n")

	// The test object is deleted at once: an Object Lock must not keep it.
	if err := st.Put(WithoutRetention(ctx), key, bytes.NewReader(want)); err != nil {
		return Userf(err, "cannot write a test object to %s: %v", st, err)
	}
	got, readErr := probeRead(ctx, st, key)
	// Delete even when reading failed, so no probe object stays behind.
	delErr := st.Delete(context.WithoutCancel(ctx), key)
	switch {
	case readErr != nil:
		return Userf(readErr, "wrote a test object to %s but cannot read it back: %v", st, readErr)
	case !bytes.Equal(got, want):
		return Userf(ErrCorrupt,
			"the test object read back from %s differs from what was written (%d bytes instead of %d); check the storage server", st, len(got), len(want))
	case delErr != nil:
		return Userf(delErr, "wrote and read a test object on %s but cannot delete it (rotation needs to delete): %v", st, delErr)
	}
	return nil
}

func probeRead(ctx context.Context, st ObjectStore, key string) ([]byte, error) {
	rc, err := st.Get(ctx, key, 0, -1)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, 1<<20))
}
