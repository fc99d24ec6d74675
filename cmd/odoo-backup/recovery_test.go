package main

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/s3"
	"github.com/odoo-backup/odoo-backup/store"
)

// floodFilestore overwrites every file of a filestore with size random
// bytes, as ransomware or a runaway import would leave it.
func floodFilestore(t *testing.T, dir string, size int) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(p, string(filepath.Separator)+"checklist"+string(filepath.Separator)) {
			return err
		}
		n++
		b := make([]byte, size)
		rand.Read(b)
		return os.WriteFile(p, b, 0o644)
	})
	if err != nil || n == 0 {
		t.Fatalf("flooding %s: %v (%d files)", dir, err, n)
	}
}

// A backup whose size jumps above three times the median of the seven
// before it is flagged: backup warns on stderr and exits 0, backups marks
// it with the sentence below the table, status shows the warning and exits
// 0, and status --strict exits 4.
func TestSizeAnomalyIsAWarning(t *testing.T) {
	c := newCLI(t)
	odoo := generate(t, "rec_anomaly")
	// Self-contained zips: a backup's size is its whole filestore.
	c.ok("destination", "add", "disk", "--dir", filepath.Join(c.dir, "disk"), "--layout", "zip")
	c.addService("prod", odoo)
	c.ok("config", "set", "prod", "disk", "--frequency", "daily", "--keep", "20")
	for range 7 {
		if r := c.run("backup", "prod"); r.code != 0 || strings.Contains(r.stderr, "anomaly") {
			t.Fatalf("an ordinary backup: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	}
	if r := c.run("status", "--strict"); r.code != 0 || strings.Contains(r.stdout, "Warning") {
		t.Fatalf("status --strict after ordinary backups: exit %d\n%s%s\nwant 0 and no warning", r.code, r.stdout, r.stderr)
	}

	floodFilestore(t, odoo.FilestoreDir, 1<<20)
	r := c.run("backup", "prod")
	var bs []backupJSON
	c.json(&bs, "backups", "prod", "--limit", "1")
	id := itoa(bs[0].ID)
	want := "Warning: size anomaly in backup " + id + " of prod on disk: its size "
	if r.code != 0 || !strings.Contains(r.stdout, "Backup "+id+" of prod on disk succeeded") || !strings.HasPrefix(r.stderr, want) || !strings.Contains(r.stderr, "above three times the median") {
		t.Fatalf("backup after the flood: exit %d\nstdout: %s\nstderr: %s\nwant exit 0, its result, then %q... on stderr", r.code, r.stdout, r.stderr, want)
	}

	list := c.ok("backups", "prod")
	if !strings.Contains(list, "succeeded, size anomaly (below)") || !strings.Contains(list, "! size anomaly in backup "+id+" of prod on disk: its size") || strings.Count(list, "size anomaly (below)") != 1 {
		t.Errorf("backups marks the anomalous backup how?\n%s\nwant its row marked once and the sentence below the table", list)
	}
	var raw []map[string]any
	c.json(&raw, "backups", "prod", "--limit", "1")
	if a, _ := raw[0]["anomaly"].(string); !strings.Contains(a, "above three times") {
		t.Errorf("backups --json: anomaly %q, want the sentence", a)
	}

	r = c.run("status")
	if w := "Warning (not a failure): prod on disk: size anomaly in backup " + id + ": its size"; r.code != 0 || !strings.Contains(r.stdout, w) {
		t.Errorf("status with an anomaly: exit %d\n%s%s\nwant exit 0 and %q", r.code, r.stdout, r.stderr, w)
	}
	st, code := c.status()
	if code != 0 || !st.Healthy || len(st.Warnings) != 1 || !strings.HasPrefix(st.Warnings[0], "prod on disk: size anomaly in backup "+id+": ") ||
		st.Services[0].Health != core.HealthWarning || st.Services[0].Configurations[0].State != core.HealthWarning {
		t.Errorf("status --json with an anomaly: exit %d, healthy %v, warnings %q, service %s; want 0, healthy, the anomaly as its one warning, warning state", code, st.Healthy, st.Warnings, st.Services[0].Health)
	}
	if r := c.run("status", "--strict"); r.code != 4 || !strings.Contains(r.stdout, "size anomaly in backup "+id) {
		t.Errorf("status --strict with an anomaly: exit %d, want 4\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := c.run("status", "--strict", "--json"); r.code != 4 {
		t.Errorf("status --strict --json with an anomaly: exit %d, want 4", r.code)
	}
}

// agedBackup takes a manual backup of service to dest as if it had been
// taken ago: the engine's clock stands that far back.
func (c *cli) agedBackup(service, dest string, ago time.Duration) core.Backup {
	c.t.Helper()
	cat, err := store.Open(c.t.Context(), c.catalog)
	if err != nil {
		c.t.Fatal(err)
	}
	defer cat.Close()
	e := &core.Engine{Catalog: cat, OpenStore: s3.Open, Now: func() time.Time { return time.Now().Add(-ago) }}
	got, err := e.Backup(c.t.Context(), core.BackupRequest{Service: service, Destinations: []string{dest}, Kind: core.KindManual})
	if err != nil {
		c.t.Fatal(err)
	}
	return got[0]
}

// Recovery targets: set with service add and update, read as durations
// (days too), refused with one sentence when unreadable, negative or below
// a minute; listed and audited. A missed RPO target fails status with the
// sentence; clearing it heals it. A restore is timed and shown as the RTO
// in status, text and JSON; one that took longer than the RTO target is a
// warning (exit 0, 4 with --strict), and the drill after it is the RTO with
// its restore time in the drills listing.
func TestRecoveryTargetsAndMeasuredRTO(t *testing.T) {
	pg := servers.Postgres(t)
	c := newCLI(t)
	odoo := generate(t, "rec_targets")
	c.ok("destination", "add", "disk", "--dir", filepath.Join(c.dir, "disk"))
	c.t.Setenv("TEST_PG_PASSWORD", pg.Password)
	add := []string{"service", "add", "prod", "--db", odoo.Name, "--pg-host", pg.Host, "--pg-port", itoa(int64(pg.Port)),
		"--pg-user", pg.User, "--pg-password-env", "TEST_PG_PASSWORD", "--filestore", odoo.FilestoreDir}
	for _, bad := range []struct{ flag, value, want string }{
		{"--rpo", "soon", `--rpo "soon" is not a duration; give one like 30m, 2h or 1d, or 0 or none for no target`},
		{"--rpo", "-2h", `--rpo "-2h" is negative`},
		{"--rto", "30s", `--rto "30s" is below 1m`},
	} {
		c.fails(2, bad.want, append(add, bad.flag, bad.value)...)
	}
	if out := c.ok(append(add, "--rpo", "1d", "--rto", "30m")...); !strings.Contains(out, "Recovery targets: RPO 24h, RTO 30m.") {
		t.Errorf("service add with targets says:\n%s\nwant the targets", out)
	}
	c.ok("config", "set", "prod", "disk", "--frequency", "daily", "--keep", "7")
	c.fails(2, `--rto "abc" is not a duration`, "service", "update", "prod", "--rto", "abc")
	if out := c.ok("service", "update", "prod", "--rpo", "1m"); !strings.Contains(out, "Service prod recovery targets: RPO 1m, RTO 30m.") {
		t.Errorf("service update --rpo says:\n%s", out)
	}
	if list := c.ok("service", "list"); !strings.Contains(list, "RPO TARGET") || !strings.Contains(list, "1m") || !strings.Contains(list, "30m") {
		t.Errorf("service list shows no targets:\n%s", list)
	}
	var svcs []core.Service
	c.json(&svcs, "service", "list")
	if len(svcs) != 1 || svcs[0].RPOTargetSeconds != 60 || svcs[0].RTOTargetSeconds != 1800 {
		t.Errorf("service list --json: %+v, want targets 60 and 1800 seconds", svcs)
	}
	if audit := c.ok("audit"); !strings.Contains(audit, "RPO target 1m") {
		t.Errorf("the audit trail does not show the new target:\n%s", audit)
	}

	// The newest good backup is two hours old, against a target of a minute.
	old := c.agedBackup("prod", "disk", 2*time.Hour)
	r := c.run("status")
	if want := "failed: RPO target 1m missed: the newest good backup is 2h"; r.code != 1 || !strings.Contains(r.stdout, want) {
		t.Errorf("status with a missed RPO target: exit %d\n%s%s\nwant exit 1 and %q", r.code, r.stdout, r.stderr, want)
	}
	st, code := c.status()
	s := st.Services[0]
	if code != 1 || st.Healthy || s.Health != core.HealthFailed || len(s.Problems) != 1 || !strings.HasPrefix(s.Problems[0], "RPO target 1m missed") ||
		s.Recovery.RPO == nil || s.Recovery.RPO.Seconds < 7200 || !s.Recovery.RPOMissed || len(s.Recovery.Destinations) != 1 || s.Recovery.Destinations[0].Destination != "disk" {
		t.Errorf("status --json with a missed RPO target: exit %d, service %s, problems %q, recovery %+v; want failed with the sentence", code, s.Health, s.Problems, s.Recovery)
	}
	c.ok("service", "update", "prod", "--rpo", "none")
	if st, code := c.status(); code != 0 || st.Services[0].Recovery.RPOMissed || st.Services[0].Recovery.RPOTargetSeconds != 0 {
		t.Errorf("status after the RPO target was cleared: exit %d %+v, want 0", code, st.Services[0].Recovery)
	}

	// A real restore, onto the service itself, is its RTO.
	c.ok("restore", itoa(old.ID), "--service", "prod", "--yes")
	st, _ = c.status()
	rto := st.Services[0].Recovery.RTO
	if rto == nil || rto.Source != "restore" || rto.BackupID != old.ID || rto.Seconds <= 0 || rto.Seconds > 600 || time.Since(rto.At) > 10*time.Minute {
		t.Fatalf("status --json after a restore: RTO %+v, want the restore of backup %d, just now", rto, old.ID)
	}
	if out := c.ok("status"); !strings.Contains(out, "(restore, "+localTime(rto.At)+")") {
		t.Errorf("status does not show the restore's RTO with its date:\n%s", out)
	}

	// A restore that took an hour, against the 30m target, as another
	// process would have recorded it: a warning.
	cat, err := store.Open(context.Background(), c.catalog)
	if err != nil {
		t.Fatal(err)
	}
	slow := core.RestoreRecord{Service: "prod", BackupID: old.ID, Target: "prod", Status: core.RestoreSucceeded, StartedAt: time.Now().Add(-time.Hour), FinishedAt: time.Now()}
	err = cat.AddRestore(context.Background(), &slow)
	cat.Close()
	if err != nil {
		t.Fatal(err)
	}
	r = c.run("status")
	if want := "Warning (not a failure): prod: RTO target 30m missed: the last restore took 1h"; r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Errorf("status with a missed RTO target: exit %d\n%s%s\nwant exit 0 and %q", r.code, r.stdout, r.stderr, want)
	}
	st, code = c.status()
	if code != 0 || !st.Healthy || st.Services[0].Health != core.HealthWarning || !st.Services[0].Recovery.RTOMissed || len(st.Warnings) != 1 || !strings.HasPrefix(st.Warnings[0], "prod: RTO target 30m missed") {
		t.Errorf("status --json with a missed RTO target: exit %d, health %s, warnings %q; want 0, warning, the miss as a warning", code, st.Services[0].Health, st.Warnings)
	}
	if r := c.run("status", "--strict"); r.code != 4 {
		t.Errorf("status --strict with a missed RTO target: exit %d, want 4", r.code)
	}

	// The drill after it is the newer measurement, and meets the target.
	c.ok("drill", "prod")
	st, code = c.status()
	if rto := st.Services[0].Recovery.RTO; code != 0 || rto == nil || rto.Source != "drill" || st.Services[0].Recovery.RTOMissed {
		t.Errorf("status --json after a drill: exit %d, RTO %+v, want the drill's, met", code, rto)
	}
	var drills []core.Drill
	c.json(&drills, "drills", "prod")
	list := c.ok("drills", "prod")
	lines := strings.Split(list, "\n")
	if len(drills) != 1 || drills[0].Details.RestoreSeconds <= 0 || !strings.Contains(lines[0], "RESTORE") ||
		!strings.Contains(lines[1], " "+timeTaken(time.Duration(drills[0].Details.RestoreSeconds*float64(time.Second)))+" ") {
		t.Errorf("drills lists no restore time:\n%s\nwant the drill's %.2fs", list, drills[0].Details.RestoreSeconds)
	}
}

// A destination's key note: only on one that encrypts, one line, shown by
// destination list and its JSON, cleared with an empty note.
func TestDestinationKeyNote(t *testing.T) {
	c := newCLI(t)
	t.Setenv("TEST_PASSPHRASE", "correct horse battery staple")
	c.fails(2, "--key-note says where the decryption key of an encrypting destination is kept, and plain does not encrypt",
		"destination", "add", "plain", "--dir", filepath.Join(c.dir, "plain"), "--key-note", "in the safe")
	c.ok("destination", "add", "plain", "--dir", filepath.Join(c.dir, "plain"))
	c.fails(2, "--key-note", "destination", "update", "plain", "--key-note", "in the safe")
	c.fails(2, "--key-note takes one line", "destination", "add", "vault", "--dir", filepath.Join(c.dir, "vault"),
		"--encrypt-passphrase-env", "TEST_PASSPHRASE", "--key-note", "line one\nline two")
	c.ok("destination", "add", "vault", "--dir", filepath.Join(c.dir, "vault"), "--encrypt-passphrase-env", "TEST_PASSPHRASE",
		"--key-note", "sealed envelope in the office safe")
	list := c.ok("destination", "list")
	if !strings.Contains(list, "KEY NOTE") || !strings.Contains(list, "sealed envelope in the office safe") {
		t.Errorf("destination list does not show the key note:\n%s", list)
	}
	note := func() string {
		var raw []map[string]any
		c.json(&raw, "destination", "list")
		for _, d := range raw {
			if d["name"] == "vault" {
				s, _ := d["encrypt_key_note"].(string)
				return s
			}
		}
		t.Fatal("vault is not listed")
		return ""
	}
	if got := note(); got != "sealed envelope in the office safe" {
		t.Errorf("destination list --json: encrypt_key_note %q", got)
	}
	if out := c.ok("destination", "update", "vault", "--key-note", "printed, with the IT manager"); !strings.Contains(out, "Its key note: printed, with the IT manager.") {
		t.Errorf("destination update --key-note says:\n%s", out)
	}
	if got := note(); got != "printed, with the IT manager" {
		t.Errorf("after update: encrypt_key_note %q", got)
	}
	c.ok("destination", "update", "vault", "--key-note", "")
	if got := note(); got != "" {
		t.Errorf("after clearing: encrypt_key_note %q, want none", got)
	}
}
