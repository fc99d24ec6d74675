package core_test

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

func (e *env) param(db, key string) string {
	e.t.Helper()
	pg := servers.Postgres(e.t)
	v, err := pg.QueryString(e.ctx, db, "SELECT value FROM ir_config_parameter WHERE key = $1", key)
	if err != nil {
		e.t.Fatalf("%s of %s: %v", key, db, err)
	}
	return v
}

func configsJSON(t *testing.T, cs []core.Configuration) string {
	t.Helper()
	for i := range cs {
		cs[i].Service, cs[i].ServiceID, cs[i].DestinationID = "", 0, 0
	}
	b, err := json.Marshal(cs)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A copy is a fresh `copy` backup of the source on its primary, restored
// into a new database and filestore with a new uuid and secret, and
// registered as a service with the source's configurations; the source is
// untouched.
func TestCopyService(t *testing.T) {
	pg := servers.Postgres(t)
	e := newEnv(t, testbed.OdooOptions{Seed: 7})
	// Distinct settings, so a copy that drops one shows.
	if err := e.cat.SetConfiguration(e.ctx, core.Configuration{Service: "prod", Destination: "minio", Frequency: core.Weekly,
		Schedule: core.Schedule{Hour: 3, Minute: 15, Weekday: time.Wednesday, MonthDay: 1}, Retention: core.Retention{KeepLast: 4}, Primary: true}); err != nil {
		t.Fatal(err)
	}
	source := e.print(e.odoo.Name, e.odoo.FilestoreDir)
	wantConfigs, err := e.cat.Configurations(e.ctx, "prod")
	if err != nil {
		t.Fatal(err)
	}
	uuid, secret := e.param(e.odoo.Name, "database.uuid"), e.param(e.odoo.Name, "database.secret")

	newDB := e.odoo.Name + "_copy"
	// In Odoo's data dir, as Odoo's duplicate does: the copy's files
	// belong to the data dir's owner.
	fsDir := filepath.Join(e.odoo.DataDir, "filestore", "copy-filestore")
	res, err := e.engine.CopyService(e.ctx, core.CopyServiceRequest{Source: "prod", NewName: "prod-copy", NewDB: newDB, FilestoreDir: fsDir})
	if err != nil {
		t.Fatal(err)
	}
	if res.Backup.Kind != core.KindCopy || res.Backup.Destination != "minio" || res.Backup.Status != core.StatusSucceeded {
		t.Errorf("copy backup %+v: want a succeeded copy backup on the primary (minio)", res.Backup)
	}
	svc, err := e.cat.Service(e.ctx, "prod-copy")
	if err != nil {
		t.Fatal(err)
	}
	if svc.DB.Database != newDB || svc.DB.Host != e.svc.DB.Host || svc.DB.Port != e.svc.DB.Port || svc.DB.User != e.svc.DB.User || svc.FilestoreDir != fsDir {
		t.Errorf("new service %+v: want the source's connection with database %s and filestore %s", svc, newDB, fsDir)
	}
	gotConfigs, err := e.cat.Configurations(e.ctx, "prod-copy")
	if err != nil {
		t.Fatal(err)
	}
	if g, w := configsJSON(t, gotConfigs), configsJSON(t, wantConfigs); g != w {
		t.Errorf("configurations:\ngot  %s\nwant %s", g, w)
	}
	if u, s := e.param(newDB, "database.uuid"), e.param(newDB, "database.secret"); u == uuid || s == secret || u == "" || s == "" {
		t.Errorf("copy's uuid %q and secret %q: want new ones, not %q and %q", u, s, uuid, secret)
	}

	e.wantOwned(e.odoo, newDB, fsDir)

	// Everything but the two parameters is equal.
	copyPrint := e.print(newDB, fsDir)
	var diff []string
	for _, d := range source.Diff(copyPrint) {
		if !strings.Contains(d, "ir_config_parameter") {
			diff = append(diff, d)
		}
	}
	if len(diff) > 0 {
		t.Errorf("the copy differs from the source:\n%s", strings.Join(diff, "\n"))
	}
	if n, err := pg.QueryInt(e.ctx, newDB, "SELECT count(*) FROM ir_config_parameter WHERE key NOT IN ('database.uuid', 'database.secret')"); err != nil || n == 0 {
		t.Fatalf("parameters of the copy: %d, %v", n, err)
	}
	if diff := source.Diff(e.print(e.odoo.Name, e.odoo.FilestoreDir)); len(diff) > 0 {
		t.Errorf("the source changed:\n%s", strings.Join(diff, "\n"))
	}
	if e.param(e.odoo.Name, "database.uuid") != uuid {
		t.Error("the source's uuid changed")
	}

	// The copy is a service like any other: it backs up.
	if _, err := e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod-copy"}); err != nil {
		t.Errorf("backup of the copy: %v", err)
	}

	// Refusals come before any work.
	for _, tc := range []struct {
		name, svc, db string
		want          error
	}{
		{"existing service", "prod-copy", newDB + "2", core.ErrExists},
		{"existing database", "prod-copy2", newDB, core.ErrExists},
		{"bad database name", "prod-copy3", "bad name", core.ErrInvalid},
	} {
		before, _ := e.cat.Backups(e.ctx, core.BackupFilter{Service: "prod"})
		_, err := e.engine.CopyService(e.ctx, core.CopyServiceRequest{Source: "prod", NewName: tc.svc, NewDB: tc.db, FilestoreDir: filepath.Join(e.dir, tc.name)})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
		if _, err := e.cat.Service(e.ctx, tc.svc); tc.svc != "prod-copy" && err == nil {
			t.Errorf("%s: service %s was registered", tc.name, tc.svc)
		}
		after, _ := e.cat.Backups(e.ctx, core.BackupFilter{Service: "prod"})
		if tc.want == core.ErrInvalid && len(after) != len(before) {
			t.Errorf("%s: a backup was taken before the refusal", tc.name)
		}
	}
}
