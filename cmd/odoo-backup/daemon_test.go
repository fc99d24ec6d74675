package main

import (
	"bufio"
	"encoding/json"
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
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/s3"
	"github.com/odoo-backup/odoo-backup/store"
)

// daemonProc is odoo-backup --daemon in a process of its own, whose JSON
// log lines the test reads as they come.
type daemonProc struct {
	t     *testing.T
	cmd   *exec.Cmd
	lines chan map[string]any
	seen  []map[string]any
	done  chan struct{}
}

func (c *cli) startDaemon(extra ...string) *daemonProc {
	c.t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"--catalog", c.catalog, "--daemon", "--log-format", "json", "--shutdown-timeout", "1m"}, extra...)...)
	cmd.Env = append(os.Environ(), "ODOO_BACKUP_TEST_AS_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	d := &daemonProc{t: c.t, cmd: cmd, lines: make(chan map[string]any, 1000), done: make(chan struct{})}
	go func() {
		defer close(d.lines)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			for _, s := range c.secrets {
				if s != "" && strings.Contains(line, s) {
					c.t.Errorf("the daemon logged a secret: %s", line)
				}
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				c.t.Errorf("daemon log line is not JSON: %q", line)
				continue
			}
			d.lines <- m
		}
	}()
	c.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return d
}

// waitFor reads the log until n lines with message msg have come, and
// returns them.
func (d *daemonProc) waitFor(msg string, n int) []map[string]any {
	d.t.Helper()
	return d.waitMatching(fmt.Sprintf("%q", msg), func(s string) bool { return s == msg }, n)
}

// waitMatching reads the log until n lines whose message matches have
// come, and returns them; what names the lines in a failure.
func (d *daemonProc) waitMatching(what string, match func(msg string) bool, n int) []map[string]any {
	d.t.Helper()
	var got []map[string]any
	timeout := time.After(2 * time.Minute)
	for len(got) < n {
		select {
		case m, ok := <-d.lines:
			if !ok {
				d.t.Fatalf("the daemon's log ended before %d %s lines (got %d); it said:\n%s", n, what, len(got), d.history())
			}
			d.seen = append(d.seen, m)
			if s, _ := m["msg"].(string); match(s) {
				got = append(got, m)
			}
		case <-timeout:
			d.t.Fatalf("no %d %s lines in the daemon's log after 2 minutes; it said:\n%s", n, what, d.history())
		}
	}
	return got
}

