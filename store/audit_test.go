package store

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
)

func auditTrail(t *testing.T, c *Catalog, f core.AuditFilter) []core.AuditEntry {
	t.Helper()
	entries, err := c.Audit(context.Background(), f)
	must(t, err)
	return entries
}

// Every configuration change is recorded, with the actor of its context,
// and never with a secret.
func TestConfigurationChangesAreAudited(t *testing.T) {
	c := openTest(t)
	alice := core.Actor{User: "alice", SSHClient: "192.0.2.7"}
	ctx := core.WithActor(context.Background(), alice)

	d := core.Destination{Name: "s3", Kind: core.DestinationS3, S3: core.S3Settings{Endpoint: "e:9000", Bucket: "b", AccessKey: "AKIA", SecretKey: testSecretKey}, Encrypt: core.EncryptionSettings{Passphrase: testPassphrase}}
	must(t, c.AddDestination(ctx, &d))
	must(t, c.AddDestination(ctx, &core.Destination{Name: "local", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: "/b"}}))
	s := core.Service{Name: "prod", DB: core.DBConn{Host: "db", Port: 5432, User: "odoo", Password: testPassword, Database: "prod"}}
	must(t, c.AddService(ctx, &s, ""))
	cfg := core.Configuration{Service: "prod", Destination: "s3", Frequency: core.Daily, Schedule: core.DefaultSchedule, Retention: core.Retention{KeepLast: 7}}
	must(t, c.SetConfiguration(ctx, cfg))
	cfg.Destination = "local"
	must(t, c.SetConfiguration(ctx, cfg))
	cfg.Primary = true
	must(t, c.SetConfiguration(ctx, cfg))
	must(t, c.RemoveConfiguration(ctx, "prod", "s3"))
	d.S3.Prefix = "x"
	must(t, c.UpdateDestination(ctx, d))
	s.DB.Host = "db2"
	must(t, c.UpdateService(ctx, s))
	must(t, c.AddTemplate(ctx, &core.Template{Name: "std", Configurations: []core.TemplateConfiguration{{Destination: "local", Frequency: core.Daily, Schedule: core.DefaultSchedule}}}))
	must(t, c.SetTemplateConfiguration(ctx, "std", core.TemplateConfiguration{Destination: "s3", Frequency: core.Weekly, Schedule: core.Schedule{Hour: 1, Weekday: 0}}))
	must(t, c.RemoveTemplateConfiguration(ctx, "std", "s3"))
	must(t, c.RemoveTemplate(ctx, "std"))
	must(t, c.RemoveService(ctx, "prod"))
	must(t, c.RemoveDestination(ctx, "s3", false))

	want := []struct{ action, service, target string }{
		{core.ActionDestinationAdd, "", "destination s3"},
		{core.ActionDestinationAdd, "", "destination local"},
		{core.ActionServiceAdd, "prod", "service prod"},
		{core.ActionConfigSet, "prod", "service prod on destination s3"},
		{core.ActionConfigSet, "prod", "service prod on destination local"},
		{core.ActionPrimaryMove, "prod", "service prod on destination local"},
		{core.ActionConfigRemove, "prod", "service prod on destination s3"},
		{core.ActionDestinationUpdate, "", "destination s3"},
		{core.ActionServiceUpdate, "prod", "service prod"},
		{core.ActionTemplateAdd, "", "template std"},
		{core.ActionTemplateSet, "", "template std on destination s3"},
		{core.ActionTemplateUnset, "", "template std on destination s3"},
		{core.ActionTemplateRemove, "", "template std"},
		{core.ActionServiceRemove, "prod", "service prod"},
		{core.ActionDestinationRemove, "", "destination s3"},
	}
	got := auditTrail(t, c, core.AuditFilter{})
	if len(got) != len(want) {
		for _, e := range got {
			t.Logf("%+v", e)
		}
		t.Fatalf("got %d audit entries, want %d", len(got), len(want))
	}
	for i, w := range want {
		e := got[len(got)-1-i] // newest first
		if e.Action != w.action || e.Service != w.service || e.Target != w.target {
			t.Errorf("entry %d: got %q %q %q, want %q %q %q", i, e.Action, e.Service, e.Target, w.action, w.service, w.target)
		}
		if e.User != "alice" || e.SSHClient != "192.0.2.7" || e.Outcome != core.AuditOK || e.Error != "" || e.At.IsZero() {
			t.Errorf("entry %d: got %+v, want alice from 192.0.2.7, ok, stamped", i, e)
		}
		for _, secret := range []string{testSecretKey, testPassphrase, testPassword} {
			if strings.Contains(e.Detail+e.Target+e.Error, secret) {
				t.Errorf("entry %d holds a secret: %+v", i, e)
			}
		}
	}
	if moved := got[len(got)-6]; !strings.Contains(moved.Detail, "primary moved from s3 to local") {
		t.Errorf("primary move detail %q, want it to say from where to where", moved.Detail)
	}
	if add := got[len(got)-1]; !strings.Contains(add.Detail, "s3 e:9000/b") || !strings.Contains(add.Detail, "client-side encryption") {
		t.Errorf("destination add detail %q, want where it is and how it is protected", add.Detail)
	}
}

