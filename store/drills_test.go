package store

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

func TestDrillHistory(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	addService(t, c, "prod")
	addService(t, c, "staging")
	d := core.Drill{Service: "prod", BackupID: 7, Destination: "minio"}
	must(t, c.AddDrill(ctx, &d))
	if d.ID == 0 || d.Status != core.DrillRunning || d.StartedAt.IsZero() || d.ServiceID == 0 {
		t.Fatalf("AddDrill gave %+v; want an id, running, a start time and the service id", d)
	}
	fin := epoch.Add(time.Hour)
	d.Status, d.FinishedAt, d.Error = core.DrillFailed, &fin, "table res_partner has 3 rows but 4 were backed up"
	d.Details = core.DrillDetails{Tables: map[string]int64{"res_partner": 3}, Expected: map[string]int64{"res_partner": 4}, FilestoreFiles: 2,
		Problems: []string{"table res_partner has 3 rows but 4 were backed up"}}
	must(t, c.UpdateDrill(ctx, d))
	other := core.Drill{Service: "staging", Status: core.DrillOK}
	must(t, c.AddDrill(ctx, &other))

	got, err := c.Drills(ctx, "prod", 0)
	if err != nil || len(got) != 1 {
		t.Fatalf("Drills(prod): got %+v, %v; want the one drill", got, err)
	}
	if !reflect.DeepEqual(got[0], d) {
		t.Errorf("Drills(prod)[0]:\n got %+v\nwant %+v", got[0], d)
	}
	all, err := c.Drills(ctx, "", 0)
	if err != nil || len(all) != 2 || all[0].ID != other.ID || all[1].ID != d.ID {
		t.Fatalf("Drills(all): got %+v, %v; want both, newest first", all, err)
	}
	if last, _ := c.Drills(ctx, "", 1); len(last) != 1 || last[0].ID != other.ID {
		t.Errorf("Drills limit 1: got %+v, want the newest", last)
	}
	if _, err := c.Drills(ctx, "nope", 0); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("Drills of an unknown service: got %v, want ErrNotFound", err)
	}
	if err := c.UpdateDrill(ctx, core.Drill{ID: 999, Status: core.DrillOK}); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("UpdateDrill of an unknown drill: got %v, want ErrNotFound", err)
	}
	if err := c.AddDrill(ctx, &core.Drill{Service: "nope"}); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("AddDrill for an unknown service: got %v, want ErrNotFound", err)
	}

	// A renamed service keeps its history; a removed one too.
	s, _ := c.Service(ctx, "staging")
	s.Name = "stage"
	must(t, c.UpdateService(ctx, s))
	if got, err := c.Drills(ctx, "stage", 0); err != nil || len(got) != 1 || got[0].Service != "stage" {
		t.Errorf("drills after a rename: got %+v, %v; want the drill under the new name", got, err)
	}
	must(t, c.RemoveService(ctx, "stage"))
	if all, _ := c.Drills(ctx, "", 0); len(all) != 2 || all[0].Service != "stage" {
		t.Errorf("drills after removing the service: got %+v; want the history kept", all)
	}
}

func TestDrillFrequencyStored(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	addService(t, c, "prod")
	addLocal(t, c, "local")
	must(t, c.SetConfiguration(ctx, core.Configuration{Service: "prod", Destination: "local", Frequency: core.Daily, Drill: core.Weekly}))
	cfg, err := c.Primary(ctx, "prod")
	if err != nil || cfg.Drill != core.Weekly {
		t.Fatalf("configuration %+v, %v; want drill weekly", cfg, err)
	}
	err = c.SetConfiguration(ctx, core.Configuration{Service: "prod", Destination: "local", Drill: "fortnightly"})
	if !errors.Is(err, core.ErrInvalid) {
		t.Errorf("drill fortnightly: got %v, want ErrInvalid", err)
	}
	must(t, c.AddTemplate(ctx, &core.Template{Name: "t", Configurations: []core.TemplateConfiguration{{Destination: "local", Frequency: core.Daily, Drill: core.Monthly}}}))
	s := core.Service{Name: "other", DB: core.DBConn{Host: "h", Port: 5432, User: "u", Database: "o"}}
	must(t, c.AddService(ctx, &s, "t"))
	if cfg, err := c.Primary(ctx, "other"); err != nil || cfg.Drill != core.Monthly {
		t.Errorf("configuration from a template: %+v, %v; want drill monthly", cfg, err)
	}
}