func (d *daemonProc) history() string {
	var b strings.Builder
	for _, m := range d.seen {
		j, _ := json.Marshal(m)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

func (d *daemonProc) kill9() {
	d.t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		d.t.Fatal(err)
	}
	d.cmd.Wait()
	for range d.lines {
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (d *daemonProc) stop() {
	d.t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		d.t.Fatal(err)
	}
	d.waitFor("odoo-backup daemon stopped", 1)
	if err := d.cmd.Wait(); err != nil {
		d.t.Errorf("the daemon exited with %v after SIGTERM, want 0", err)
	}
	for range d.lines {
	}
}

func (c *cli) status() (statusReport, int) {
	c.t.Helper()
	r := c.run("status", "--json")
	var st statusReport
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		c.t.Fatalf("status --json: %v\n%s%s", err, r.stdout, r.stderr)
	}
	return st, r.code
}

// The daemon against the real servers: it runs two configurations of one
// service with one dump, rotates each destination by its own retention,
// survives kill -9 in the middle of a backup and a restart without a
// duplicate or a lost run, stops cleanly on SIGTERM, and status --json
// follows every step.
func TestDaemonRunsRotatesAndSurvivesKill(t *testing.T) {
	pg := servers.Postgres(t)
	minio := servers.MinIO(t)
	c := newCLI(t)
	odoo, err := testbed.GenerateOdoo(t.Context(), pg, "daemon_prod", filepath.Join(t.TempDir(), "odoo"),
		testbed.OdooOptions{Seed: 7, DumpBytes: 8 << 20, FilestoreBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	bucket := minio.NewBucket(t)
	c.addS3("s3", bucket)
	// Self-contained zips: the bucket is checked object by object below.
	c.ok("destination", "update", "s3", "--layout", "zip")
	c.ok("destination", "add", "disk", "--dir", filepath.Join(c.dir, "disk"), "--layout", "zip")
	c.addService("prod", odoo)
	c.ok("config", "set", "prod", "s3", "--frequency", "hourly", "--minute", "0", "--keep", "1")
	c.ok("config", "set", "prod", "disk", "--frequency", "daily", "--at", "01:00", "--keep-gfs", "7d")
	var hooks []string
	var hooksMu sync.Mutex
	webhook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]string
		json.NewDecoder(r.Body).Decode(&m)
		hooksMu.Lock()
		hooks = append(hooks, m["text"])
		hooksMu.Unlock()
	}))
	defer webhook.Close()

	// Scheduled backups from before: two hours ago on s3, two days ago on disk.
	seed := func(dest string, ago time.Duration) core.Backup {
		cat, err := store.Open(t.Context(), c.catalog)
		if err != nil {
			t.Fatal(err)
		}
		defer cat.Close()
		e := &core.Engine{Catalog: cat, OpenStore: s3.Open, Now: func() time.Time { return time.Now().Add(-ago) }}
		bs, err := e.Backup(t.Context(), core.BackupRequest{Service: "prod", Destinations: []string{dest}, Kind: core.KindScheduled})
		if err != nil {
			t.Fatal(err)
		}
		return bs[0]
	}
	oldS3 := seed("s3", 2*time.Hour)
	oldDisk := seed("disk", 49*time.Hour)

	// 1. The daemon starts, finds both configurations overdue, starts one
	// dump for both, and is killed in the middle of it.
	d := c.startDaemon("--notify-webhook", webhook.URL)
	start := d.waitFor("scheduled backup starting", 1)[0]
	if start["destinations"] != "disk,s3" || start["catch_up"] != true {
		t.Errorf("first run: %v, want one catch-up dump for disk and s3", start)
	}
	// The engine has recorded both backups as running and begun the dump.
	if started := d.waitFor("backup started", 1)[0]; started["destinations"] != float64(2) {
		t.Errorf("backup started: %v, want 2 destinations", started)
	}
	d.kill9()
	// Read behind the commands' back: any command would clean up first.
	cat, err := store.Open(t.Context(), c.catalog)
	if err != nil {
		t.Fatal(err)
	}
	lease, err := cat.CurrentLease(t.Context(), core.SchedulerLeaseName(core.HostName()))
	if err != nil || core.LeaseAlive(lease, time.Now()) || lease.Holder != "daemon" {
		t.Errorf("after kill -9 the lease is %+v (%v), want the dead daemon's", lease, err)
	}
	left, err := cat.Backups(t.Context(), core.BackupFilter{Status: core.StatusRunning})
	cat.Close()
	if err != nil || len(left) != 2 {
		t.Fatalf("after kill -9: running backups %+v (%v), want the 2 the daemon left", left, err)
	}

	// 2. A new daemon takes the lease over, records the interrupted backups
	// as failed (one warning each), cleans up after them, runs the lost
	// slot once, and rotates.
	d = c.startDaemon("--notify-webhook", webhook.URL)
	d.waitFor("scheduled run finished", 1)
	warned := 0
	for _, m := range d.seen {
		if m["msg"] == "backup interrupted by a crash recorded as failed" {
			warned++
		}
	}
	if warned != 2 {
		t.Errorf("the daemon logged %d crash-recovery warnings, want one for each of the 2 backups:\n%s", warned, d.history())
	}
	if failed := c.backupsWhere("failed"); len(failed) != 2 || !strings.HasPrefix(failed[0].Error, "interrupted: the process died") {
		t.Errorf("interrupted backups: %+v, want 2 failed as interrupted", failed)
	}
	succeeded := c.backupsWhere("succeeded")
	if s3New, diskNew := countNew(succeeded, "s3"), countNew(succeeded, "disk"); s3New != 1 || diskNew != 1 {
		t.Errorf("new scheduled backups: s3 %d, disk %d; want exactly one each", s3New, diskNew)
	}
	// keep 1 on s3 rotated the old one; 7 daily on disk kept its old one.
	if b := c.backupByID(oldS3.ID); b.Status != "rotated" {
		t.Errorf("the old s3 backup is %s, want rotated", b.Status)
	}
	if b := c.backupByID(oldDisk.ID); b.Status != "succeeded" {
		t.Errorf("the old disk backup is %s, want kept", b.Status)
	}
	s3st, err := s3.NewS3(s3.Config{S3Settings: core.S3Settings{Endpoint: minio.Endpoint, Bucket: bucket, Prefix: "backups/odoo", AccessKey: minio.AccessKey, SecretKey: core.Secret(minio.SecretKey), NoTLS: true}})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := s3st.List(t.Context(), "")
	if err != nil || len(objs) != 2 {
		t.Errorf("the bucket holds %v (%v), want the new archive and its metadata only", objs, err)
	}
	if left, err := s3st.Incomplete(t.Context(), ""); err != nil || len(left) != 0 {
		t.Errorf("unfinished uploads left in the bucket: %v %v", left, err)
	}
	st, code := c.status()
	if code != 0 || !st.Healthy || st.Scheduler == nil || !st.Scheduler.Alive || st.Scheduler.PID != d.cmd.Process.Pid {
		t.Errorf("status after recovery: exit %d %+v; want healthy, run by the new daemon", code, st)
	}
	for _, cfg := range st.Services[0].Configurations {
		if cfg.State != core.HealthOK || cfg.LastSuccess == nil || cfg.NextRun == nil {
			t.Errorf("status of %s: %+v, want ok with last success and next run", cfg.Destination, cfg)
		}
	}

	// 3. SIGTERM: a clean stop that gives the lease back.
	d.stop()
	if st, _ := c.status(); st.Scheduler != nil {
		t.Errorf("after SIGTERM the lease is still held: %+v", st.Scheduler)
	}

	// 4. Started again within the slot: nothing was missed, nothing runs.
	before := len(c.backupsWhere(""))
	d = c.startDaemon()
	d.waitFor("no missed backup to catch up on", 1)
	d.stop()
	if after := len(c.backupsWhere("")); after != before {
		t.Errorf("a restart within the slot added %d backups, want none", after-before)
	}
	hooksMu.Lock()
	defer hooksMu.Unlock()
	if len(hooks) != 0 {
		t.Errorf("webhook got %q; nothing failed on a scheduled run that finished", hooks)
	}
}

