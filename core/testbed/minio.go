package testbed

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// MinIOVersion is the pinned github.com/minio/minio module version the test
// bed runs; EnsureMinIO builds exactly this one.
const MinIOVersion = "v0.0.0-20260212201848-7aac2a2c5b7c"

// minioStartTimeout bounds how long a starting server may take to answer its
// health check; it normally takes under a second.
const minioStartTimeout = 60 * time.Second

// MinIOBinary returns the path of the minio server binary without building
// it: $ODOO_BACKUP_MINIO if set, else the one EnsureMinIO built in
// <user cache dir>/odoo-backup/minio-<MinIOVersion>/minio. Where that was
// never built the error is ErrUnavailable.
func MinIOBinary() (string, error) { return minioTool.binary() }

// EnsureMinIO returns the path of the minio server binary as MinIOBinary
// does, building it with `go install` first where it is missing (a few
// minutes); the setup command calls it, tests never do. Concurrent callers,
// in this process or in others, build it only once.
func EnsureMinIO(ctx context.Context) (string, error) { return minioTool.ensure(ctx) }

// MinIO is a MinIO server run by a test: one data directory on 127.0.0.1,
// with random root credentials.
type MinIO struct {
	Endpoint  string // host:port of the S3 API
	AccessKey string
	SecretKey string
	// CAFile is, for a server from NewMinIOTLS, the PEM file of its
	// self-signed certificate, which clients must trust; "" for plain HTTP.
	CAFile string

	kmsKey  string // static KMS key, so SSE-S3 and SSE-KMS work
	certs   string // --certs-dir of a TLS server
	bin     string
	dataDir string
	logPath string
	ownsDir bool
	console string

	mu   sync.Mutex
	proc *minioProcess
}

// minioProcess is one run of the server.
type minioProcess struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed once Wait returned
	waitErr error
}

// StartMinIO starts a MinIO server of the test's own and stops it (and
// removes its data) when the test ends; a test that may share one uses
// Servers.MinIO. Where MinIO is not built the test skips (fails under
// CI=true), as Need says.
func StartMinIO(tb testing.TB) *MinIO {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), minioStartTimeout)
	defer cancel()
	m, err := NewMinIO(ctx)
	Need(tb, "MinIO", err)
	tb.Cleanup(func() {
		if err := m.Close(); err != nil {
			tb.Errorf("stop MinIO: %v", err)
		}
	})
	return m
}

// NewMinIO starts a MinIO server in a fresh temporary directory; Close stops
// it and removes the directory. It never builds minio (see MinIOBinary).
func NewMinIO(ctx context.Context) (*MinIO, error) { return newMinIO(ctx, false) }

// NewMinIOTLS starts a MinIO server as NewMinIO does, but serving HTTPS
// only, with a self-signed certificate for 127.0.0.1 and localhost made for
// it (its PEM file is CAFile).
func NewMinIOTLS(ctx context.Context) (*MinIO, error) { return newMinIO(ctx, true) }

// KMSKeyName is the name of the static KMS key the servers run with, the key
// id of SSE-KMS requests.
const KMSKeyName = "odoo-backup-test"

func newMinIO(ctx context.Context, withTLS bool) (*MinIO, error) {
	bin, err := MinIOBinary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "odoo-backup-minio-")
	if err != nil {
		return nil, fmt.Errorf("cannot create a directory for MinIO: %w", err)
	}
	m := &MinIO{
		AccessKey: "test-" + minioRandomHex(6),
		SecretKey: minioRandomHex(16),
		kmsKey:    KMSKeyName + ":" + base64.StdEncoding.EncodeToString([]byte(minioRandomHex(16))),
		bin:       bin,
		dataDir:   filepath.Join(dir, "data"),
		logPath:   filepath.Join(dir, "minio.log"),
		ownsDir:   true,
	}
	if withTLS {
		m.certs = filepath.Join(dir, "certs")
		if m.CAFile, err = writeSelfSignedCert(m.certs); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	// A free port found by listening on :0 can be taken by someone else
	// before minio binds it; a few fresh ports make that harmless.
	for attempt := 0; ; attempt++ {
		ports, err := minioFreePorts(2)
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		m.Endpoint = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
		m.console = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
		err = m.start(ctx)
		if err == nil {
			return m, nil
		}
		if attempt < 3 && strings.Contains(err.Error(), "already in use") {
			continue
		}
		os.RemoveAll(dir)
		return nil, err
	}
}

