package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/s3/storetest"
	"github.com/odoo-backup/odoo-backup/store/localdir"
)

// servers are the MinIO servers the package's tests share, each in buckets
// of its own: one on plain HTTP and one on HTTPS with a self-signed
// certificate, as a private endpoint with its own CA would be; each starts
// with the first test that needs it.
var servers testbed.Servers

func TestMain(m *testing.M) { testbed.Main(m, &servers) }

func sharedMinIO(t testing.TB) *testbed.MinIO { return servers.MinIO(t) }

// testConfig is a Config for a fresh bucket of the shared server, with the
// smallest part size so multipart uploads stay quick to test.
func testConfig(t testing.TB) Config {
	m := sharedMinIO(t)
	return Config{
		S3Settings: core.S3Settings{Endpoint: m.Endpoint, Bucket: m.NewBucket(t), AccessKey: m.AccessKey, SecretKey: core.Secret(m.SecretKey), NoTLS: true},
		PartSize:   MinPartSize,
	}
}

func newTestS3(t testing.TB, cfg Config) *S3 {
	t.Helper()
	s, err := NewS3(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestS3Conformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.ObjectStore { return newTestS3(t, testConfig(t)) })
}

func TestS3ConformancePrefixed(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.ObjectStore {
		cfg := testConfig(t)
		cfg.Prefix = "/odoo/backups/"
		return newTestS3(t, cfg)
	})
}