func countNew(bs []backupJSON, dest string) int {
	n := 0
	for _, b := range bs {
		if b.Destination == dest && b.Kind == "scheduled" && b.StartedAt.After(time.Now().Add(-time.Hour)) {
			n++
		}
	}
	return n
}

func (c *cli) backupsWhere(status string) []backupJSON {
	c.t.Helper()
	var bs []backupJSON
	args := []string{"backups", "prod"}
	if status != "" {
		args = append(args, "--status", status)
	}
	c.json(&bs, args...)
	return bs
}

func (c *cli) backupByID(id int64) backupJSON {
	c.t.Helper()
	for _, b := range c.backupsWhere("") {
		if b.ID == id {
			return b
		}
	}
	c.t.Fatalf("backup %d not listed", id)
	return backupJSON{}
}

// The webhook hears of a failure once, and of the recovery.
func TestDaemonWebhook(t *testing.T) {
	c := newCLI(t)
	odoo := generate(t, "daemon_hook")
	disk := filepath.Join(c.dir, "disk")
	c.ok("destination", "add", "disk", "--dir", disk)
	c.addService("prod", odoo)
	c.ok("config", "set", "prod", "disk", "--frequency", "hourly")
	texts := make(chan string, 10)
	webhook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]string
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &m); err != nil {
			t.Errorf("webhook body %q is not JSON", body)
		}
		texts <- m["text"]
	}))
	defer webhook.Close()

	// The destination's disk is gone: the catch-up fails and says so.
	if err := os.Rename(disk, disk+".away"); err != nil {
		t.Fatal(err)
	}
	d := c.startDaemon("--notify-webhook", webhook.URL)
	d.waitFor("scheduled run finished", 1)
	if got := <-texts; !strings.Contains(got, "prod to disk failed") || !strings.Contains(got, "does not exist") {
		t.Errorf("failure message %q", got)
	}
	d.stop()
	if _, code := c.status(); code != 1 {
		t.Errorf("status exit %d after a failed scheduled backup, want 1", code)
	}
	// The disk is back: the next start catches up, and the recovery is told.
	if err := os.Rename(disk+".away", disk); err != nil {
		t.Fatal(err)
	}
	d = c.startDaemon("--notify-webhook", webhook.URL)
	d.waitFor("scheduled run finished", 1)
	if got := <-texts; !strings.Contains(got, "works again") {
		t.Errorf("recovery message %q", got)
	}
	d.stop()
	if _, code := c.status(); code != 0 {
		t.Errorf("status exit %d after the recovery, want 0", code)
	}
	select {
	case extra := <-texts:
		t.Errorf("unexpected webhook message %q", extra)
	default:
	}
}
