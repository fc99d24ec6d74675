package core_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/s3"
	"github.com/odoo-backup/odoo-backup/store"
)

// Losing the catalog loses no backup: a fresh catalog that knows only the
// destinations (and one of the two services) gets every succeeded backup
// back from the metadata objects, with the same checksums, and each
// restores; what is not a backup is skipped and reported; a second run adds
// nothing.
func TestRebuildCatalog(t *testing.T) {
	pg := servers.Postgres(t)
	e := newEnv(t, testbed.OdooOptions{Seed: 41})
	shopDB, err := testbed.GenerateOdoo(e.ctx, pg, e.odoo.Name+"_shop", filepath.Join(e.dir, "shop"), testbed.OdooOptions{Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	shop := shopDB.Service("shop")
	if err := e.cat.AddService(e.ctx, &shop, ""); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"local", "minio"} {
		if err := e.cat.SetConfiguration(e.ctx, core.Configuration{Service: "shop", Destination: d, Frequency: core.Daily}); err != nil {
			t.Fatal(err)
		}
	}

	// Manual backups of both services on both destinations, scheduled ones
	// an hour and two ago, and one deleted by hand that must not come back.
	var taken []core.Backup
	for _, svc := range []string{"prod", "shop"} {
		bs, err := e.engine.Backup(e.ctx, core.BackupRequest{Service: svc, Destinations: []string{"local", "minio"}})
		if err != nil {
			t.Fatal(err)
		}
		taken = append(taken, bs...)
	}
	for i := 2; i >= 1; i-- {
		e.engine.Now = func() time.Time { return time.Now().Add(-time.Duration(i) * time.Hour) }
		bs, err := e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: []string{"minio"}, Kind: core.KindScheduled})
		if err != nil {
			t.Fatal(err)
		}
		taken = append(taken, bs...)
	}
	e.engine.Now = nil
	gone := e.backup("local")[0]
	if _, err := e.engine.DeleteBackup(e.ctx, core.DeleteRequest{BackupID: gone.ID}); err != nil {
		t.Fatal(err)
	}

	// Things on the destinations that are not backups.
	put := func(d core.Destination, key, body string) {
		if err := e.store(d).Put(e.ctx, key, strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
	}
	put(e.local, "prod/2026/01/prod_20260101-000000_manual.zip.json", "{not json")
	put(e.local, "prod/2026/01/prod_20260101-000000_manual.zip", "whatever")
	put(e.s3, "notes.json", `{"hello": "world"}`)
	meta := readObject(t, e, e.s3, core.MetadataKey(taken[1].Key))
	put(e.s3, "prod/2020/01/prod_20200101-000000_manual.zip.json", string(meta))
	put(e.local, "old/short.zip.json", string(readObject(t, e, e.local, core.MetadataKey(taken[0].Key))))
	put(e.local, "old/short.zip", "too short")
	wantSkipped := map[string]string{
		"local:prod/2026/01/prod_20260101-000000_manual.zip.json": "not valid JSON",
		"minio:notes.json": "lacks its version",
		"minio:prod/2020/01/prod_20200101-000000_manual.zip.json": "is missing",
		"local:old/short.zip.json":                                "holds 9 bytes",
	}

	// The catalog is lost; the destinations and one service are added again.
	cat := openCatalog(t, filepath.Join(t.TempDir(), "catalog.db"))
	engine := &core.Engine{Catalog: cat, OpenStore: s3.Open}
	for _, d := range []core.Destination{e.local, e.s3} {
		d.ID, d.CreatedAt = 0, time.Time{}
		if err := cat.AddDestination(e.ctx, &d); err != nil {
			t.Fatal(err)
		}
	}
	unread := core.Destination{Name: "unplugged", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: filepath.Join(e.dir, "unplugged")}}
	if err := cat.AddDestination(e.ctx, &unread); err != nil {
		t.Fatal(err)
	}
	prod := e.odoo.Service("prod")
	if err := cat.AddService(e.ctx, &prod, ""); err != nil {
		t.Fatal(err)
	}

	res, err := engine.RebuildCatalog(e.ctx)
	if !errors.Is(err, core.ErrUnreachable) && !errors.Is(err, core.ErrNotFound) || !strings.Contains(err.Error(), `"unplugged"`) {
		t.Errorf("with a destination that cannot be read: got %v, want an error naming it", err)
	}
	if res.Added() != len(taken) {
		t.Errorf("added %d backups, want %d", res.Added(), len(taken))
	}
	if len(res.Placeholders) != 1 || res.Placeholders[0] != "shop" {
		t.Errorf("placeholders %v, want shop", res.Placeholders)
	}
	gotSkipped := map[string]string{}
	for _, d := range res.Destinations {
		if d.Destination == "unplugged" {
			if d.Error == "" {
				t.Errorf("unplugged destination: no error in %+v", d)
			}
			continue
		}
		if d.Error != "" || d.Found != d.Added+d.AlreadyKnown+len(d.Skipped) {
			t.Errorf("destination %+v: found should be added + already known + skipped", d)
		}
		for _, s := range d.Skipped {
			gotSkipped[d.Destination+":"+s.Key] = s.Reason
		}
	}
	for k, want := range wantSkipped {
		if !strings.Contains(gotSkipped[k], want) {
			t.Errorf("skipped %s: reason %q, want it to say %q", k, gotSkipped[k], want)
		}
	}
	if len(gotSkipped) != len(wantSkipped) {
		t.Errorf("skipped %v, want exactly %v", gotSkipped, wantSkipped)
	}

	rebuilt, err := cat.Backups(e.ctx, core.BackupFilter{})
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]core.Backup{}
	for i, b := range rebuilt {
		byKey[b.Destination+":"+b.Key] = b
		if i > 0 && b.ID >= rebuilt[i-1].ID {
			t.Errorf("listing newest first: backup %d after %d", b.ID, rebuilt[i-1].ID)
		}
		if !b.Orphaned {
			t.Errorf("rebuilt backup %d has a configuration, want it orphaned until configured", b.ID)
		}
	}
	if len(rebuilt) != len(taken) {
		t.Errorf("catalog lists %d backups, want %d", len(rebuilt), len(taken))
	}
	for _, want := range taken {
		got, ok := byKey[want.Destination+":"+want.Key]
		if !ok {
			t.Errorf("backup %s on %s not rebuilt", want.Key, want.Destination)
			continue
		}
		if got.ID != want.ID {
			t.Errorf("backup %s on %s rebuilt as %d, want the id it had, %d", want.Key, want.Destination, got.ID, want.ID)
		}
		if got.SHA256 != want.SHA256 || got.Size != want.Size || got.Service != want.Service || got.Kind != want.Kind ||
			got.Status != core.StatusSucceeded || !got.StartedAt.Equal(want.StartedAt) || got.FinishedAt == nil ||
			!got.FinishedAt.Equal(*want.FinishedAt) || got.Database != want.Database || got.OdooVersion != want.OdooVersion ||
			got.PGVersion != want.PGVersion || got.Format != want.Format {
			t.Errorf("rebuilt %+v\nwant     %+v", got, want)
		}
	}
	if _, ok := byKey["local:"+gone.Key]; ok {
		t.Error("a backup deleted by hand came back")
	}
	ph, err := cat.Service(e.ctx, "shop")
	if err != nil || !ph.Placeholder || ph.DB.Database != shopDB.Name {
		t.Errorf("shop: %+v (%v), want a placeholder for database %s", ph, err, shopDB.Name)
	}

	// Idempotent.
	again, _ := engine.RebuildCatalog(e.ctx)
	known := 0
	for _, d := range again.Destinations {
		known += d.AlreadyKnown
	}
	if again.Added() != 0 || known != len(taken) || len(again.Placeholders) != 0 {
		t.Errorf("second rebuild: added %d, known %d, placeholders %v; want 0, %d, none", again.Added(), known, again.Placeholders, len(taken))
	}

	// Every backup restores: prod's at once, shop's once it is added again.
	source := map[string]testbed.Print{"prod": e.print(e.odoo.Name, e.odoo.FilestoreDir), "shop": e.print(shopDB.Name, shopDB.FilestoreDir)}
	restore := func(b core.Backup) error {
		db := fmt.Sprintf("%s_r%d", e.odoo.Name, b.ID)
		fs := filepath.Join(e.dir, "restored", db)
		if _, err := engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: db, FilestoreDir: fs}); err != nil {
			return err
		}
		if diff := source[b.Service].Diff(e.print(db, fs)); len(diff) > 0 {
			t.Errorf("backup %d restored differently from %s:\n%s", b.ID, b.Service, strings.Join(diff, "\n"))
		}
		return nil
	}
	var shopBackups []core.Backup
	for _, b := range rebuilt {
		if b.Service == "shop" {
			shopBackups = append(shopBackups, b)
			continue
		}
		if err := restore(b); err != nil {
			t.Errorf("restore rebuilt backup %d of prod on %s: %v", b.ID, b.Destination, err)
		}
	}
	if len(shopBackups) != 2 {
		t.Fatalf("shop has %d rebuilt backups, want 2", len(shopBackups))
	}
	if err := restore(shopBackups[0]); !errors.Is(err, core.ErrInvalid) || !advised(err, core.ActionSetConnection) {
		t.Errorf("restore for a placeholder: got %v, want it to say to add the service", err)
	}
	shop.ID, shop.CreatedAt = 0, time.Time{}
	if err := cat.AddService(e.ctx, &shop, ""); err != nil {
		t.Fatalf("adding the placeholder's service for real: %v", err)
	}
	for _, b := range shopBackups {
		if err := restore(b); err != nil {
			t.Errorf("restore rebuilt backup %d of shop on %s: %v", b.ID, b.Destination, err)
		}
	}
}

func openCatalog(t *testing.T, path string) *store.Catalog {
	t.Helper()
	cat, err := store.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	return cat
}

func readObject(t *testing.T, e *env, d core.Destination, key string) []byte {
	t.Helper()
	rc, err := e.store(d).Get(e.ctx, key, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, rc); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
