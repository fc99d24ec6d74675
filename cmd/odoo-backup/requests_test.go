package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

// as runs a command on host.
func (c *cli) as(host string, args ...string) result {
	c.t.Helper()
	return c.run(append([]string{"--host-name", host}, args...)...)
}

func (c *cli) okAs(host string, args ...string) string {
	c.t.Helper()
	r := c.as(host, args...)
	if r.code != 0 {
		c.t.Fatalf("odoo-backup --host-name %s %s: exit %d\n%s%s", host, strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

func (c *cli) addServiceOn(host, name string, odoo *testbed.OdooDB) {
	c.t.Helper()
	pg := servers.Postgres(c.t)
	c.t.Setenv("TEST_PG_PASSWORD", pg.Password)
	c.okAs(host, "service", "add", name, "--db", odoo.Name, "--pg-host", pg.Host, "--pg-port", fmt.Sprint(pg.Port),
		"--pg-user", pg.User, "--pg-password-env", "TEST_PG_PASSWORD", "--filestore", odoo.FilestoreDir)
}

// request reads one request from the catalog, behind the commands' back.
func (c *cli) request(id int64) core.Request {
	c.t.Helper()
	cat, err := store.Open(context.Background(), c.catalog, store.WithKeyFile(filepath.Join(c.dir, "xdg", "odoo-backup", "catalog.key")))
	if err != nil {
		c.t.Fatal(err)
	}
	defer cat.Close()
	r, err := cat.Request(context.Background(), id)
	if err != nil {
		c.t.Fatal(err)
	}
	return r
}

// restores reads the timed restores of service from the catalog, behind
// the commands' back, newest first.
func (c *cli) restores(service string) []core.RestoreRecord {
	c.t.Helper()
	cat, err := store.Open(context.Background(), c.catalog, store.WithKeyFile(filepath.Join(c.dir, "xdg", "odoo-backup", "catalog.key")))
	if err != nil {
		c.t.Fatal(err)
	}
	defer cat.Close()
	rs, err := cat.Restores(context.Background(), service, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	return rs
}

// awaitRequest reads request id until ok says it is as wanted (at most
// two minutes).
func (c *cli) awaitRequest(id int64, what string, ok func(core.Request) bool) core.Request {
	c.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r := c.request(id)
		if ok(r) {
			return r
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("request %d is %+v after 2 minutes, want it %s", id, r, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var requestedLine = regexp.MustCompile(`Requested on host (\S+) \(request (\d+)\)\.`)

func requestID(t *testing.T, stderr string) int64 {
	t.Helper()
	m := requestedLine.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no \"Requested on host H (request N).\" line in:\n%s", stderr)
	}
	var id int64
	fmt.Sscan(m[2], &id)
	return id
}

// requester is a command of host a in a process of its own, so a test can
// interrupt it as Ctrl-C does.
type requester struct {
	cmd    *exec.Cmd
	id     int64
	stderr strings.Builder
	mu     sync.Mutex
	done   chan struct{}
	code   int
}

func (c *cli) startRequester(args ...string) *requester {
	c.t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"--catalog", c.catalog, "--host-name", "a"}, args...)...)
	cmd.Env = append(os.Environ(), "ODOO_BACKUP_TEST_AS_MAIN=1")
	pipe, err := cmd.StderrPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	r := &requester{cmd: cmd, done: make(chan struct{})}
	ids := make(chan int64, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			r.mu.Lock()
			r.stderr.WriteString(sc.Text() + "\n")
			r.mu.Unlock()
			if m := requestedLine.FindStringSubmatch(sc.Text()); m != nil {
				var id int64
				fmt.Sscan(m[2], &id)
				ids <- id
			}
		}
		cmd.Wait()
		r.code = cmd.ProcessState.ExitCode()
		close(r.done)
	}()
	c.t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			cmd.Process.Kill()
			<-r.done
		}
	})
	select {
	case r.id = <-ids:
	case <-r.done:
		c.t.Fatalf("odoo-backup %s ended (exit %d) before submitting a request:\n%s", strings.Join(args, " "), r.code, r.output())
	case <-time.After(2 * time.Minute):
		c.t.Fatalf("odoo-backup %s submitted no request within 2 minutes:\n%s", strings.Join(args, " "), r.output())
	}
	return r
}

