package main

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// destinationLayouts reads destination list --json as name -> layout.
func (c *cli) destinationLayouts() map[string]string {
	c.t.Helper()
	var dests []map[string]any
	c.json(&dests, "destination", "list")
	out := map[string]string{}
	for _, d := range dests {
		l, _ := d["layout"].(string)
		out[d["name"].(string)] = l
	}
	return out
}

// listedLayout is the LAYOUT column of destination list for name.
func listedLayout(t *testing.T, list, name string) string {
	t.Helper()
	lines := strings.Split(list, "\n")
	head := strings.Fields(lines[0])
	col := -1
	for i, h := range head {
		if h == "LAYOUT" {
			col = i
		}
	}
	if col < 0 {
		t.Fatalf("destination list has no LAYOUT column:\n%s", list)
	}
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) > col && f[0] == name {
			return f[col]
		}
	}
	t.Fatalf("destination list has no row for %s:\n%s", name, list)
	return ""
}

// A destination's layout is chosen with --layout when it
// is added, changed with destination update, shown by destination list
// (a column, and "layout" in --json); a bad name is one sentence and
// changes nothing.
func TestDestinationLayoutFlag(t *testing.T) {
	c := newCLI(t)
	out := c.ok("destination", "add", "pooled", "--dir", filepath.Join(c.dir, "pooled"), "--layout", "pool")
	if !strings.Contains(out, "layout pool") {
		t.Errorf("destination add --layout pool:\n%s\nwant it to say the layout", out)
	}
	c.ok("destination", "add", "zipped", "--dir", filepath.Join(c.dir, "zipped"), "--layout", "zip")
	c.fails(2, `--layout "tar" is not a layout; use --layout pool`, "destination", "add", "bad", "--dir", filepath.Join(c.dir, "bad"), "--layout", "tar")

	want := map[string]string{"pooled": "pool", "zipped": "zip"}
	if got := c.destinationLayouts(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("destination list --json layouts %v, want %v (the bad one not added)", got, want)
	}
	list := c.ok("destination", "list")
	for name, l := range want {
		if got := listedLayout(t, list, name); got != l {
			t.Errorf("destination list shows %s with layout %q, want %q:\n%s", name, got, l, list)
		}
	}

	// Changing a layout: the later backups use the new one, the stored
	// ones keep theirs, and the output says so.
	out = c.ok("destination", "update", "zipped", "--layout", "pool")
	if !strings.Contains(out, "from now on use the pool layout") || !strings.Contains(out, "keep the zip layout and stay readable") {
		t.Errorf("destination update --layout pool:\n%s\nwant it to say new backups use the pool and stored ones stay readable", out)
	}
	if out := c.ok("destination", "update", "zipped", "--layout", "pool"); strings.Contains(out, "from now on") {
		t.Errorf("setting the layout a destination has:\n%s\nwant no word of a change", out)
	}
	c.fails(2, `--layout "Pools" is not a layout`, "destination", "update", "pooled", "--layout", "Pools")
	c.fails(2, "say what to change: --layout pool|zip", "destination", "update", "pooled")
	c.fails(2, "has no credentials to update", "destination", "update", "pooled", "--access-key", "AKIA")
	want["zipped"] = "pool"
	if got := c.destinationLayouts(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after the updates: layouts %v, want %v (the refused ones changed nothing)", got, want)
	}
	c.ok("destination", "update", "pooled", "--layout", "zip")
	if got := listedLayout(t, c.ok("destination", "list"), "pooled"); got != "zip" {
		t.Errorf("after update --layout zip, destination list shows %q", got)
	}
}

// The one test of the default: a destination added without --layout gets
// core.DefaultLayout, whatever it is today.
func TestDestinationDefaultLayout(t *testing.T) {
	c := newCLI(t)
	c.ok("destination", "add", "plain", "--dir", filepath.Join(c.dir, "plain"))
	if got, want := c.destinationLayouts()["plain"], string(core.DefaultLayout()); got != want {
		t.Errorf("a destination added without --layout has layout %q, want core.DefaultLayout %q", got, want)
	}
}