// Start restarts a stopped server on the same port and data directory, as
// an endpoint coming back after an outage.
func (m *MinIO) Start() error {
	ctx, cancel := context.WithTimeout(context.Background(), minioStartTimeout)
	defer cancel()
	return m.start(ctx)
}

func (m *MinIO) start(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc != nil {
		return fmt.Errorf("MinIO on %s is already running", m.Endpoint)
	}
	logFile, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("cannot open the MinIO log: %w", err)
	}
	defer logFile.Close() // the child holds its own descriptor
	var logStart int64
	if fi, err := logFile.Stat(); err == nil {
		logStart = fi.Size()
	}

	cmd := exec.Command(m.bin, "server", m.dataDir,
		"--address", m.Endpoint, "--console-address", m.console, "--quiet", "--anonymous")
	if m.certs != "" {
		cmd.Args = append(cmd.Args, "--certs-dir", m.certs)
	}
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+m.AccessKey,
		"MINIO_ROOT_PASSWORD="+m.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_CI_CD=on", // no root-drive checks, no waiting on other nodes
	)
	if m.kmsKey != "" {
		cmd.Env = append(cmd.Env, "MINIO_KMS_SECRET_KEY="+m.kmsKey)
	}
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// Should the test binary die without running its cleanups (a -timeout
	// panic), the kernel takes the server down with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot run %s: %w", m.bin, err)
	}
	p := &minioProcess{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	m.proc = p

	if err := m.awaitReady(ctx, p); err != nil {
		m.proc = nil
		_ = cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("MinIO did not start on %s: %v; its output: %s", m.Endpoint, err, m.logTail(logStart))
	}
	return nil
}

// awaitReady polls the liveness endpoint until the server answers 200
// without marking itself offline (it does so until its object layer is up).
func (m *MinIO) awaitReady(ctx context.Context, p *minioProcess) error {
	ctx, cancel := context.WithTimeout(ctx, minioStartTimeout)
	defer cancel()
	tr, err := m.transport()
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: tr}
	url := m.scheme() + "://" + m.Endpoint + "/minio/health/live"
	delay := 5 * time.Millisecond
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && resp.Header.Get("X-Minio-Server-Status") != "offline" {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("the server exited (%v)", p.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("no healthy answer from %s before the deadline", url)
		case <-time.After(delay):
		}
		delay = min(delay*2, 200*time.Millisecond)
	}
}

// Stop shuts the server down gracefully, keeping its data and port for Start.
func (m *MinIO) Stop() error { return m.halt(syscall.SIGTERM) }

// Kill ends the server abruptly (SIGKILL), as a crash would.
func (m *MinIO) Kill() error { return m.halt(syscall.SIGKILL) }

// Pause freezes the server (SIGSTOP): it keeps its port and the kernel
// still accepts connections, but nothing answers and nothing is read, as an
// endpoint that hangs. Resume lets it go on.
func (m *MinIO) Pause() error { return m.signal(syscall.SIGSTOP) }

// Resume continues a paused server (SIGCONT).
func (m *MinIO) Resume() error { return m.signal(syscall.SIGCONT) }

func (m *MinIO) signal(sig syscall.Signal) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc == nil {
		return fmt.Errorf("MinIO on %s is not running", m.Endpoint)
	}
	if err := m.proc.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("cannot signal MinIO: %w", err)
	}
	return nil
}