func (r *requester) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stderr.String()
}

// wait awaits the requester's end and returns its exit code.
func (r *requester) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the requesting command did not end within 2 minutes:\n%s", r.output())
	}
	return r.code
}

// slowLink forwards TCP connections to target, the uploads at about rate
// bytes a second: a destination far away, so a backup lasts long enough to
// be cancelled or killed in the middle.
func slowLink(t *testing.T, target string, rate int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			go func() {
				defer out.Close()
				buf := make([]byte, 16<<10)
				for {
					n, err := in.Read(buf)
					if n > 0 {
						if _, werr := out.Write(buf[:n]); werr != nil {
							return
						}
						time.Sleep(time.Duration(n) * time.Second / time.Duration(rate))
					}
					if err != nil {
						return
					}
				}
			}()
			go func() {
				defer in.Close()
				io.Copy(in, out)
			}()
		}
	}()
	return ln.Addr().String()
}

// Work on a service of host b asked for on host a is a request that b's
// daemon runs: a backup, then a restore with --yes, each result printed on
// a's side. A host without a live daemon is refused at once; Ctrl-C on a's
// side cancels a running request and leaves nothing on the destination;
// b killed with -9 in the middle of a requested backup ends the request
// failed as interrupted, on a's side and in the catalog, and b's restart
// does not run it again.
func TestRequestsRunOnTheServicesHost(t *testing.T) {
	ctx := context.Background()
	pg := servers.Postgres(t)
	minio := servers.MinIO(t)
	c := newCLI(t)
	if err := pg.CreateDatabase(ctx, "fleet_requests"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.DropDatabase(context.Background(), "fleet_requests") })
	c.catalog = pg.ConnString("fleet_requests")

	prod := generate(t, "fleet_prod")
	shop := generateSeed(t, "fleet_shop", 3)
	big, err := testbed.GenerateOdoo(ctx, pg, "fleet_big", filepath.Join(t.TempDir(), "odoo"),
		testbed.OdooOptions{Seed: 11, DumpBytes: 4 << 20, FilestoreBytes: 8 << 20, Incompressible: 1})
	if err != nil {
		t.Fatal(err)
	}
	c.okAs("a", "destination", "add", "disk", "--dir", filepath.Join(c.dir, "disk"), "--layout", "zip")
	bucket := minio.NewBucket(t)
	t.Setenv("TEST_S3_SECRET", minio.SecretKey)
	c.okAs("a", "destination", "add", "far", "--endpoint", slowLink(t, minio.Endpoint, 1<<20), "--bucket", bucket,
		"--access-key", minio.AccessKey, "--secret-key-env", "TEST_S3_SECRET", "--no-tls", "--layout", "zip")
	c.addServiceOn("b", "prod", prod)
	c.addServiceOn("b", "big", big)
	c.addServiceOn("a", "shop", shop)
	c.okAs("a", "config", "set", "prod", "disk")
	c.okAs("a", "config", "set", "shop", "disk")
	c.okAs("a", "config", "set", "big", "far")

	// No daemon on b yet: refused at once, nothing asked.
	r := c.as("a", "backup", "prod")
	if want := "no daemon is running on host b, so it cannot back up prod; start odoo-backup --daemon there"; r.code != 1 ||
		strings.TrimSpace(r.stderr) != "odoo-backup: "+want {
		t.Errorf("backup of a service of a host without daemon: exit %d %q, want exit 1 and %q", r.code, r.stderr, want)
	}

	da := c.startDaemon("--host-name", "a")
	db := c.startDaemon("--host-name", "b")
	da.waitFor("running the schedules", 1)
	db.waitFor("running the schedules", 1)

	// 1. A backup of prod, asked on a, done by b.
	r = c.as("a", "backup", "prod", "--json")
	if r.code != 0 {
		t.Fatalf("backup prod from host a: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	id := requestID(t, r.stderr)
	var backups []core.Backup
	if err := json.Unmarshal([]byte(r.stdout), &backups); err != nil || len(backups) != 1 || backups[0].Status != core.StatusSucceeded {
		t.Fatalf("backup prod from host a printed %q (%v), want one succeeded backup", r.stdout, err)
	}
	if backups[0].Host != "b" || backups[0].PID != db.cmd.Process.Pid {
		t.Errorf("the backup was run by host %s pid %d, want b's daemon pid %d", backups[0].Host, backups[0].PID, db.cmd.Process.Pid)
	}
	req := c.request(id)
	if req.Status != core.RequestSucceeded || req.ClaimedBy == nil || req.ClaimedBy.Host != "b" || req.ClaimedBy.PID != db.cmd.Process.Pid ||
		req.RequestedHost != "a" || len(req.Progress.BackupIDs) != 1 || req.Progress.BackupIDs[0] != backups[0].ID {
		t.Errorf("request %d: %+v; want succeeded, asked by a, claimed by b's daemon, naming backup %d", id, req, backups[0].ID)
	}
	// A service of this host is backed up here, as always.
	if out := c.okAs("a", "backup", "shop"); !strings.Contains(out, "Backup ") {
		t.Errorf("backup shop on its own host printed %q", out)
	}

	// 2. A restore onto prod, asked on a with --yes, done by b; without
	// --yes it is refused on a, as a local one is.
	bid := itoa(backups[0].ID)
	if r := c.as("a", "restore", bid, "--service", "prod"); r.code != 2 || !strings.Contains(r.stderr, "add --yes") {
		t.Errorf("restore without --yes: exit %d %q, want 2 asking for --yes", r.code, r.stderr)
	}
	r = c.as("a", "restore", bid, "--service", "prod", "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "Backup "+bid+" restored onto prod") || !strings.Contains(r.stdout, "Safety backup ") {
		t.Fatalf("restore from host a: exit %d\n%s%s\nwant the restore and its safety backup printed", r.code, r.stdout, r.stderr)
	}
	req = c.request(requestID(t, r.stderr))
	if req.Kind != core.RequestRestore || req.Status != core.RequestSucceeded || req.ClaimedBy.Host != "b" || !req.Params.Confirmed {
		t.Errorf("restore request %+v, want a confirmed restore b ran", req)
	}
	var all []core.Backup
	c.json(&all, "--host-name", "a", "backups", "prod")
	if len(all) != 2 || all[0].Kind != core.KindSafety || all[0].Host != "b" {
		t.Errorf("prod's backups %+v, want the safety backup b took before the restore", all)
	}
	// b timed the restore: prod's measured RTO.
	if rs := c.restores("prod"); len(rs) != 1 || rs[0].Host != "b" || rs[0].Target != "prod" || itoa(rs[0].BackupID) != bid || rs[0].Status != core.RestoreSucceeded || rs[0].Duration() <= 0 {
		t.Errorf("prod's restores %+v, want the one b ran, timed", rs)
	}

	// A drill, an upload's restore and a service copy go to b the same way.
	r = c.as("a", "drill", "prod")
	if r.code != 0 || !strings.Contains(r.stdout, "of prod passed: backup ") {
		t.Errorf("drill prod from host a: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if req := c.request(requestID(t, r.stderr)); req.Kind != core.RequestDrill || req.Status != core.RequestSucceeded || req.ClaimedBy.Host != "b" {
		t.Errorf("drill request %+v, want one b ran", req)
	}
	file := filepath.Join(c.dir, "prod.zip")
	c.okAs("a", "download", bid, "-o", file)
	r = c.as("a", "upload", file, "--service", "prod", "--restore", "--no-neutralize", "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "Uploaded as backup ") || !strings.Contains(r.stdout, "restored onto prod") {
		t.Errorf("upload --restore onto prod from host a: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if req := c.request(requestID(t, r.stderr)); req.Kind != core.RequestUploadRestore || req.Status != core.RequestSucceeded || req.ClaimedBy.Host != "b" || !req.Params.Confirmed {
		t.Errorf("upload's restore request %+v, want a confirmed one b ran", req)
	}
	r = c.as("a", "service", "copy", "prod", "prod-copy", "--db", "fleet_prod_copy")
	if r.code != 0 || !strings.Contains(r.stdout, "Service prod-copy created: database fleet_prod_copy") {
		t.Errorf("service copy from host a: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	t.Cleanup(func() { pg.DropDatabase(context.Background(), "fleet_prod_copy") })
	var svcs []core.Service
	c.json(&svcs, "--host-name", "a", "service", "list")
	for _, s := range svcs {
		if s.Name == "prod-copy" && s.Host != "b" {
			t.Errorf("the copy of prod belongs to host %q, want b, where its data is", s.Host)
		}
	}

	// 3. Ctrl-C on a's side cancels the request; nothing is left on the
	// destination.
	s3st, err := s3.NewS3(s3.Config{S3Settings: core.S3Settings{Endpoint: minio.Endpoint, Bucket: bucket, Prefix: "", AccessKey: minio.AccessKey, SecretKey: core.Secret(minio.SecretKey), NoTLS: true}})
	if err != nil {
		t.Fatal(err)
	}
	nothingLeft := func(when string) {
		t.Helper()
		if objs, err := s3st.List(ctx, ""); err != nil || len(objs) != 0 {
			t.Errorf("%s the bucket holds %v (%v), want nothing", when, objs, err)
		}
		if left, err := s3st.Incomplete(ctx, ""); err != nil || len(left) != 0 {
			t.Errorf("%s unfinished uploads are left: %v (%v)", when, left, err)
		}
	}
	uploading := func(r core.Request) bool { return r.Status == core.RequestRunning && r.Progress.Bytes > 0 }
	rq := c.startRequester("backup", "big")
	c.awaitRequest(rq.id, "running with bytes written", uploading)
	if err := rq.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := rq.wait(t); code != 1 || !strings.Contains(rq.output(), "asked host b to cancel request "+itoa(rq.id)) ||
		!strings.Contains(rq.output(), fmt.Sprintf("request %d was cancelled on host b", rq.id)) {
		t.Errorf("the interrupted requester: exit %d\n%s\nwant exit 1 saying it asked b to cancel and that it was cancelled", code, rq.output())
	}
	req = c.request(rq.id)
	if req.Status != core.RequestCancelled || !req.CancelRequested {
		t.Errorf("the interrupted request is %+v, want cancelled", req)
	}
	nothingLeft("after the cancelled backup")

	// 4. b killed with -9 in the middle of a requested backup.
	rq = c.startRequester("backup", "big")
	running := c.awaitRequest(rq.id, "running with bytes written", uploading)
	db.kill9()
	if code := rq.wait(t); code != 1 || !strings.Contains(rq.output(), "interrupted: the daemon of host b stopped before the work finished") {
		t.Errorf("the requester of the killed backup: exit %d\n%s\nwant exit 1 saying b's daemon stopped", code, rq.output())
	}
	req = c.request(rq.id)
	if req.Status != core.RequestFailed || !strings.HasPrefix(req.Error, "interrupted") {
		t.Fatalf("the killed request is %+v, want failed as interrupted", req)
	}
	killed := req
	db = c.startDaemon("--host-name", "b", "--max-concurrent", "1")
	db.waitFor("running the schedules", 1)
	db.waitFor("backup interrupted by a crash recorded as failed", 1)
	req = c.request(rq.id)
	if req.Status != core.RequestFailed || *req.ClaimedBy != *running.ClaimedBy || !req.FinishedAt.Equal(*killed.FinishedAt) || req.Error != killed.Error {
		t.Errorf("after b's restart the request is %+v, want it failed as before, claimed by the killed daemon", req)
	}
	c.json(&all, "--host-name", "a", "backups", "big")
	for _, b := range all {
		if b.Status != core.StatusFailed {
			t.Errorf("big has backup %d %s; want every backup of big failed, none run again", b.ID, b.Status)
		}
	}
	nothingLeft("after b's restart")

	// b now runs one request at a time: two asked at once run one after
	// the other, the second as soon as the first frees its slot (not at the
	// 30 s fallback look).
	cat, err := store.Open(ctx, c.catalog, store.WithKeyFile(filepath.Join(c.dir, "xdg", "odoo-backup", "catalog.key")))
	if err != nil {
		t.Fatal(err)
	}
	var pair [2]core.Request
	for i := range pair {
		pair[i] = core.Request{Kind: core.RequestBackup, Host: "b", Service: "prod"}
		if err := cat.SubmitRequest(ctx, &pair[i]); err != nil {
			t.Fatal(err)
		}
	}
	cat.Close()
	for i := range pair {
		pair[i] = c.awaitRequest(pair[i].ID, "succeeded", func(r core.Request) bool { return r.Status.Final() })
		if pair[i].Status != core.RequestSucceeded {
			t.Fatalf("request %d ended %s: %s", pair[i].ID, pair[i].Status, pair[i].Error)
		}
	}
	first, second := pair[0], pair[1]
	if second.ClaimedAt.Before(*first.FinishedAt) {
		t.Errorf("with --max-concurrent 1, request %d was claimed at %v, before request %d ended at %v", second.ID, second.ClaimedAt, first.ID, first.FinishedAt)
	}
	if gap := second.ClaimedAt.Sub(*first.FinishedAt); gap > 10*time.Second {
		t.Errorf("request %d waited %v after request %d freed the slot; the loop should look again at once", second.ID, gap, first.ID)
	}

	// 5. The listing says what happened, newest first.
	var listed []core.Request
	c.json(&listed, "--host-name", "a", "requests")
	var statuses []string
	for _, l := range listed {
		statuses = append(statuses, string(l.Kind)+":"+string(l.Status))
	}
	if got, want := strings.Join(statuses, " "), "backup:succeeded backup:succeeded backup:failed backup:cancelled service_copy:succeeded upload_restore:succeeded drill:succeeded restore:succeeded backup:succeeded"; got != want {
		t.Errorf("requests: %s, want %s", got, want)
	}
	da.stop()
	db.stop()
}

// requests lists what was asked of which host; requests cancel cancels a
// pending one at once; bad input gets a sentence and exit 2.
func TestRequestsListingAndCancel(t *testing.T) {
	c := newCLI(t)
	cat, err := store.Open(context.Background(), c.catalog)
	if err != nil {
		t.Fatal(err)
	}
	r := core.Request{Kind: core.RequestDrill, Host: "b", Service: "prod"}
	err = cat.SubmitRequest(core.WithActor(context.Background(), core.Actor{User: "alice"}), &r)
	cat.Close()
	if err != nil {
		t.Fatal(err)
	}
	out := c.ok("requests")
	if !strings.Contains(out, "drill of prod on host b") || !strings.Contains(out, "alice on ") || !strings.Contains(out, "pending") {
		t.Errorf("requests:\n%s\nwant the pending drill alice asked", out)
	}
	if out := c.ok("requests", "cancel", itoa(r.ID)); out != fmt.Sprintf("Request %d is cancelled.\n", r.ID) {
		t.Errorf("requests cancel: %q", out)
	}
	var rs []core.Request
	c.json(&rs, "requests", "--status", "cancelled")
	if len(rs) != 1 || rs[0].ID != r.ID || rs[0].Status != core.RequestCancelled {
		t.Errorf("cancelled requests: %+v, want request %d", rs, r.ID)
	}
	if out := c.ok("requests", "cancel", itoa(r.ID)); out != fmt.Sprintf("Request %d is cancelled.\n", r.ID) {
		t.Errorf("cancelling it again: %q, want it still cancelled", out)
	}
	c.fails(2, "is not a request status", "requests", "--status", "sleeping")
	c.fails(2, "is not a request id", "requests", "cancel", "x")
	c.fails(1, "request 99 does not exist", "requests", "cancel", "99")
}
