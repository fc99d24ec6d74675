package testbed

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

func TestMinIOBucketStopStart(t *testing.T) {
	m := StartMinIO(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	bucket := m.NewBucket(t)
	c, err := m.Client()
	if err != nil {
		t.Fatal(err)
	}
	ok, err := c.BucketExists(ctx, bucket)
	if err != nil || !ok {
		t.Fatalf("BucketExists(%q) = %v, %v; want true, nil", bucket, ok, err)
	}
	want := []byte("kept across restarts")
	if _, err := c.PutObject(ctx, bucket, "k", bytes.NewReader(want), int64(len(want)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}

	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
	if conn, err := net.DialTimeout("tcp", m.Endpoint, time.Second); err == nil {
		conn.Close()
		t.Fatalf("%s still accepts connections after Stop", m.Endpoint)
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial %s after Stop: %v; want connection refused", m.Endpoint, err)
	}

	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	obj, err := c.GetObject(ctx, bucket, "k", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	obj.Close()
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("object after restart = %q, %v; want %q", got, err, want)
	}

	if err := m.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := m.Kill(); err != nil {
		t.Fatalf("second Kill: %v; want nil", err)
	}
}

// A server that cannot start reports why, from its own output.
func TestMinIOStartFailureShowsOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a MinIO binary")
	}
	bin, err := EnsureMinIO(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ports, err := minioFreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	m := &MinIO{
		Endpoint:  net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
		console:   net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1])),
		AccessKey: "ab",    // too short: minio refuses to start
		SecretKey: "short", // likewise
		bin:       bin,
		dataDir:   filepath.Join(dir, "data"),
		logPath:   filepath.Join(dir, "minio.log"),
	}
	err = m.Start()
	if err == nil {
		m.Kill()
		t.Fatal("Start with invalid credentials succeeded; want an error")
	}
	t.Logf("Start error: %v", err)
	if !strings.Contains(err.Error(), "credentials") {
		t.Errorf("Start error = %q; want it to quote minio's complaint about the credentials", err)
	}
}
