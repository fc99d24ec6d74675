package store

import (
	"context"
	"errors"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
)

// A placeholder made by a catalog rebuild becomes the real service when the
// user adds it, keeping its id so its rebuilt backups stay its own; a real
// service, or a second placeholder, of the same name is still refused.
func TestAddServiceAdoptsPlaceholder(t *testing.T) {
	c := openTest(t)
	ctx := context.Background()
	d := addLocal(t, c, "disk")
	ph := core.Service{Name: "shop", Placeholder: true, DB: core.DBConn{Database: "shop_db"}}
	must(t, c.AddService(ctx, &ph, ""))
	b := core.Backup{Service: "shop", Destination: d.Name, Kind: core.KindManual, Status: core.StatusSucceeded, Key: "shop/a.zip"}
	must(t, c.CreateBackup(ctx, &b))

	if err := c.AddService(ctx, &core.Service{Name: "shop", Placeholder: true}, ""); !errors.Is(err, core.ErrExists) {
		t.Errorf("second placeholder: got %v, want ErrExists", err)
	}
	full := core.Service{Name: "shop", DB: core.DBConn{Host: "h", Port: 5432, User: "odoo", Password: "pw", Database: "shop_db"}, FilestoreDir: "/fs"}
	must(t, c.AddService(ctx, &full, ""))
	if full.ID != ph.ID || !full.CreatedAt.Equal(ph.CreatedAt) {
		t.Errorf("adopted service has id %d created %v, want the placeholder's %d %v", full.ID, full.CreatedAt, ph.ID, ph.CreatedAt)
	}
	got, err := c.Service(ctx, "shop")
	must(t, err)
	if got.Placeholder || got.DB.Host != "h" || got.DB.Password.Reveal() != "pw" || got.FilestoreDir != "/fs" {
		t.Errorf("after adding: %+v, want the full connection and no placeholder flag", got)
	}
	gb, err := c.Backup(ctx, b.ID)
	must(t, err)
	if gb.ServiceID != ph.ID {
		t.Errorf("backup belongs to service %d, want %d", gb.ServiceID, ph.ID)
	}
	if err := c.AddService(ctx, &core.Service{Name: "shop", DB: core.DBConn{Database: "x"}}, ""); !errors.Is(err, core.ErrExists) {
		t.Errorf("adding a full service twice: got %v, want ErrExists", err)
	}

	// A placeholder that was given configurations takes no template.
	must(t, c.AddTemplate(ctx, &core.Template{Name: "std"}))
	must(t, c.SetTemplateConfiguration(ctx, "std", core.TemplateConfiguration{Destination: "disk"}))
	ph2 := core.Service{Name: "crm", Placeholder: true}
	must(t, c.AddService(ctx, &ph2, ""))
	must(t, c.SetConfiguration(ctx, core.Configuration{Service: "crm", Destination: "disk"}))
	if err := c.AddService(ctx, &core.Service{Name: "crm", DB: core.DBConn{Database: "crm"}}, "std"); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("template onto a configured placeholder: got %v, want ErrInvalid", err)
	}
	ph3 := core.Service{Name: "hr", Placeholder: true}
	must(t, c.AddService(ctx, &ph3, ""))
	must(t, c.AddService(ctx, &core.Service{Name: "hr", DB: core.DBConn{Database: "hr"}}, "std"))
	cs, err := c.Configurations(ctx, "hr")
	must(t, err)
	if len(cs) != 1 || !cs[0].Primary {
		t.Errorf("adopted placeholder with template: configurations %+v, want the template's one, primary", cs)
	}
}
