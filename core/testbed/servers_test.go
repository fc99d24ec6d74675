package testbed

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// outcome is what Need did to a test: skipped it, failed it, or let it go
// on (both empty).
type outcome struct{ skipped, failed string }

// recorder is a testing.TB whose Skip and Fatal end the calling goroutine
// as the real ones do, and remember the message.
type recorder struct {
	testing.TB
	mu sync.Mutex
	outcome
}

func (r *recorder) Helper() {}

func (r *recorder) Skip(args ...any) {
	r.mu.Lock()
	r.skipped = fmt.Sprint(args...)
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any) {
	r.mu.Lock()
	r.failed = fmt.Sprint(args...)
	r.mu.Unlock()
	runtime.Goexit()
}

// asTest runs f as a test body would run, on a goroutine of its own, and
// returns how it ended.
func asTest(f func(tb testing.TB)) outcome {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.outcome
}

func TestNeed(t *testing.T) {
	missing := markUnavailable(errors.New("the pinned MinIO is not built in /nowhere"))
	broken := errors.New("MinIO did not start on 127.0.0.1:9000: the server exited")
	for _, tc := range []struct {
		name, ci    string
		err         error
		skip, fail  bool
		wantInMsg   []string
		wantNotInIt string
	}{
		{name: "started", err: nil},
		{name: "missing, locally", err: missing, skip: true,
			wantInMsg: []string{"needs MinIO", "not built in /nowhere", "run `go run ./cmd/testbed setup`"}, wantNotInIt: "CI"},
		{name: "missing, CI=false", ci: "false", err: missing, skip: true, wantInMsg: []string{"not built in /nowhere"}},
		{name: "missing, under CI", ci: "true", err: missing, fail: true,
			wantInMsg: []string{"needs MinIO", "not built in /nowhere", "go run ./cmd/testbed setup", "CI=true"}},
		{name: "missing, wrapped, under CI", ci: "1", err: fmt.Errorf("shared server: %w", missing), fail: true,
			wantInMsg: []string{"shared server: the pinned MinIO"}},
		{name: "broken, locally", err: broken, fail: true, wantInMsg: []string{"start MinIO: MinIO did not start"}, wantNotInIt: "setup"},
		{name: "broken, under CI", ci: "true", err: broken, fail: true, wantInMsg: []string{"start MinIO: MinIO did not start"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			got := asTest(func(tb testing.TB) { Need(tb, "MinIO", tc.err) })
			if (got.skipped != "") != tc.skip || (got.failed != "") != tc.fail {
				t.Fatalf("Need(%v) with CI=%q: skipped %q, failed %q; want skip %v, fail %v", tc.err, tc.ci, got.skipped, got.failed, tc.skip, tc.fail)
			}
			msg := got.skipped + got.failed
			for _, want := range tc.wantInMsg {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q lacks %q", msg, want)
				}
			}
			if tc.wantNotInIt != "" && strings.Contains(msg, tc.wantNotInIt) {
				t.Errorf("message %q should not mention %q", msg, tc.wantNotInIt)
			}
		})
	}
}

func TestMissingPostgresIsUnavailable(t *testing.T) {
	if !errors.Is(errNoPostgres, ErrUnavailable) {
		t.Errorf("errNoPostgres = %v; want it to be ErrUnavailable, so a test without PostgreSQL skips", errNoPostgres)
	}
	t.Setenv(PostgresBinEnv, t.TempDir())
	if _, err := NewPostgres(t.Context()); err == nil || errors.Is(err, ErrUnavailable) {
		t.Errorf("NewPostgres with %s naming an empty directory = %v; want a plain error (a wrong setting fails, it does not skip)", PostgresBinEnv, err)
	}
}

// A machine where MinIO was never built: the shared server skips every
// test that asks for it, under CI fails it, and never builds minio.
func TestServersWithoutMinIO(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("HOME", t.TempDir())
	t.Setenv("ODOO_BACKUP_MINIO", "")
	t.Setenv("CI", "")

	if _, err := MinIOBinary(); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("MinIOBinary() with an empty cache = %v; want ErrUnavailable", err)
	}
	var s Servers
	defer s.Close()
	const askers = 4
	outcomes := make(chan outcome, askers)
	var wg sync.WaitGroup
	for range askers {
		wg.Go(func() { outcomes <- asTest(func(tb testing.TB) { s.MinIO(tb) }) })
	}
	wg.Wait()
	close(outcomes)
	for got := range outcomes {
		if got.failed != "" || !strings.Contains(got.skipped, "is not built in "+cache) || !strings.Contains(got.skipped, SetupCommand) {
			t.Errorf("MinIO without a built minio: skipped %q, failed %q; want a skip naming %s and %q", got.skipped, got.failed, cache, SetupCommand)
		}
	}

	t.Setenv("CI", "true")
	if got := asTest(func(tb testing.TB) { s.MinIO(tb) }); got.failed == "" || got.skipped != "" {
		t.Errorf("MinIO without a built minio under CI=true: skipped %q, failed %q; want a failure", got.skipped, got.failed)
	}

	if entries, err := os.ReadDir(cache); err != nil || len(entries) != 0 {
		t.Errorf("the cache holds %d entries (%v) after tests asked for MinIO; want nothing built or created", len(entries), err)
	}
}
