package core_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// hostileDBNames would break out of an identifier, a conninfo string, an
// option or a path if they reached SQL, pg_dump or the filesystem unchecked.
var hostileDBNames = []string{
	`x"; DROP DATABASE postgres; --`,
	"x' OR '1'='1",
	"dbname=postgres",
	"-h",
	"../../etc",
	"a/b",
	".hidden",
	"new\ndb",
	"",
	strings.Repeat("d", 64), // PostgreSQL would silently cut it to 63
}

// Database and service names from the command line are refused before any
// database, filestore or catalog row is made.
func TestHostileNamesRefused(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 36})
	b := e.backup("local")[0]
	before := e.databasesLike("")
	entries := func() []string {
		des, _ := os.ReadDir(filepath.Dir(e.odoo.FilestoreDir))
		var names []string
		for _, d := range des {
			names = append(names, d.Name())
		}
		return names
	}
	fsBefore := strings.Join(entries(), ",")

	for _, name := range hostileDBNames {
		_, err := e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: name})
		if !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), "database name") || strings.Contains(err.Error(), "\n") {
			t.Errorf("RestoreNewDB(new db %q) = %v; want a one-line ErrInvalid about the database name", name, err)
		}
		_, err = e.engine.CopyService(e.ctx, core.CopyServiceRequest{Source: "prod", NewName: "copy", NewDB: name})
		if !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), "database name") {
			t.Errorf("CopyService(new db %q) = %v; want ErrInvalid about the database name", name, err)
		}
		svc := e.svc
		svc.ID, svc.Name, svc.DB.Database = 0, "other", name
		if err := e.cat.AddService(e.ctx, &svc, ""); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("AddService(database %q) = %v; want ErrInvalid", name, err)
		}
	}
	for _, name := range []string{"../x", "x/y", "-x", ".x", "x y", "x\x00", "", strings.Repeat("s", 64)} {
		_, err := e.engine.CopyService(e.ctx, core.CopyServiceRequest{Source: "prod", NewName: name, NewDB: "copy_db"})
		if !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), "service name") {
			t.Errorf("CopyService(new name %q) = %v; want ErrInvalid about the service name", name, err)
		}
		for what, add := range map[string]func() error{
			"service": func() error {
				s := e.svc
				s.ID, s.Name = 0, name
				return e.cat.AddService(e.ctx, &s, "")
			},
			"destination": func() error {
				d := core.Destination{Name: name, Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: t.TempDir()}}
				return e.cat.AddDestination(e.ctx, &d)
			},
			"template": func() error {
				return e.cat.AddTemplate(e.ctx, &core.Template{Name: name})
			},
		} {
			if err := add(); !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), what+" name") {
				t.Errorf("adding %s %q = %v; want ErrInvalid about the %s name", what, name, err, what)
			}
		}
	}
	if after := e.databasesLike(""); after != before {
		t.Errorf("databases changed from %s to %s", before, after)
	}
	if after := strings.Join(entries(), ","); after != fsBefore {
		t.Errorf("filestores changed from %s to %s", fsBefore, after)
	}
	services, err := e.cat.Services(e.ctx)
	if err != nil || len(services) != 1 {
		t.Errorf("services = %+v, %v; want only prod", services, err)
	}
}
