package s3

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// The stall bound, against a MinIO of its own (paused with SIGSTOP): a
// reader that pauses between reads for longer than the bound is not cut
// off (only waiting on the endpoint counts), while every operation on the
// frozen endpoint fails within the bound, retries included, with one
// sentence naming it.
func TestStallBound(t *testing.T) {
	m := testbed.StartMinIO(t)
	t.Cleanup(func() { m.Resume() })
	const stall = time.Second
	st, err := NewS3(Config{
		S3Settings:   core.S3Settings{Endpoint: m.Endpoint, Bucket: m.NewBucket(t), AccessKey: m.AccessKey, SecretKey: core.Secret(m.SecretKey), NoTLS: true},
		PartSize:     MinPartSize,
		StallTimeout: stall,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	data := make([]byte, 8<<20)
	rand.Read(data)
	if err := st.Put(ctx, "big.bin", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}

	// A slow consumer (a restore busy elsewhere) pauses 2.5 bounds.
	rc, err := st.Get(ctx, "big.bin", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 1024)
	if _, err := io.ReadFull(rc, first); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * stall / 2) // the pause under test, not a wait for something
	rest, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(append(first, rest...), data) {
		t.Fatalf("a reader that paused for %s got %d bytes (%v), want all %d", 5*stall/2, 1024+len(rest), err, len(data))
	}

	if err := m.Pause(); err != nil {
		t.Fatal(err)
	}
	for _, op := range []struct {
		name string
		run  func() error
	}{
		{"stat", func() error { _, err := st.Stat(ctx, "big.bin"); return err }},
		{"put", func() error { return st.Put(ctx, "new.bin", bytes.NewReader(data[:3<<20])) }},
		{"get", func() error {
			rc, err := st.Get(ctx, "big.bin", 0, -1)
			if err == nil {
				_, err = io.ReadAll(rc)
				rc.Close()
			}
			return err
		}},
		{"list", func() error { _, err := st.List(ctx, ""); return err }},
		{"delete", func() error { return st.Delete(ctx, "big.bin") }},
	} {
		began := time.Now()
		err := op.run()
		took := time.Since(began)
		if err == nil || !errors.Is(err, core.ErrUnreachable) || !strings.Contains(err.Error(), "the S3 endpoint "+m.Endpoint+" stopped answering") ||
			!strings.Contains(err.Error(), "nothing moved for 1s") {
			t.Errorf("%s on a frozen endpoint: %v; want the stall, naming %s", op.name, err, m.Endpoint)
		}
		// The bound plus the dial and scheduling slack; minio-go's retries
		// alone would take several bounds.
		if took > 10*stall { // generous: a loaded CI machine must not fail it
			t.Errorf("%s on a frozen endpoint took %s, want about the %s bound", op.name, took, stall)
		}
	}
}
