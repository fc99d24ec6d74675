package testbed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// ErrUnavailable marks the error of a server this machine cannot run (its
// binaries are missing), as opposed to one that was there and failed to
// start: the first skips a test outside CI, the second always fails it.
var ErrUnavailable = errors.New("not installed on this machine")

// unavailable wraps why a server cannot be had so that errors.Is(err,
// ErrUnavailable) holds and the message stays the reason itself.
type unavailable struct{ err error }

func markUnavailable(err error) error { return unavailable{err} }

func (u unavailable) Error() string        { return u.err.Error() }
func (u unavailable) Unwrap() error        { return u.err }
func (u unavailable) Is(target error) bool { return target == ErrUnavailable }

// SetupCommand installs every server the tests use; a test that finds one
// missing tells its reader to run it.
const SetupCommand = "go run ./cmd/testbed setup"

// Servers is the PostgreSQL cluster and the MinIO servers that the tests of
// one package share, each started by the first test that asks for it, so a
// test that needs none starts none. Safe for parallel tests. A package
// declares one (var servers testbed.Servers) and stops it in TestMain with
// Main.
type Servers struct {
	pg       lazy[*Postgres]
	minio    lazy[*MinIO]
	minioTLS lazy[*MinIO]
}

// Postgres is the package's PostgreSQL cluster, started on first use; each
// test makes its own databases in it. Where PostgreSQL is not installed the
// test skips (fails under CI=true).
func (s *Servers) Postgres(tb testing.TB) *Postgres {
	tb.Helper()
	return s.pg.get(tb, "PostgreSQL", startTimeout, NewPostgres)
}

// MinIO is the package's MinIO server on plain HTTP, started on first use;
// each test makes its own buckets in it (NewBucket). Where the pinned MinIO
// is not built the test skips (fails under CI=true): building it takes
// minutes and is the setup command's job, never a test's.
func (s *Servers) MinIO(tb testing.TB) *MinIO {
	tb.Helper()
	return s.minio.get(tb, "MinIO", minioStartTimeout, NewMinIO)
}

// MinIOTLS is the package's MinIO server on HTTPS with a self-signed
// certificate (its CAFile), started on first use, as MinIO is.
func (s *Servers) MinIOTLS(tb testing.TB) *MinIO {
	tb.Helper()
	return s.minioTLS.get(tb, "MinIO", minioStartTimeout, NewMinIOTLS)
}

// Close stops every server that was started, and only those.
func (s *Servers) Close() {
	s.pg.close()
	s.minio.close()
	s.minioTLS.close()
}

// Main is a TestMain for a package whose tests share servers: it runs the
// tests, stops whatever servers they started and exits with their code.
func Main(m *testing.M, s *Servers) {
	code := m.Run()
	s.Close()
	os.Exit(code)
}

// lazy is one server started at most once, by its first user.
type lazy[S interface{ Close() error }] struct {
	once    sync.Once
	server  S
	err     error
	started bool
}

func (l *lazy[S]) get(tb testing.TB, what string, timeout time.Duration, start func(context.Context) (S, error)) S {
	tb.Helper()
	l.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		l.server, l.err = start(ctx)
		l.started = l.err == nil
	})
	if l.err != nil {
		Need(tb, what, l.err)
	}
	return l.server
}

func (l *lazy[S]) close() {
	if l.started {
		l.server.Close()
	}
}

// Need ends the test when a server it needs could not be started: a server
// this machine does not have (ErrUnavailable) skips it, saying why and what
// to run, except under CI=true, where nothing may be skipped for want of a
// server and it fails; any other start failure fails it. err nil does
// nothing.
func Need(tb testing.TB, what string, err error) {
	tb.Helper()
	if err == nil {
		return
	}
	skip, msg := verdict(what, err, inCI())
	if skip {
		tb.Skip(msg)
	}
	tb.Fatal(msg)
}

// verdict is Need's decision: whether to skip, and the message.
func verdict(what string, err error, ci bool) (skip bool, msg string) {
	if !errors.Is(err, ErrUnavailable) {
		return false, fmt.Sprintf("start %s: %v", what, err)
	}
	msg = fmt.Sprintf("needs %s, which this machine lacks: %v; run `%s` to install it", what, err, SetupCommand)
	if ci {
		return false, msg + " (CI=true: a missing server fails the test instead of skipping it)"
	}
	return true, msg
}

// inCI reports whether the tests run under CI (CI=true, as CI services set
// it), where every test must run.
func inCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}