func TestS3PrefixIsTransparent(t *testing.T) {
	ctx := t.Context()
	cfg := testConfig(t)
	cfg.Prefix = "odoo/backups"
	s := newTestS3(t, cfg)
	if got, want := s.String(), "s3://"+cfg.Endpoint+"/"+cfg.Bucket+"/odoo/backups"; got != want {
		t.Errorf("String() = %q; want %q", got, want)
	}
	raw := s.Client()
	// (Not an object named exactly "odoo/backups": MinIO's file-system
	// layout then hides everything below it.)
	for _, k := range []string{"outside", "odoo/backupsX/y", "odoo/backups/folder/"} {
		if _, err := raw.PutObject(ctx, cfg.Bucket, k, strings.NewReader(""), 0, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put(ctx, "svc/x.zip", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.StatObject(ctx, cfg.Bucket, "odoo/backups/svc/x.zip", minio.StatObjectOptions{}); err != nil {
		t.Errorf("the object is not at its prefixed key in the bucket: %v", err)
	}
	objs, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || objs[0].Key != "svc/x.zip" {
		t.Errorf("List = %+v; want only svc/x.zip: nothing outside the prefix, no folder marker, no prefix in keys", objs)
	}
}

func TestS3ServerSideEncryption(t *testing.T) {
	ctx := t.Context()
	cfg := testConfig(t)
	cfg.SSE = "SSE-S3"
	s := newTestS3(t, cfg)
	small, big := []byte("secret database"), bytes.Repeat([]byte("z"), int(MinPartSize)+10)
	for key, b := range map[string][]byte{"small": small, "big": big} {
		if err := s.Put(ctx, key, bytes.NewReader(b)); err != nil {
			t.Fatalf("Put(%s) with SSE-S3: %v", key, err)
		}
		info, err := s.Client().StatObject(ctx, cfg.Bucket, key, minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Metadata.Get("X-Amz-Server-Side-Encryption"); got != "AES256" {
			t.Errorf("%s: x-amz-server-side-encryption = %q; want AES256", key, got)
		}
		rc, err := s.Get(ctx, key, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("Get(%s) of an encrypted object = %d bytes, %v; want the %d bytes put", key, len(got), err, len(b))
		}
	}
}

// expectSentence checks the class and the exact message of err, and that
// the secret is not in it.
func expectSentence(t *testing.T, op string, err, class error, want, secret string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s succeeded; want %q", op, want)
		return
	}
	if !errors.Is(err, class) {
		t.Errorf("%s = %v; want it to wrap %v", op, err, class)
	}
	if err.Error() != want {
		t.Errorf("%s = %q;\nwant %q", op, err, want)
	}
	if secret != "" && strings.Contains(fmt.Sprintf("%v %+v %#v", err, err, err), secret) {
		t.Errorf("%s error contains the secret key", op)
	}
}

func TestS3WrongCredentials(t *testing.T) {
	ctx := t.Context()
	cfg := testConfig(t)
	secret := cfg.SecretKey.Reveal()

	bad := cfg
	bad.SecretKey = "wrong-secret-key-1234"
	s := newTestS3(t, bad)
	want := fmt.Sprintf("%s refused the secret key of access key %q (signature does not match); check the secret key", cfg.Endpoint, cfg.AccessKey)
	expectSentence(t, "Put with a wrong secret key", s.Put(ctx, "k", strings.NewReader("x")), core.ErrAccessDenied, want, "wrong-secret-key-1234")
	_, err := s.List(ctx, "")
	expectSentence(t, "List with a wrong secret key", err, core.ErrAccessDenied, want, "wrong-secret-key-1234")

	bad = cfg
	bad.AccessKey = "nobody"
	s = newTestS3(t, bad)
	want = fmt.Sprintf("%s does not know the access key \"nobody\" (invalid access key id); check the access key and secret key", cfg.Endpoint)
	expectSentence(t, "Put with an unknown access key", s.Put(ctx, "k", strings.NewReader("x")), core.ErrAccessDenied, want, secret)
	_, err = s.Get(ctx, "k", 0, -1)
	expectSentence(t, "Get with an unknown access key", err, core.ErrAccessDenied, want, secret)
}

func TestS3MissingBucket(t *testing.T) {
	ctx := t.Context()
	cfg := testConfig(t)
	cfg.Bucket = "no-such-bucket"
	s := newTestS3(t, cfg)
	want := fmt.Sprintf("bucket \"no-such-bucket\" does not exist on %s; create it or fix --bucket", cfg.Endpoint)
	secret := cfg.SecretKey.Reveal()
	expectSentence(t, "Put", s.Put(ctx, "k", strings.NewReader("x")), core.ErrNotFound, want, secret)
	expectSentence(t, "Put multipart", s.Put(ctx, "k", bytes.NewReader(make([]byte, MinPartSize+1))), core.ErrNotFound, want, secret)
	_, err := s.Get(ctx, "k", 0, -1)
	expectSentence(t, "Get", err, core.ErrNotFound, want, secret)
	_, err = s.List(ctx, "")
	expectSentence(t, "List", err, core.ErrNotFound, want, secret)
	expectSentence(t, "Delete", s.Delete(ctx, "k"), core.ErrNotFound, want, secret)
	// A HEAD answer has no body; MinIO names the missing bucket in a header.
	_, err = s.Stat(ctx, "k")
	expectSentence(t, "Stat", err, core.ErrNotFound, want, secret)
}

func TestS3MissingObjectMessage(t *testing.T) {
	cfg := testConfig(t)
	s := newTestS3(t, cfg)
	_, err := s.Stat(t.Context(), "svc/x.zip")
	want := fmt.Sprintf("looking up svc/x.zip: the object does not exist in s3://%s/%s", cfg.Endpoint, cfg.Bucket)
	expectSentence(t, "Stat", err, core.ErrNotFound, want, cfg.SecretKey.Reveal())
}

func TestS3Unreachable(t *testing.T) {
	ctx := t.Context()
	ep := testbed.ClosedPort(t)
	want := "cannot reach " + ep + " (connection refused); check the endpoint and that the server is running"
	// Without a region minio-go first asks for the bucket's location,
	// which it does not retry; with one, requests are retried.
	for _, region := range []string{"", "us-east-1"} {
		s := newTestS3(t, Config{S3Settings: core.S3Settings{Endpoint: ep, Region: region, Bucket: "bkt", AccessKey: "abc", SecretKey: "topsecret1234", NoTLS: true}})
		start := time.Now()
		expectSentence(t, "Put", s.Put(ctx, "k", strings.NewReader("x")), core.ErrUnreachable, want, "topsecret1234")
		if d := time.Since(start); d > 15*time.Second {
			t.Errorf("Put to a closed port (region %q) took %v; want a failure within seconds", region, d)
		}
		_, err := s.List(ctx, "")
		expectSentence(t, "List", err, core.ErrUnreachable, want, "topsecret1234")
	}
}

func TestS3TLSToPlainHTTPServer(t *testing.T) {
	cfg := testConfig(t)
	cfg.NoTLS = false
	s := newTestS3(t, cfg)
	want := cfg.Endpoint + " does not answer with TLS; pass --no-tls if it serves plain HTTP, or check the port"
	_, err := s.Stat(t.Context(), "k")
	expectSentence(t, "Stat over TLS to a plain HTTP server", err, core.ErrUnreachable, want, cfg.SecretKey.Reveal())
}

func TestS3UnknownHost(t *testing.T) {
	if testing.Short() {
		t.Skip("asks the resolver")
	}
	s := newTestS3(t, Config{S3Settings: core.S3Settings{Endpoint: "odoo-backup-test.invalid:9000", Bucket: "bkt", NoTLS: true}, MaxRetries: 1})
	_, err := s.Stat(t.Context(), "k")
	if !errors.Is(err, core.ErrUnreachable) || !strings.HasPrefix(err.Error(), "cannot reach odoo-backup-test.invalid:9000 (") {
		t.Errorf("Stat on an unknown host = %v; want \"cannot reach odoo-backup-test.invalid:9000 (...\" wrapping ErrUnreachable", err)
	}
}

func TestNewS3InvalidConfig(t *testing.T) {
	ok := Config{S3Settings: core.S3Settings{Endpoint: "s3.example.com:443", Bucket: "backups"}}
	tests := []struct {
		edit func(*Config)
		msg  string
	}{
		{func(c *Config) { c.Endpoint = "" }, "no S3 endpoint given; pass --endpoint HOST:PORT"},
		{func(c *Config) { c.Endpoint = "https://s3.example.com" },
			`S3 endpoint "https://s3.example.com" must be HOST:PORT without a scheme; drop the scheme (TLS is the default, --no-tls turns it off)`},
		{func(c *Config) { c.Endpoint = "s3.example.com/bucket" }, `S3 endpoint "s3.example.com/bucket" is not HOST:PORT; pass only the host name and port`},
		{func(c *Config) { c.Bucket = "" }, "no bucket given for S3 endpoint s3.example.com:443; pass --bucket"},
		{func(c *Config) { c.Bucket = "-bad" },
			`bucket name "-bad" is not valid (Bucket name contains invalid characters); use 3 to 63 lowercase letters, digits, '.' and '-'`},
		{func(c *Config) { c.Bucket = "b" },
			`bucket name "b" is not valid (Bucket name cannot be shorter than 3 characters); use 3 to 63 lowercase letters, digits, '.' and '-'`},
		{func(c *Config) { c.Prefix = "a/../b" }, `key prefix "a/../b" is not allowed (it has a ".." segment); use '/'-separated names such as odoo/backups`},
		{func(c *Config) { c.SSE = "SSE-C" }, `server-side encryption "SSE-C" is not supported; use SSE-S3, SSE-KMS or none`},
		{func(c *Config) { c.SSEKMSKeyID = "k1" }, `a KMS key id is given but server-side encryption is ""; use --sse kms with --sse-kms-key-id`},
		{func(c *Config) { c.SSE, c.SSEKMSKeyID = "SSE-S3", "k1" }, `a KMS key id is given but server-side encryption is "SSE-S3"; use --sse kms with --sse-kms-key-id`},
		{func(c *Config) { c.SSE, c.SSEKMSKeyID = "SSE-KMS", "k1\nx" }, `KMS key id "k1\nx" has a control character; pass the key's id or ARN as the KMS shows it`},
		{func(c *Config) { c.NoTLS, c.CAFile = true, "/etc/ca.pem" },
			`a CA file (/etc/ca.pem) is given for s3.example.com:443, which is set to plain HTTP; drop --ca-file or --no-tls`},
		{func(c *Config) { c.CAFile = "/nonexistent/ca.pem" },
			`cannot read the CA file /nonexistent/ca.pem (no such file or directory); pass --ca-file with a readable PEM file`},
		{func(c *Config) { c.CAFile = "s3_test.go" },
			`the CA file s3_test.go holds no PEM certificate; pass --ca-file with the PEM (-----BEGIN CERTIFICATE-----) file of the endpoint's certificate authority`},
		{func(c *Config) { c.PartSize = 1 << 20 }, "part size 1048576 is out of range; use between 5242880 (5 MiB) and 5368709120 (5 GiB) bytes"},
	}
	for _, tc := range tests {
		cfg := ok
		tc.edit(&cfg)
		_, err := NewS3(cfg)
		if !errors.Is(err, core.ErrInvalid) || err == nil || err.Error() != tc.msg {
			t.Errorf("NewS3(%+v) = %v;\nwant %q wrapping ErrInvalid", cfg, err, tc.msg)
		}
	}
	if _, err := NewS3(ok); err != nil {
		t.Errorf("NewS3(%+v) = %v; want a store", ok, err)
	}
}

// The classification of errors MinIO does not readily produce.
func TestS3ErrorClasses(t *testing.T) {
	tests := []struct {
		sse   string
		err   error
		class error
		msg   string
	}{
		{"", minio.ErrorResponse{Code: "SlowDown", Message: "Please reduce your request rate.", StatusCode: 503}, core.ErrTransient,
			"s3.example.com:443 failed while uploading k (SlowDown: Please reduce your request rate); try again later"},
		{"", minio.ErrorResponse{Code: "502 Bad Gateway", Message: "502 Bad Gateway", StatusCode: 502}, core.ErrTransient,
			"s3.example.com:443 failed while uploading k (502 Bad Gateway); try again later"},
		{"", minio.ErrorResponse{Code: "AccessDenied", Message: "Access Denied.", StatusCode: 403}, core.ErrAccessDenied,
			`s3.example.com:443 refused the access key "AK" for bucket "backups" while uploading k (access denied); check the access key, the secret key and the key's permissions on the bucket`},
		{"", minio.ErrorResponse{Code: "AuthorizationHeaderMalformed", Region: "eu-west-3", StatusCode: 400}, core.ErrInvalid,
			`bucket "backups" on s3.example.com:443 is in region "eu-west-3", not "us-east-1"; fix --region`},
		{"", minio.ErrorResponse{Code: "XMinioStorageFull", Message: "Storage backend has reached its minimum free drive threshold.", StatusCode: 507}, core.ErrNoSpace,
			"s3.example.com:443 is out of space while uploading k (XMinioStorageFull: Storage backend has reached its minimum free drive threshold); free space on the server or raise the bucket's quota"},
		// MinIO without a KMS refuses SSE-S3 with 501 NotImplemented, which
		// must not pass for a server error worth a retry.
		{"SSE-S3", minio.ErrorResponse{Code: "NotImplemented", Message: "Server side encryption specified but KMS is not configured", StatusCode: 501}, core.ErrInvalid,
			"s3.example.com:443 does not support server-side encryption (NotImplemented: Server side encryption specified but KMS is not configured); turn SSE off for this destination, or enable it on the server"},
		{"", &net.OpError{Op: "dial", Net: "tcp", Err: timeoutError{}}, core.ErrUnreachable,
			"cannot reach s3.example.com:443 (connection timed out); check the endpoint, the firewall and that the server is running"},
		{"", &net.OpError{Op: "read", Net: "tcp", Err: timeoutError{}}, core.ErrTransient,
			"s3.example.com:443 did not answer in time while uploading k; try again later"},
		{"", io.ErrUnexpectedEOF, core.ErrTransient, "the connection to s3.example.com:443 broke while uploading k; try again"},
	}
	for _, tc := range tests {
		s := newTestS3(t, Config{S3Settings: core.S3Settings{Endpoint: "s3.example.com:443", Bucket: "backups", AccessKey: "AK", Region: "us-east-1", SSE: tc.sse}})
		err := s.classify("uploading k", tc.err)
		if !errors.Is(err, tc.class) || !errors.Is(err, tc.err) || err.Error() != tc.msg {
			t.Errorf("classify(%v) = %q;\nwant %q wrapping %v and the cause", tc.err, err, tc.msg, tc.class)
		}
	}
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func TestOpen(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	st, err := Open(ctx, core.Destination{Name: "disk", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: dir}})
	if _, ok := st.(*localdir.Local); err != nil || !ok || st.String() != dir {
		t.Errorf("Open(local %s) = %v, %v; want a *localdir.Local on %s", dir, st, err, dir)
	}
	st, err = Open(ctx, core.Destination{Name: "off", Kind: core.DestinationS3, S3: core.S3Settings{Endpoint: "h:9000", Bucket: "bkt", Prefix: "p/q", SecretKey: "s3cr3t-value"}})
	if _, ok := st.(*S3); err != nil || !ok || st.String() != "s3://h:9000/bkt/p/q" {
		t.Errorf("Open(s3) = %v, %v; want a *S3 named s3://h:9000/bkt/p/q", st, err)
	}
	_, err = Open(ctx, core.Destination{Name: "odd", Kind: "ftp"})
	want := `destination "odd" has unknown kind "ftp"; it must be "s3" or "local"`
	if !errors.Is(err, core.ErrInvalid) || err == nil || err.Error() != want {
		t.Errorf("Open(ftp) = %v; want %q", err, want)
	}
}

// newLocal is a local-directory store in a temporary directory, the other
// implementation Probe is checked against.
func newLocal(t *testing.T) *localdir.Local {
	t.Helper()
	l, err := localdir.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestProbe(t *testing.T) {
	ctx := t.Context()
	cfg := testConfig(t)
	s := newTestS3(t, cfg)
	for _, st := range []core.ObjectStore{s, newLocal(t)} {
		if err := Probe(ctx, st); err != nil {
			t.Errorf("Probe(%s): %v", st, err)
		}
		objs, err := st.List(ctx, "")
		if err != nil || len(objs) != 0 {
			t.Errorf("List(%s) after Probe = %+v, %v; want the probe object gone", st, objs, err)
		}
	}

	missing := cfg
	missing.Bucket = "not-there"
	ms := newTestS3(t, missing)
	want := fmt.Sprintf("cannot write a test object to %s: bucket \"not-there\" does not exist on %s; create it or fix --bucket", ms, cfg.Endpoint)
	expectSentence(t, "Probe of a missing bucket", Probe(ctx, ms), core.ErrNotFound, want, cfg.SecretKey.Reveal())

	wrong := cfg
	wrong.SecretKey = "not-the-secret-key"
	ws := newTestS3(t, wrong)
	want = fmt.Sprintf("cannot write a test object to %s: %s refused the secret key of access key %q (signature does not match); check the secret key", ws, cfg.Endpoint, cfg.AccessKey)
	expectSentence(t, "Probe with a wrong secret", Probe(ctx, ws), core.ErrAccessDenied, want, "not-the-secret-key")
}

// A store that reads back other bytes than it was given.
type corruptingStore struct{ core.ObjectStore }

func (c corruptingStore) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	rc, err := c.ObjectStore.Get(ctx, key, offset, length)
	if err != nil {
		return nil, err
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	return io.NopCloser(bytes.NewReader(b[1:])), nil
}

func TestProbeDetectsCorruption(t *testing.T) {
	l := newLocal(t)
	err := Probe(t.Context(), corruptingStore{l})
	if !errors.Is(err, core.ErrCorrupt) || !strings.HasPrefix(err.Error(), "the test object read back from "+l.String()+" differs from what was written") {
		t.Errorf("Probe of a corrupting store = %v; want a sentence about the difference wrapping ErrCorrupt", err)
	}
	if objs, _ := l.List(t.Context(), ""); len(objs) != 0 {
		t.Errorf("probe object left behind: %+v", objs)
	}
}

// Keys are listed in byte order, whatever their path structure ('-' and
// '.' sort before '/').
func TestS3ListOrder(t *testing.T) {
	ctx := t.Context()
	s := newTestS3(t, testConfig(t))
	for _, k := range []string{"a/b", "a-b", "a.b"} {
		if err := s.Put(ctx, k, strings.NewReader(k)); err != nil {
			t.Fatal(err)
		}
	}
	objs, err := s.List(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	if want := []string{"a-b", "a.b", "a/b"}; !slices.Equal(keys, want) {
		t.Errorf("List(a) = %q; want %q", keys, want)
	}
}

// pausing delivers b, pausing once after n bytes until release is closed.
type pausing struct {
	b       []byte
	n       int
	paused  chan struct{}
	release chan struct{}
}

func (p *pausing) Read(buf []byte) (int, error) {
	if p.n == 0 && p.paused != nil {
		close(p.paused)
		p.paused = nil
		<-p.release
	}
	if len(p.b) == 0 {
		return 0, io.EOF
	}
	lim := len(buf)
	if p.n > 0 {
		lim = min(lim, p.n)
	}
	n := copy(buf[:lim], p.b)
	p.b = p.b[n:]
	if p.n > 0 {
		p.n -= n
	}
	return n, nil
}

// Incomplete sees the multipart upload of a Put in progress and the one a
// dead process left behind, so the suite's "nothing left over" checks can
// fail; once the Put ends, its upload is gone.
func TestS3IncompleteUploads(t *testing.T) {
	ctx := t.Context()
	cfg := testConfig(t)
	cfg.Prefix = "pfx"
	s := newTestS3(t, cfg)

	r := &pausing{b: make([]byte, 2*MinPartSize), n: MinPartSize + MinPartSize/2, paused: make(chan struct{}), release: make(chan struct{})}
	paused := r.paused
	done := make(chan error, 1)
	go func() { done <- s.Put(ctx, "svc/big.zip", r) }()
	var once sync.Once
	release := func() { once.Do(func() { close(r.release) }) }
	t.Cleanup(release)
	select {
	case <-paused:
	case err := <-done:
		t.Fatalf("Put returned %v before its reader finished", err)
	}
	left, err := s.Incomplete(ctx, "")
	if err != nil || !slices.Equal(left, []string{"svc/big.zip"}) {
		t.Errorf("Incomplete during a multipart Put = %q, %v; want [svc/big.zip]", left, err)
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if left, err := s.Incomplete(ctx, ""); err != nil || len(left) != 0 {
		t.Errorf("Incomplete after the Put = %q, %v; want none", left, err)
	}

	core := minio.Core{Client: s.Client()}
	if _, err := core.NewMultipartUpload(ctx, cfg.Bucket, "pfx/svc/abandoned.zip", minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	left, err = s.Incomplete(ctx, "svc/")
	if err != nil || !slices.Equal(left, []string{"svc/abandoned.zip"}) {
		t.Errorf("Incomplete with an abandoned upload = %q, %v; want [svc/abandoned.zip]", left, err)
	}
	// What recovery after a crash does: abort what was left of that key.
	if err := s.CleanupIncomplete(ctx, "svc/abandoned.zip"); err != nil {
		t.Fatal(err)
	}
	if left, err := s.Incomplete(ctx, ""); err != nil || len(left) != 0 {
		t.Errorf("Incomplete after CleanupIncomplete = %q, %v; want none", left, err)
	}
}