// On the command line: a backup to a pool
// destination says how many files it holds and what it newly stored; an
// unchanged filestore stores nothing new; a file whose content does not
// match its name is warned of in the backup's output, counted and named
// in backups --json, and makes status warn (exit 0), as a missing file
// does. A backup taken before the layout changed stays readable.
func TestPoolBackupOutput(t *testing.T) {
	pg := servers.Postgres(t)
	c := newCLI(t)
	ctx := context.Background()
	odoo, err := testbed.GenerateOdoo(ctx, pg, "cli_pool", filepath.Join(t.TempDir(), "odoo"), testbed.OdooOptions{Seed: 46, Files: 10})
	if err != nil {
		t.Fatal(err)
	}
	c.ok("destination", "add", "disk", "--dir", filepath.Join(c.dir, "disk"), "--layout", "zip")
	c.addService("shop", odoo)
	c.ok("config", "set", "shop", "disk")
	out := c.ok("backup", "shop")
	if strings.Contains(out, "pool") {
		t.Errorf("a backup to a zip destination:\n%s\nwant no word of a pool", out)
	}
	zipID := regexp.MustCompile(`Backup (\d+) of shop`).FindStringSubmatch(out)
	if zipID == nil {
		t.Fatalf("backup output %q names no backup", out)
	}
	c.ok("destination", "update", "disk", "--layout", "pool")

	out = c.ok("backup", "shop")
	files := regexp.MustCompile(`Filestore in the pool of disk: (\d+) files, [0-9.]+ [kMG]?B: (\d+) new files, [0-9.]+ [kMG]?B; 0 already stored\.`).FindStringSubmatch(out)
	if files == nil || files[1] != files[2] || files[1] == "0" {
		t.Fatalf("first pool backup:\n%s\nwant every file of the filestore new in the pool", out)
	}
	out = c.ok("backup", "shop")
	if want := fmt.Sprintf(": 0 new files, 0 B; %s already stored.", files[1]); !strings.Contains(out, want) {
		t.Errorf("backup of an unchanged filestore:\n%s\nwant %q", out, want)
	}
	if out := c.ok("verify", zipID[1]); !strings.Contains(out, "is sound") {
		t.Errorf("verify of the zip backup taken before the layout changed:\n%s", out)
	}

	odd, err := odoo.AddAttachment(ctx, []byte("not what the name says"), "00/00112233445566778899aabbccddeeff00112233")
	if err != nil {
		t.Fatal(err)
	}
	r := c.run("backup", "shop")
	if r.code != 0 || !strings.Contains(r.stdout, "Warning: backup") || !strings.Contains(r.stdout, "holds 1 filestore file(s) whose content does not match their name (first: "+odd+")") ||
		!strings.Contains(r.stdout, ": 1 new file,") {
		t.Errorf("backup with a mismatching file: exit %d\n%s%s\nwant one new file and a warning naming %s", r.code, r.stdout, r.stderr, odd)
	}
	var bs []struct {
		ID     int64           `json:"id"`
		Format string          `json:"format"`
		Pool   *core.PoolFacts `json:"pool"`
	}
	c.json(&bs, "backups", "shop")
	if len(bs) != 4 || bs[0].Pool == nil || bs[3].Pool != nil || bs[0].Format != core.FormatOdooPool {
		t.Fatalf("backups --json: %+v, want 4 backups, the newest three with pool facts, the first (zip) without", bs)
	}
	if p := bs[0].Pool; p.MismatchCount != 1 || len(p.Mismatched) != 1 || p.Mismatched[0] != odd || p.NewObjects != 1 || p.Files != mustAtoi(t, files[1])+1 {
		t.Errorf("backups --json pool facts %+v, want %s files, 1 new object, 1 mismatch naming %s", *p, files[1]+"+1", odd)
	}
	if out := c.ok("backups", "shop"); !strings.Contains(out, "succeeded, 1 file(s) not matching their name") {
		t.Errorf("backups:\n%s\nwant the newest marked with its mismatching file", out)
	}

	r = c.run("status")
	if r.code != 0 || !strings.Contains(r.stdout, "Warning (not a failure): shop on disk: backup "+itoa(bs[0].ID)+" holds 1 filestore file(s) whose content does not match their name") {
		t.Errorf("status: exit %d\n%s%s\nwant exit 0 and a warning about the mismatching file", r.code, r.stdout, r.stderr)
	}
	st, code := c.status()
	if code != 0 || !st.Healthy || len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], odd) || st.Services[0].Configurations[0].State != core.HealthWarning {
		t.Errorf("status --json: exit %d, healthy %v, warnings %q, want healthy with one warning naming %s in state warning", code, st.Healthy, st.Warnings, odd)
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}
