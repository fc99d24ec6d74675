package odoosql_test

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"testing"

	"github.com/odoo-backup/odoo-backup/core/odoosql"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// The facts read from a generated Odoo database are those it was made with,
// and a database that is not Odoo's has none of them.
func TestFactsOfAnOdooDatabase(t *testing.T) {
	ctx := t.Context()
	pg := testbed.StartPostgres(t)
	o, err := testbed.GenerateOdoo(ctx, pg, "facts", filepath.Join(t.TempDir(), "odoo"), testbed.OdooOptions{Seed: 7, MissingFiles: 2})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pg.Connect(ctx, o.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	if ok, err := odoosql.IsOdoo(ctx, conn); err != nil || !ok {
		t.Errorf("IsOdoo = %v, %v; want true", ok, err)
	}
	if mods, err := odoosql.InstalledModules(ctx, conn); err != nil || !maps.Equal(mods, o.Modules) {
		t.Errorf("InstalledModules = %v, %v; want %v", mods, err, o.Modules)
	}
	var files []string
	if err := odoosql.EachAttachmentFile(ctx, conn, func(f string) error { files = append(files, f); return nil }); err != nil {
		t.Fatal(err)
	}
	want := slices.Sorted(maps.Keys(o.Files))
	want = slices.DeleteFunc(want, func(f string) bool { return slices.Contains(o.Orphans, f) })
	want = slices.Sorted(slices.Values(append(want, o.Missing...)))
	if !slices.Equal(files, want) {
		t.Errorf("EachAttachmentFile gave %v; want the referenced files %v, in order", files, want)
	}
	if n, err := odoosql.AttachmentFileCount(ctx, conn); err != nil || n != int64(len(want)) {
		t.Errorf("AttachmentFileCount = %d, %v; want %d", n, err, len(want))
	}
	counts, err := odoosql.CountKeyTables(ctx, conn, o.Name, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range odoosql.RequiredTables {
		if counts[table] == 0 {
			t.Errorf("CountKeyTables = %v; want rows in %s", counts, table)
		}
	}
	if counts["ir_attachment"] != int64(o.Attachments) {
		t.Errorf("CountKeyTables counted %d attachments; want %d", counts["ir_attachment"], o.Attachments)
	}
	// With a limit, the tables the planner (once it has looked) estimates
	// above it are left out.
	if _, err := conn.Exec(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	bounded, err := odoosql.CountKeyTables(ctx, conn, o.Name, 10)
	if err != nil {
		t.Fatal(err)
	}
	for table, n := range counts {
		if got, ok := bounded[table]; ok != (n <= 10) || (ok && got != n) {
			t.Errorf("CountKeyTables with limit 10 gave %s: %d (%v); all counts %v", table, got, ok, counts)
		}
	}
	if state, err := odoosql.BaseModuleState(ctx, conn); err != nil || state != "installed" {
		t.Errorf("BaseModuleState = %q, %v; want installed", state, err)
	}

	// The server's catalog, as the superuser sees it.
	if owner, err := odoosql.DatabaseOwner(ctx, conn, o.Name); err != nil || owner != o.Owner {
		t.Errorf("DatabaseOwner = %q, %v; want %q", owner, err, o.Owner)
	}
	if owner, err := odoosql.DatabaseOwner(ctx, conn, "no_such_db"); err != nil || owner != "" {
		t.Errorf("DatabaseOwner of a missing database = %q, %v; want \"\"", owner, err)
	}
	if ok, err := odoosql.DatabaseExists(ctx, conn, o.Name); err != nil || !ok {
		t.Errorf("DatabaseExists = %v, %v; want true", ok, err)
	}
	for _, tc := range []struct {
		role          string
		super, exists bool
	}{{o.Owner, false, true}, {pg.User, true, true}, {"no_such_role", false, false}} {
		if super, exists, err := odoosql.RoleIsSuperuser(ctx, conn, tc.role); err != nil || super != tc.super || exists != tc.exists {
			t.Errorf("RoleIsSuperuser(%s) = %v, %v, %v; want %v, %v", tc.role, super, exists, err, tc.super, tc.exists)
		}
	}
	if dbs, err := odoosql.OwnedDatabases(ctx, conn, o.Owner); err != nil || !slices.Contains(dbs, o.Name) {
		t.Errorf("OwnedDatabases(%s) = %v, %v; want %s among them", o.Owner, dbs, err, o.Name)
	}

	// Neutralization leaves only the auto-vacuum job on, in the caller's
	// transaction: nothing stays after a rollback.
	activeCrons := func(q odoosql.Querier) string {
		t.Helper()
		var names string
		if err := q.QueryRow(ctx, "SELECT string_agg(cron_name, ',' ORDER BY id) FROM ir_cron WHERE active").Scan(&names); err != nil {
			t.Fatal(err)
		}
		return names
	}
	before := activeCrons(conn)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done, err := odoosql.Neutralize(ctx, tx)
	if err != nil || len(done) == 0 {
		t.Fatalf("Neutralize = %v, %v; want the steps it took", done, err)
	}
	if got := activeCrons(tx); got != "Base: Auto-vacuum internal data" {
		t.Errorf("active crons after Neutralize: %q; want only the auto-vacuum job", got)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if got := activeCrons(conn); got != before || got == "Base: Auto-vacuum internal data" {
		t.Errorf("active crons after the rollback: %q; want them as before, %q", got, before)
	}

	if err := pg.CreateDatabase(ctx, "empty"); err != nil {
		t.Fatal(err)
	}
	empty, err := pg.Connect(ctx, "empty")
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close(context.WithoutCancel(ctx))
	if ok, err := odoosql.IsOdoo(ctx, empty); err != nil || ok {
		t.Errorf("IsOdoo of an empty database = %v, %v; want false", ok, err)
	}
	if counts, err := odoosql.CountKeyTables(ctx, empty, "empty", 0); err != nil || len(counts) != 0 {
		t.Errorf("CountKeyTables of an empty database = %v, %v; want none", counts, err)
	}
}
