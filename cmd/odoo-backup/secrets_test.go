package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/store"
)

// leakWatch runs commands and keeps everything they print, so that every
// secret can be looked for, in every encoding, once everything has run.
type leakWatch struct {
	*cli
	all bytes.Buffer
}

func (w *leakWatch) record(what, out string) {
	fmt.Fprintf(&w.all, "== %s\n%s\n", what, out)
}

func (w *leakWatch) run(args ...string) result {
	w.t.Helper()
	r := w.cli.run(args...)
	// Named by its first words only: a command line may hold a secret on
	// purpose, to see that odoo-backup does not repeat it.
	w.record(strings.Join(args[:min(2, len(args))], " "), r.stdout+r.stderr)
	return r
}

func (w *leakWatch) ok(args ...string) string {
	w.t.Helper()
	r := w.run(args...)
	if r.code != 0 {
		w.t.Fatalf("odoo-backup %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

func (w *leakWatch) fails(want string, args ...string) {
	w.t.Helper()
	r := w.run(args...)
	if r.code == 0 || !strings.Contains(r.stderr, want) {
		w.t.Fatalf("odoo-backup %s: exit %d, stderr %q; want a failure saying %q", strings.Join(args, " "), r.code, r.stderr, want)
	}
}

// daemon runs odoo-backup --daemon with the log format until it logs its
// first finished scheduled run, then stops it with SIGTERM.
func (w *leakWatch) daemon(format string) {
	w.t.Helper()
	cmd := exec.Command(os.Args[0], "--catalog", w.catalog, "--daemon", "--log-format", format, "--shutdown-timeout", "1m")
	cmd.Env = append(os.Environ(), "ODOO_BACKUP_TEST_AS_MAIN=1")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		w.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	lines := make(chan string, 1000)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var log strings.Builder
	finished := false
	timeout := time.After(2 * time.Minute)
	for !finished {
		select {
		case line, ok := <-lines:
			if !ok {
				w.t.Fatalf("the %s daemon ended before its first scheduled run finished:\n%s", format, log.String())
			}
			log.WriteString(line + "\n")
			finished = strings.Contains(line, "scheduled run finished")
		case <-timeout:
			cmd.Process.Kill()
			w.t.Fatalf("the %s daemon did not finish a scheduled run in 2 minutes:\n%s", format, log.String())
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		w.t.Fatal(err)
	}
	for line := range lines {
		log.WriteString(line + "\n")
	}
	if err := cmd.Wait(); err != nil {
		w.t.Errorf("the %s daemon exited with %v after SIGTERM:\n%s", format, err, log.String())
	}
	if !strings.Contains(log.String(), "backup succeeded") {
		w.t.Errorf("the %s daemon's first run did not back up:\n%s", format, log.String())
	}
	w.record("daemon --log-format "+format, log.String()+stdout.String())
}

// encodings are the forms a secret could leak in.
func encodings(s string) map[string]string {
	return map[string]string{
		"plain":      s,
		"base64":     base64.StdEncoding.EncodeToString([]byte(s)),
		"base64 raw": base64.RawStdEncoding.EncodeToString([]byte(s)),
		"base64 url": base64.URLEncoding.EncodeToString([]byte(s)),
		"hex":        hex.EncodeToString([]byte(s)),
		"json":       strings.Trim(string(must1(json.Marshal(s))), `"`),
	}
}

func must1[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Secrets never leave the process: with a real MinIO destination (its
// secret key stored, and by reference from a file), a real PostgreSQL
// service with scram authentication (its password stored, and by reference
// from the environment), and an encryption passphrase, every command family
// runs, fails on purpose where it can, and the daemon runs with both log
// formats; not one secret shows in anything printed or logged, in any
// encoding, nor in the catalog's files, and the audit trail has recorded
// who did what.
func TestSecretsNeverLeak(t *testing.T) {
	pg := servers.Postgres(t)
	minio := servers.MinIO(t)
	c := newCLI(t)
	w := &leakWatch{cli: c}
	odoo := generate(t, "leak_prod")
	const (
		passphrase  = "Leak-Test-Passphrase-7f3c9e"
		wrongS3     = "Wrong-S3-Secret-Key-41d8cd98"
		wrongPG     = "Wrong-PG-Password-e3b0c442"
		restoredDB  = "leak_restored"
		restoredDB2 = "leak_restored_ref"
		hookToken   = "Leak-Hook-Token-5e9d2a71"
		pingToken   = "Leak-Ping-Token-0c4f8b36"
	)
	secrets := []string{minio.SecretKey, pg.Password, passphrase, wrongS3, wrongPG, hookToken, pingToken}
	c.secrets = append(c.secrets, passphrase, wrongS3, wrongPG, hookToken, pingToken)
	// A notification channel and a ping URL, both real local servers: their
	// URLs are credentials, and what they are sent is checked too.
	var (
		hookMu   sync.Mutex
		received bytes.Buffer
	)
	hook := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		hookMu.Lock()
		fmt.Fprintf(&received, "%s %s\n", r.URL.Path, body)
		hookMu.Unlock()
	}))
	defer hook.Close()
	t.Setenv("LEAK_HOOK", hook.URL+"/hooks/"+hookToken)
	t.Setenv("LEAK_PING", hook.URL+"/ping/"+pingToken)
	t.Setenv("LEAK_S3_SECRET", minio.SecretKey)
	t.Setenv("LEAK_PG_PASSWORD", pg.Password)
	t.Setenv("LEAK_PASSPHRASE", passphrase)
	t.Setenv("LEAK_WRONG_S3", wrongS3)
	t.Setenv("LEAK_WRONG_PG", wrongPG)
	t.Cleanup(func() {
		for _, db := range []string{restoredDB, restoredDB2} {
			pg.DropDatabase(t.Context(), db)
		}
	})

	// Destinations: the secret key stored, and by reference to a file.
	bucket := minio.NewBucket(t)
	w.ok("destination", "add", "s3", "--endpoint", minio.Endpoint, "--bucket", bucket, "--prefix", "leak",
		"--access-key", minio.AccessKey, "--secret-key-env", "LEAK_S3_SECRET", "--no-tls")
	secretFile := filepath.Join(c.dir, "s3.secret")
	if err := os.WriteFile(secretFile, []byte(minio.SecretKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w.ok("destination", "add", "s3ref", "--endpoint", minio.Endpoint, "--bucket", bucket, "--prefix", "leakref",
		"--access-key", minio.AccessKey, "--secret-key-ref", "file:"+secretFile, "--no-tls")
	w.ok("destination", "add", "sealed", "--dir", filepath.Join(c.dir, "sealed"), "--encrypt-passphrase-env", "LEAK_PASSPHRASE")
	w.ok("destination", "add", "disk", "--dir", filepath.Join(c.dir, "disk"))
	w.ok("destination", "list", "--json")
	w.ok("destination", "list")

	// Services: the password stored, and by reference to the environment.
	w.ok("service", "add", "prod", "--db", odoo.Name, "--pg-host", pg.Host, "--pg-port", fmt.Sprint(pg.Port),
		"--pg-user", pg.User, "--pg-password-env", "LEAK_PG_PASSWORD", "--filestore", odoo.FilestoreDir)
	w.ok("service", "add", "prodref", "--db", odoo.Name, "--pg-host", pg.Host, "--pg-port", fmt.Sprint(pg.Port),
		"--pg-user", pg.User, "--pg-password-ref", "env:LEAK_PG_PASSWORD", "--filestore", odoo.FilestoreDir, "--force") // one database, two services: said explicitly
	w.ok("service", "list", "--json")
	w.ok("service", "list")
	w.ok("config", "set", "prod", "s3", "--primary")
	w.ok("config", "set", "prod", "sealed")
	w.ok("config", "set", "prodref", "s3ref")

	// Notifications: a channel (with a digest, sent when the daemon
	// starts), its test, its log.
	w.ok("notify", "add", "ops", "--url-env", "LEAK_HOOK", "--digest", "00:00")
	w.ok("notify", "list")
	w.ok("notify", "list", "--json")
	w.ok("notify", "test", "ops")
	w.fails("already exists", "notify", "add", "ops", "--url-env", "LEAK_HOOK")
	w.ok("notify", "update", "ops", "--url-env", "LEAK_HOOK", "--events", "failure,recovery")

	// Backups, listings, restores, downloads, verifies.
	var bs []backupJSON
	if err := json.Unmarshal([]byte(w.ok("backup", "prod", "--json")), &bs); err != nil || len(bs) != 1 {
		t.Fatalf("backup --json: %v %+v", err, bs)
	}
	s3ID := bs[0].ID
	if err := json.Unmarshal([]byte(w.ok("backup", "prod", "--destination", "sealed", "--json")), &bs); err != nil || len(bs) != 1 {
		t.Fatalf("backup --json to the sealed destination: %v %+v", err, bs)
	}
	sealedID := bs[0].ID
	if err := json.Unmarshal([]byte(w.ok("backup", "prodref", "--json")), &bs); err != nil || len(bs) != 1 {
		t.Fatalf("backup --json with secrets by reference: %v %+v", err, bs)
	}
	refID := bs[0].ID
	w.ok("backups", "--json")
	w.ok("backups")
	w.ok("status", "--json")
	w.ok("status")
	for _, id := range []int64{s3ID, sealedID, refID} {
		w.ok("verify", itoa(id))
		w.ok("download", itoa(id), "-o", filepath.Join(c.dir, "dl-"+itoa(id)+".zip"))
	}
	w.ok("restore", itoa(sealedID), "--new-db", restoredDB, "--filestore", filepath.Join(c.dir, "restored"), "--yes", "--json")
	w.ok("restore", itoa(refID), "--new-db", restoredDB2, "--filestore", filepath.Join(c.dir, "restored2"), "--yes")

	// Error paths: wrong credentials, an unreachable endpoint, a reference
	// that does not resolve, a secret file others can read.
	w.fails("was not saved", "destination", "add", "wrongkey", "--endpoint", minio.Endpoint, "--bucket", bucket,
		"--access-key", minio.AccessKey, "--secret-key-env", "LEAK_WRONG_S3", "--no-tls")
	w.fails("was not saved", "destination", "add", "down", "--endpoint", "127.0.0.1:1", "--bucket", bucket,
		"--access-key", minio.AccessKey, "--secret-key-env", "LEAK_WRONG_S3", "--no-tls")
	w.fails("refused the login", "service", "add", "wrongpw", "--db", "postgres", "--pg-host", pg.Host, "--pg-port", fmt.Sprint(pg.Port),
		"--pg-user", pg.User, "--pg-password-env", "LEAK_WRONG_PG")
	w.fails("refused the login", "service", "update", "prod", "--pg-password-env", "LEAK_WRONG_PG")
	w.fails("does not work with these credentials", "destination", "update", "s3", "--secret-key-env", "LEAK_WRONG_S3")
	w.fails("--secret-key-ref", "destination", "add", "badref", "--endpoint", minio.Endpoint, "--bucket", bucket,
		"--secret-key-ref", "vault:"+wrongS3, "--no-tls")
	os.Unsetenv("LEAK_PG_PASSWORD")
	w.fails("refers to the environment variable LEAK_PG_PASSWORD, which is not set", "backup", "prodref")
	t.Setenv("LEAK_PG_PASSWORD", pg.Password)
	if err := os.Chmod(secretFile, 0o644); err != nil {
		t.Fatal(err)
	}
	w.fails("chmod 600 "+secretFile, "backup", "prodref")
	if err := os.Chmod(secretFile, 0o600); err != nil {
		t.Fatal(err)
	}
	w.ok("service", "update", "prod", "--pg-password-env", "LEAK_PG_PASSWORD")
	w.ok("destination", "update", "s3", "--secret-key-env", "LEAK_S3_SECRET")

	// The daemon, once per log format, until its first scheduled backup;
	// each run has a new hourly configuration to catch up on.
	w.ok("config", "set", "prod", "disk", "--frequency", "hourly", "--ping-url-env", "LEAK_PING")
	w.daemon("json")
	w.ok("config", "set", "prodref", "disk", "--frequency", "hourly")
	w.daemon("text")

	// The console's first screen, and the audit trail.
	w.ok()
	w.ok("audit")
	var trail []core.AuditEntry
	if err := json.Unmarshal([]byte(w.ok("audit", "--json", "--limit", "0")), &trail); err != nil {
		t.Fatal(err)
	}
	me := core.CurrentActor().User
	seen := map[string]bool{}
	for _, e := range trail {
		seen[e.User+" "+e.Action+" "+string(e.Outcome)] = true
	}
	for _, want := range []string{
		me + " destination add ok", me + " destination update ok",
		me + " service add ok", me + " service update ok", me + " config set ok",
		me + " backup ok", me + " backup failed", me + " download ok", me + " restore ok",
		"daemon:" + me + " backup ok",
	} {
		if !seen[want] {
			t.Errorf("the audit trail has no %q entry", want)
		}
	}

	w.ok("notify", "log")
	w.ok("notify", "log", "--json")
	hookMu.Lock()
	sent := received.String()
	hookMu.Unlock()
	for _, want := range []string{"/ping/" + pingToken + "/start", "/hooks/" + hookToken + " {", "test message to channel ops"} {
		if !strings.Contains(sent, want) {
			t.Errorf("the local servers were not sent %q; they got:\n%s", want, sent)
		}
	}
	// What the servers were sent, beyond their own URLs, holds no secret.
	w.record("sent to the channel and the ping URL", strings.NewReplacer("/hooks/"+hookToken, "/hooks/HOOK", "/ping/"+pingToken, "/ping/PING").Replace(sent))

	// Nothing printed or logged holds a secret, in any encoding.
	out := w.all.String()
	for _, s := range secrets {
		for enc, form := range encodings(s) {
			if i := strings.Index(out, form); i >= 0 {
				start := max(0, i-200)
				t.Errorf("a secret was printed (%s): ...%s...", enc, out[start:min(len(out), i+len(form)+50)])
			}
		}
	}
	if !strings.Contains(out, "scheduled run finished") || !strings.Contains(out, `"msg":"scheduled run finished"`) {
		t.Error("the daemon's logs were not captured in both formats")
	}

	// Nor do the catalog's files, nor the catalog key file.
	var raw []byte
	for _, p := range []string{c.catalog, c.catalog + "-wal", c.catalog + "-shm", store.KeyPath(c.catalog)} {
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, b...)
	}
	for _, s := range secrets {
		for enc, form := range encodings(s) {
			if bytes.Contains(raw, []byte(form)) {
				t.Errorf("the catalog's files hold a secret (%s)", enc)
			}
		}
	}
	// Owner-only: the catalog, its key, and the local destinations.
	for _, p := range []struct {
		path string
		want os.FileMode
	}{
		{c.catalog, 0o600},
		{store.KeyPath(c.catalog), 0o600},
		{filepath.Join(c.dir, "disk"), 0o700},
		{filepath.Join(c.dir, "sealed"), 0o700},
	} {
		fi, err := os.Stat(p.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != p.want {
			t.Errorf("%s: mode %o, want %o", p.path, fi.Mode().Perm(), p.want)
		}
	}
	// What a local destination holds, too: the backups are secret data.
	files := 0
	for _, dest := range []string{"disk", "sealed"} {
		err := filepath.WalkDir(filepath.Join(c.dir, dest), func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			want := os.FileMode(0o600)
			if d.IsDir() {
				want = 0o700
			} else {
				files++
			}
			if fi.Mode().Perm() != want {
				t.Errorf("%s: mode %o, want %o", path, fi.Mode().Perm(), want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if files < 4 {
		t.Errorf("the local destinations hold %d files, want the archives and metadata of at least two backups", files)
	}
}