func (m *MinIO) halt(sig syscall.Signal) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.proc
	if p == nil {
		return nil
	}
	m.proc = nil
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("cannot signal MinIO: %w", err)
	}
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("MinIO on %s ignored %v for 15s and was killed", m.Endpoint, sig)
	}
	return nil
}

// Close kills the server and, for a server made by NewMinIO, removes its
// data directory.
func (m *MinIO) Close() error {
	err := m.Kill()
	if m.ownsDir {
		if rerr := os.RemoveAll(filepath.Dir(m.dataDir)); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}

// Client returns a minio-go client logged in as the root user, for tests
// that look behind a store (multipart uploads, raw keys).
func (m *MinIO) Client() (*minio.Client, error) {
	tr, err := m.transport()
	if err != nil {
		return nil, err
	}
	return minio.New(m.Endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(m.AccessKey, m.SecretKey, ""),
		Secure:    m.CAFile != "",
		Transport: tr,
	})
}

func (m *MinIO) scheme() string {
	if m.CAFile != "" {
		return "https"
	}
	return "http"
}

// transport trusts the server's own certificate, if it has one.
func (m *MinIO) transport() (*http.Transport, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if m.CAFile != "" {
		crt, err := os.ReadFile(m.CAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(crt)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return tr, nil
}

// writeSelfSignedCert writes a fresh self-signed certificate for 127.0.0.1
// and localhost, and its key, as dir/public.crt and dir/private.key (the
// names MinIO's --certs-dir expects), and returns the certificate's path.
func writeSelfSignedCert(dir string) (string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return "", err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "test MinIO of odoo-backup"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("cannot create MinIO's certificate directory: %w", err)
	}
	crt := filepath.Join(dir, "public.crt")
	if err := os.WriteFile(crt, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "private.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return "", err
	}
	return crt, nil
}

// CreateBucket creates a bucket.
func (m *MinIO) CreateBucket(ctx context.Context, name string) error {
	return m.makeBucket(ctx, name, minio.MakeBucketOptions{})
}

// CreateLockBucket creates a bucket with Object Lock enabled (and so
// versioning), as `mc mb --with-lock` does.
func (m *MinIO) CreateLockBucket(ctx context.Context, name string) error {
	return m.makeBucket(ctx, name, minio.MakeBucketOptions{ObjectLocking: true})
}

func (m *MinIO) makeBucket(ctx context.Context, name string, opts minio.MakeBucketOptions) error {
	c, err := m.Client()
	if err != nil {
		return err
	}
	if err := c.MakeBucket(ctx, name, opts); err != nil {
		return fmt.Errorf("create bucket %q on %s: %w", name, m.Endpoint, err)
	}
	return nil
}

var minioBucketSeq atomic.Int64

// NewBucket creates a bucket with a unique name for the test and returns
// the name.
func (m *MinIO) NewBucket(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("test-%d-%s", minioBucketSeq.Add(1), minioRandomHex(4))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.CreateBucket(ctx, name); err != nil {
		tb.Fatal(err)
	}
	return name
}

// NewLockBucket is NewBucket with Object Lock enabled on the bucket. Its
// objects may stay locked past the test: MinIO's directory is the test
// bed's to remove.
func (m *MinIO) NewLockBucket(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("lock-%d-%s", minioBucketSeq.Add(1), minioRandomHex(4))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.CreateLockBucket(ctx, name); err != nil {
		tb.Fatal(err)
	}
	return name
}

// logTail is the end of what the server wrote since offset.
func (m *MinIO) logTail(offset int64) string {
	b, err := os.ReadFile(m.logPath)
	if err != nil {
		return fmt.Sprintf("(log unreadable: %v)", err)
	}
	if offset <= int64(len(b)) {
		b = b[offset:]
	}
	return minioTail(b, 2000)
}

func minioTail(b []byte, n int) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "(nothing)"
	}
	if len(b) > n {
		b = append([]byte("..."), b[len(b)-n:]...)
	}
	return string(b)
}

func minioFreePorts(n int) ([]int, error) {
	var ports []int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("no free port on 127.0.0.1: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func minioRandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
