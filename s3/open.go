package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/odoo-backup/odoo-backup/core"
)

var _ core.StoreOpener = Open

// Open builds the object store of a destination. It does not contact the
// storage; Probe does.
func Open(_ context.Context, d core.Destination) (core.ObjectStore, error) {
	switch d.Kind {
	case core.DestinationLocal:
		return NewLocal(d.Dir)
	case core.DestinationS3:
		// A secret kept by reference is read now, at each use.
		secretKey, err := d.SecretKey.Resolve(fmt.Sprintf("the secret key of destination %q", d.Name))
		if err != nil {
			return nil, err
		}
		return NewS3(Config{
			Endpoint:    d.Endpoint,
			Region:      d.Region,
			Bucket:      d.Bucket,
			Prefix:      d.Prefix,
			AccessKey:   d.AccessKey,
			SecretKey:   secretKey,
			NoTLS:       d.NoTLS,
			SSE:         d.SSE,
			SSEKMSKeyID: d.SSEKMSKeyID,
			CAFile:      d.CAFile,
		})
	}
	return nil, userErr(core.ErrInvalid, nil, "destination %q has unknown kind %q; it must be %q or %q", d.Name, d.Kind, core.DestinationS3, core.DestinationLocal)
}

// ProbeKeyPrefix starts the keys of Probe's test objects.
const ProbeKeyPrefix = ".odoo-backup-probe-"

// Probe checks that st works end to end: it writes a small object under a
// unique key, reads it back, compares, and deletes it. The error is one
// sentence saying which step failed and why, wrapping the store's error.
func Probe(ctx context.Context, st core.ObjectStore) error {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	key := ProbeKeyPrefix + hex.EncodeToString(rnd[:])
	want := []byte("odoo-backup probe " + key + "\n")

	if err := st.Put(ctx, key, bytes.NewReader(want)); err != nil {
		return core.Userf(err, "cannot write a test object to %s: %v", st, err)
	}
	got, readErr := probeRead(ctx, st, key)
	// Delete even when reading failed, so no probe object stays behind.
	delErr := st.Delete(context.WithoutCancel(ctx), key)
	switch {
	case readErr != nil:
		return core.Userf(readErr, "wrote a test object to %s but cannot read it back: %v", st, readErr)
	case !bytes.Equal(got, want):
		return userErr(core.ErrCorrupt, nil,
			"the test object read back from %s differs from what was written (%d bytes instead of %d); check the storage server", st, len(got), len(want))
	case delErr != nil:
		return core.Userf(delErr, "wrote and read a test object on %s but cannot delete it (rotation needs to delete): %v", st, delErr)
	}
	return nil
}

func probeRead(ctx context.Context, st core.ObjectStore, key string) ([]byte, error) {
	rc, err := st.Get(ctx, key, 0, -1)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, 1<<20))
}