// A refused change is recorded as failed, with the reason; the catalog
// itself is unchanged.
func TestRefusedChangeIsAuditedAsFailed(t *testing.T) {
	c := openTest(t)
	ctx := core.WithActor(context.Background(), core.Actor{User: "bob"})
	addLocal(t, c, "local")
	addService(t, c, "prod")
	setConfig(t, c, "prod", "local", false)
	refuse(t, c, core.ErrInvalid, func() error { return c.RemoveDestination(ctx, "local", false) }, "still used")
	e := auditTrail(t, c, core.AuditFilter{Limit: 1})
	if len(e) != 1 || e[0].Action != core.ActionDestinationRemove || e[0].Outcome != core.AuditFailed ||
		!strings.Contains(e[0].Error, "still used") || e[0].User != "bob" {
		t.Errorf("got %+v, want a failed destination remove by bob saying why", e)
	}
}

// The record is written in the transaction of the change: a change whose
// record cannot be written is not made.
func TestChangeAndItsRecordAreOneTransaction(t *testing.T) {
	c := openTest(t)
	must(t, exec(t, c.db, `DROP TABLE audit`))
	err := c.AddDestination(context.Background(), &core.Destination{Name: "local", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: "/b"}})
	if err == nil {
		t.Fatal("adding a destination without an audit table worked, want it refused")
	}
	if _, err := c.Destination(context.Background(), "local"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("the destination was saved without its audit record (lookup: %v)", err)
	}
}

func TestAuditFilterAndPaging(t *testing.T) {
	c := openTest(t)
	ctx := context.Background()
	for i := range 5 {
		for _, svc := range []string{"a", "b"} {
			must(t, c.AddAudit(ctx, &core.AuditEntry{Action: core.ActionBackup, Service: svc, Target: svc, Detail: string(rune('0' + i))}))
		}
	}
	all := auditTrail(t, c, core.AuditFilter{})
	if len(all) != 10 {
		t.Fatalf("got %d entries, want 10", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID >= all[i-1].ID {
			t.Fatalf("entries not newest first: ids %d then %d", all[i-1].ID, all[i].ID)
		}
	}
	page1 := auditTrail(t, c, core.AuditFilter{Service: "a", Limit: 3})
	page2 := auditTrail(t, c, core.AuditFilter{Service: "a", Limit: 3, BeforeID: page1[2].ID})
	var details []string
	for _, e := range append(page1, page2...) {
		if e.Service != "a" {
			t.Errorf("service filter let through %+v", e)
		}
		details = append(details, e.Detail)
	}
	if got := strings.Join(details, ""); got != "43210" {
		t.Errorf("two pages of service a read %q, want 43210", got)
	}
	// AddAudit fills in the actor of the context, and the time.
	e := core.AuditEntry{Action: core.ActionDownload, Target: "backup 1"}
	must(t, c.AddAudit(core.WithActor(ctx, core.Actor{User: "carol", SSHClient: "2001:db8::1"}), &e))
	got := auditTrail(t, c, core.AuditFilter{Limit: 1})[0]
	if got.ID != e.ID || got.User != "carol" || got.SSHClient != "2001:db8::1" || got.Outcome != core.AuditOK || !got.At.Equal(e.At) || got.At.IsZero() {
		t.Errorf("got %+v, want carol's ok entry as recorded (%+v)", got, e)
	}
	if err := c.AddAudit(ctx, &core.AuditEntry{}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("an entry without an action: got %v, want invalid", err)
	}
	if err := c.AddAudit(ctx, &core.AuditEntry{Action: "x", Outcome: "maybe"}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("an entry with outcome maybe: got %v, want invalid", err)
	}
}
