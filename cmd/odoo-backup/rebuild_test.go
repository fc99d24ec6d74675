package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

type rebuildJSON struct {
	Destinations []struct {
		Destination  string `json:"destination"`
		Found        int    `json:"found"`
		Added        int    `json:"added"`
		AlreadyKnown int    `json:"already_known"`
		Skipped      []struct {
			Key    string `json:"key"`
			Reason string `json:"reason"`
		} `json:"skipped"`
		Error string `json:"error"`
	} `json:"destinations"`
	Placeholders []string `json:"placeholders"`
	Renumbered   []struct {
		Destination string `json:"destination"`
		Key         string `json:"key"`
		RecordedID  int64  `json:"recorded_id"`
		ID          int64  `json:"id"`
	} `json:"renumbered"`
}

func (r rebuildJSON) added() (n int) {
	for _, d := range r.Destinations {
		n += d.Added
	}
	return n
}

// A lost catalog, end to end: after the catalog file is deleted, re-adding the
// destinations and running catalog rebuild lists every backup with the same
// checksums, and each restores once its service is known.
func TestCatalogRebuild(t *testing.T) {
	pg := servers.Postgres(t)
	minio := servers.MinIO(t)
	c := newCLI(t)
	prodDB := generate(t, "cli_rebuild_prod")
	shopDB := generate(t, "cli_rebuild_shop")
	bucket := minio.NewBucket(t)
	c.addS3("s3", bucket)
	c.ok("destination", "add", "disk", "--dir", filepath.Join(c.dir, "disk"))
	c.addService("prod", prodDB)
	c.addService("shop", shopDB)
	for _, svc := range []string{"prod", "shop"} {
		c.ok("config", "set", svc, "s3")
		c.ok("config", "set", svc, "disk")
		c.ok("backup", svc, "--all-destinations")
	}
	c.ok("backup", "prod", "--destination", "disk")
	var before []backupJSON
	c.json(&before, "backups")
	if len(before) != 5 {
		t.Fatalf("backups before: %+v", before)
	}
	// Something in the bucket that is not a backup.
	if err := os.WriteFile(filepath.Join(c.dir, "disk", "README.json"), []byte("[1, 2]"), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, f := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(c.catalog + f); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	if out := c.ok("backups"); strings.Contains(out, "prod") {
		t.Fatalf("a new catalog already knows backups:\n%s", out)
	}
	c.fails(2, "no destination", "catalog", "rebuild")
	c.addS3("s3", bucket)
	c.ok("destination", "add", "disk", "--dir", filepath.Join(c.dir, "disk"))
	c.addService("prod", prodDB)

	out := c.ok("catalog", "rebuild")
	for _, want := range []string{"disk", "README.json", "not a backup metadata object", "placeholder service shop", "5 backups recovered"} {
		if !strings.Contains(out, want) {
			t.Errorf("catalog rebuild output lacks %q:\n%s", want, out)
		}
	}
	var after []orphanJSON
	c.json(&after, "backups")
	if len(after) != len(before) {
		t.Fatalf("after rebuild: %d backups, want %d", len(after), len(before))
	}
	type ident struct{ service, destination, sha string }
	want := map[ident]int{}
	for _, b := range before {
		want[ident{b.Service, b.Destination, b.SHA256}]++
	}
	for i, b := range after {
		k := ident{b.Service, b.Destination, b.SHA256}
		if want[k] == 0 {
			t.Errorf("rebuilt backup %+v was not taken before", b)
		}
		want[k]--
		if b.Status != "succeeded" || !b.Orphaned || b.Kind != "manual" || b.FinishedAt == nil {
			t.Errorf("rebuilt backup %+v: want succeeded, manual, finished, orphaned", b)
		}
		if b.ID != before[i].ID {
			t.Errorf("rebuilt backup of %s on %s has id %d, want the id it had, %d", b.Service, b.Destination, b.ID, before[i].ID)
		}
		if !b.StartedAt.Equal(before[i].StartedAt) {
			t.Errorf("backup %d started %v, want the order of before, newest first (%v)", b.ID, b.StartedAt, before[i].StartedAt)
		}
	}
	var svcs []struct {
		Name        string `json:"name"`
		Placeholder bool   `json:"placeholder"`
		DB          struct {
			Database string `json:"database"`
		} `json:"db"`
	}
	c.json(&svcs, "service", "list")
	if len(svcs) != 2 || svcs[0].Name != "prod" || svcs[0].Placeholder || svcs[1].Name != "shop" || !svcs[1].Placeholder || svcs[1].DB.Database != shopDB.Name {
		t.Errorf("services after rebuild: %+v, want prod and a placeholder shop for %s", svcs, shopDB.Name)
	}

	var again rebuildJSON
	c.json(&again, "catalog", "rebuild")
	known := 0
	for _, d := range again.Destinations {
		known += d.AlreadyKnown
		if d.Destination == "disk" && (len(d.Skipped) != 1 || d.Skipped[0].Key != "README.json") {
			t.Errorf("disk: skipped %+v, want README.json only", d.Skipped)
		}
	}
	if again.added() != 0 || known != 5 || len(again.Placeholders) != 0 {
		t.Errorf("second rebuild %+v: want nothing added, 5 already known", again)
	}

	// Each backup restores; shop's once its connection is given again.
	var shopIDs []int64
	for _, b := range after {
		if b.Service == "shop" {
			shopIDs = append(shopIDs, b.ID)
			continue
		}
		db := "cli_rebuilt_" + itoa(b.ID)
		c.ok("restore", itoa(b.ID), "--new-db", db, "--filestore", filepath.Join(c.dir, db))
		if n, err := pg.QueryInt(t.Context(), db, "SELECT count(*) FROM ir_attachment"); err != nil || n != int64(prodDB.Attachments) {
			t.Errorf("restored %s has %d attachments (%v), want %d", db, n, err, prodDB.Attachments)
		}
	}
	c.fails(1, "service add", "restore", itoa(shopIDs[0]), "--new-db", "cli_rebuilt_shop")
	c.addService("shop", shopDB)
	for _, id := range shopIDs {
		db := "cli_rebuilt_" + itoa(id)
		c.ok("restore", itoa(id), "--new-db", db, "--filestore", filepath.Join(c.dir, db))
		if n, err := pg.QueryInt(t.Context(), db, "SELECT count(*) FROM ir_attachment"); err != nil || n != int64(shopDB.Attachments) {
			t.Errorf("restored %s has %d attachments (%v), want %d", db, n, err, shopDB.Attachments)
		}
	}
}

// A destination forgotten with --forget-backups can be added again and its
// backups recovered.
func TestForgetDestinationThenRebuild(t *testing.T) {
	c := newCLI(t)
	odoo := generate(t, "cli_forget")
	c.ok("destination", "add", "old", "--dir", filepath.Join(c.dir, "old"))
	c.ok("destination", "add", "new", "--dir", filepath.Join(c.dir, "new"))
	c.addService("prod", odoo)
	c.ok("config", "set", "prod", "new")
	c.ok("config", "set", "prod", "old")
	c.ok("backup", "prod", "--all-destinations")
	c.ok("backup", "prod", "--destination", "old")

	c.fails(1, "is still used by service \"prod\"", "destination", "remove", "old")
	c.ok("config", "remove", "prod", "old")
	c.fails(1, "destination \"old\" still has 2 backups in the catalog; to remove it anyway and forget them (their files stay where they are), run: odoo-backup destination remove old --forget-backups", "destination", "remove", "old")
	c.ok("destination", "remove", "old", "--forget-backups")
	if got := c.backupsWhere(""); len(got) != 1 || got[0].Destination != "new" {
		t.Errorf("after forgetting old: %+v, want only the backup on new", got)
	}
	if files, _ := filepath.Glob(filepath.Join(c.dir, "old", "prod", "*", "*", "*.zip")); len(files) != 2 {
		t.Errorf("forgetting touched the objects: %v", files)
	}

	c.ok("destination", "add", "old", "--dir", filepath.Join(c.dir, "old"))
	var res rebuildJSON
	c.json(&res, "catalog", "rebuild")
	if res.added() != 2 || len(res.Placeholders) != 0 {
		t.Errorf("rebuild: %+v, want the 2 backups of old back and no placeholder", res)
	}
	if got := c.backupsWhere("succeeded"); len(got) != 3 {
		t.Errorf("after rebuild: %+v, want 3 succeeded backups", got)
	}
}

// Ids survive a rebuild even when destinations written by two catalogs
// meet in one: the oldest backup keeps a contested id; the newer one, like
// an object from before ids were recorded, gets a new id after the highest
// recorded, oldest first. The old ids restore what they named.
func TestCatalogRebuildKeepsIDsAndSettlesClashes(t *testing.T) {
	pg := servers.Postgres(t)
	a, b := newCLI(t), newCLI(t)
	odoo := generate(t, "cli_rebuild_ids")
	dirA, dirB := filepath.Join(a.dir, "a"), filepath.Join(b.dir, "b")
	a.ok("destination", "add", "a", "--dir", dirA)
	a.addService("prod", odoo)
	a.ok("config", "set", "prod", "a")
	a.ok("backup", "prod")
	a.ok("backup", "prod")
	b.ok("destination", "add", "b", "--dir", dirB)
	b.addService("prod", odoo)
	b.ok("config", "set", "prod", "b")
	b.ok("backup", "prod")
	var fromA, fromB []backupJSON
	a.json(&fromA, "backups")
	b.json(&fromB, "backups")
	if len(fromA) != 2 || fromA[0].ID != 2 || fromA[1].ID != 1 || len(fromB) != 1 || fromB[0].ID != 1 {
		t.Fatalf("backups: a %+v, b %+v; want ids 2, 1 and 1", fromA, fromB)
	}
	// An object written before ids were recorded: the newest of a.
	metas, _ := filepath.Glob(filepath.Join(dirA, "prod", "*", "*", "*.zip.json"))
	if len(metas) != 2 {
		t.Fatalf("metadata objects on a: %v", metas)
	}
	var newest string
	var raw []byte
	for _, m := range metas {
		if r, err := os.ReadFile(m); err == nil && strings.Contains(string(r), `"id": 2,`) {
			newest, raw = m, r
		}
	}
	if newest == "" {
		t.Fatalf("no metadata object on a records id 2: %v", metas)
	}
	if err := os.WriteFile(newest, []byte(strings.Replace(string(raw), `"id": 2,`, "", 1)), 0o600); err != nil {
		t.Fatal(err)
	}

	c := newCLI(t)
	c.ok("destination", "add", "a", "--dir", dirA)
	c.ok("destination", "add", "b", "--dir", dirB)
	c.addService("prod", odoo)
	var res rebuildJSON
	c.json(&res, "catalog", "rebuild")
	if res.added() != 3 || len(res.Renumbered) != 1 || res.Renumbered[0].Destination != "b" || res.Renumbered[0].RecordedID != 1 || res.Renumbered[0].ID != 3 {
		t.Fatalf("rebuild: %+v; want 3 added, b's backup 1 renumbered to 3", res)
	}
	var after []backupJSON
	c.json(&after, "backups")
	got := map[string]int64{}
	for _, bk := range after {
		got[bk.Destination+" "+bk.SHA256] = bk.ID
	}
	want := map[string]int64{
		"a " + fromA[1].SHA256: 1, // the oldest keeps its id
		"a " + fromA[0].SHA256: 2, // no recorded id: after the highest recorded (1), oldest first
		"b " + fromB[0].SHA256: 3, // the contested id: likewise, being newer
	}
	for k, id := range want {
		if got[k] != id {
			t.Errorf("backup %s has id %d, want %d (all: %v)", k, got[k], id, got)
		}
	}
	// The same rebuild again, from a fresh catalog, gives the same ids.
	for _, f := range []string{"", "-wal", "-shm"} {
		os.Remove(c.catalog + f)
	}
	c.ok("destination", "add", "a", "--dir", dirA)
	c.ok("destination", "add", "b", "--dir", dirB)
	c.addService("prod", odoo)
	c.ok("catalog", "rebuild")
	var again []backupJSON
	c.json(&again, "backups")
	for _, bk := range again {
		if got[bk.Destination+" "+bk.SHA256] != bk.ID {
			t.Errorf("a second rebuild gave backup %s on %s id %d, the first %d", bk.SHA256, bk.Destination, bk.ID, got[bk.Destination+" "+bk.SHA256])
		}
	}
	// The id a printed before the rebuild still restores its backup.
	db := "cli_rebuild_ids_1"
	c.ok("restore", "1", "--new-db", db, "--filestore", filepath.Join(c.dir, db))
	if n, err := pg.QueryInt(t.Context(), db, "SELECT count(*) FROM ir_attachment"); err != nil || n != int64(odoo.Attachments) {
		t.Errorf("restored %s has %d attachments (%v), want %d", db, n, err, odoo.Attachments)
	}
}

// The id a restore printed for its safety backup ("restore it with:
// odoo-backup restore N --service prod --yes") names the same backup after
// the catalog is lost and rebuilt, and that command puts it back.
func TestCatalogRebuildKeepsSafetyBackupID(t *testing.T) {
	c := newCLI(t)
	odoo := generate(t, "cli_rebuild_safety")
	disk := filepath.Join(c.dir, "disk")
	c.ok("destination", "add", "disk", "--dir", disk)
	c.addService("prod", odoo)
	c.ok("config", "set", "prod", "disk")
	c.ok("backup", "prod")
	c.ok("backup", "prod")
	out := c.ok("restore", "1", "--service", "prod", "--yes")
	m := regexp.MustCompile(`Safety backup (\d+) of prod taken first; restore it with: odoo-backup restore (\d+) --service prod --yes`).FindStringSubmatch(out)
	if m == nil || m[1] != m[2] {
		t.Fatalf("the restore should name its safety backup and the command that puts it back:\n%s", out)
	}
	id := m[1]
	safetyID, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	var before []backupJSON
	c.json(&before, "backups")

	for _, f := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(c.catalog + f); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	c.ok("destination", "add", "disk", "--dir", disk)
	c.addService("prod", odoo)
	c.ok("catalog", "rebuild")
	var after []backupJSON
	c.json(&after, "backups")
	if len(after) != len(before) {
		t.Fatalf("after the rebuild: %+v, want the %d backups of before", after, len(before))
	}
	for i, b := range after {
		if b.ID != before[i].ID || b.Kind != before[i].Kind || b.SHA256 != before[i].SHA256 {
			t.Errorf("after the rebuild backup %d is %s %s, before it was backup %d, %s %s", b.ID, b.Kind, b.SHA256, before[i].ID, before[i].Kind, before[i].SHA256)
		}
	}
	if b := c.backupByID(safetyID); b.Kind != "safety" {
		t.Errorf("backup %s after the rebuild is %s, want the safety backup", id, b.Kind)
	}
	// The restore takes a safety backup first: prod needs its primary again.
	c.ok("config", "set", "prod", "disk")
	if out := c.ok("restore", id, "--service", "prod", "--yes"); !strings.Contains(out, "Backup "+id+" restored onto prod") {
		t.Errorf("restore %s after the rebuild:\n%s", id, out)
	}
}
