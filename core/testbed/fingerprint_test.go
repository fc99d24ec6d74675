package testbed

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestFingerprint(t *testing.T) {
	t.Parallel()
	pg := StartPostgres(t)
	ctx := t.Context()
	odb, err := GenerateOdoo(ctx, pg, "fp", t.TempDir(), OdooOptions{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	print := func() Print {
		t.Helper()
		p, err := Fingerprint(ctx, odb.Conn, odb.FilestoreDir)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	exec := func(sql string) {
		t.Helper()
		if err := pg.Exec(ctx, "fp", sql); err != nil {
			t.Fatal(err)
		}
	}
	wantDiff := func(t *testing.T, before, after Print, want ...string) {
		t.Helper()
		if got := before.Diff(after); !slices.Equal(got, want) {
			t.Errorf("Diff:\n got %q\nwant %q", got, want)
		}
	}
	base := print()

	t.Run("covers everything", func(t *testing.T) {
		for _, table := range []string{"ir_attachment", "ir_module_module", "ir_config_parameter", "mail_message", "res_partner", "ir_cron"} {
			if base.Tables[table].Rows == 0 {
				t.Errorf("table %s: %+v, want rows", table, base.Tables[table])
			}
		}
		if got, want := base.Tables["ir_attachment"].Rows, int64(odb.Attachments); got != want {
			t.Errorf("ir_attachment rows = %d, want %d", got, want)
		}
		if base.Sequences["mail_message_id_seq"] != base.Tables["mail_message"].Rows {
			t.Errorf("mail_message_id_seq = %d, want the row count %d", base.Sequences["mail_message_id_seq"], base.Tables["mail_message"].Rows)
		}
		for rel, sum := range odb.Files {
			if base.Files[rel] != sum {
				t.Errorf("file %s: print has %q, generator wrote %q", rel, base.Files[rel], sum)
			}
		}
		for _, rel := range odb.Checklist {
			if _, ok := base.Files[rel]; !ok {
				t.Errorf("checklist marker %s not in the print", rel)
			}
		}
		if got := len(base.WithoutChecklist().Files); got != len(odb.Files) {
			t.Errorf("WithoutChecklist has %d files, want %d", got, len(odb.Files))
		}
		if len(base.Files) != len(odb.Files)+len(odb.Checklist) {
			t.Errorf("print has %d files, want %d + %d checklist markers", len(base.Files), len(odb.Files), len(odb.Checklist))
		}
	})

	t.Run("same content, same print", func(t *testing.T) {
		wantDiff(t, base, print())
		// Moving a row physically (an update, then its undo) changes no content.
		exec("UPDATE res_partner SET name = name || 'x' WHERE id = 7; UPDATE res_partner SET name = left(name, -1) WHERE id = 7")
		exec("VACUUM FULL res_partner")
		wantDiff(t, base, print())
	})

	t.Run("changed row", func(t *testing.T) {
		exec("UPDATE mail_message SET body = body || ' ' WHERE id = 3")
		changed := print()
		wantDiff(t, base, changed, fmt.Sprintf("table mail_message: same %d rows, different content", base.Tables["mail_message"].Rows))
		exec("UPDATE mail_message SET body = rtrim(body, ' ') WHERE id = 3")
		wantDiff(t, base, print())
	})

	t.Run("deleted row and used sequence", func(t *testing.T) {
		exec("BEGIN; DELETE FROM ir_cron WHERE id = 7; SELECT nextval('ir_cron_id_seq'); COMMIT")
		wantDiff(t, base, print(), "table ir_cron: 7 rows, other has 6", "sequence ir_cron_id_seq: last value 7, other has 8")
	})

	t.Run("tables", func(t *testing.T) {
		exec("CREATE TABLE extra (x int)")
		now := print()
		wantDiff(t, now, base, "table extra: missing", "table ir_cron: 6 rows, other has 7", "sequence ir_cron_id_seq: last value 8, other has 7")
	})

	t.Run("files", func(t *testing.T) {
		rel := odb.Checklist[0][len("checklist/"):]
		path := filepath.Join(odb.FilestoreDir, rel)
		content, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		content[len(content)/2] ^= 1
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(odb.FilestoreDir, odb.Checklist[1])); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(odb.FilestoreDir, "zz-stray"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		after, err := Fingerprint(ctx, odb.Conn, odb.FilestoreDir)
		if err != nil {
			t.Fatal(err)
		}
		d := base.Diff(after)
		want := []string{"file " + rel + ": different content", "file " + odb.Checklist[1] + ": missing", "file zz-stray: unexpected"}
		for _, w := range want {
			if !slices.Contains(d, w) {
				t.Errorf("Diff lacks %q:\n%s", w, strings.Join(d, "\n"))
			}
		}
		wd := base.WithoutChecklist().Diff(after.WithoutChecklist())
		if slices.Contains(wd, "file "+odb.Checklist[1]+": missing") || !slices.Contains(wd, want[0]) {
			t.Errorf("WithoutChecklist Diff:\n%s", strings.Join(wd, "\n"))
		}
	})

	t.Run("no filestore", func(t *testing.T) {
		p, err := Fingerprint(ctx, odb.Conn, filepath.Join(t.TempDir(), "absent"))
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Files) != 0 {
			t.Errorf("absent filestore: %d files", len(p.Files))
		}
		if _, err := Fingerprint(ctx, pg.Conn("no_such_db"), ""); err == nil {
			t.Error("Fingerprint of a missing database succeeded")
		}
	})
}

// A restart, clean or after a crash, keeps every committed row.
func TestFingerprintSurvivesRestart(t *testing.T) {
	t.Parallel()
	pg := StartPostgres(t)
	ctx := t.Context()
	odb, err := GenerateOdoo(ctx, pg, "restart", t.TempDir(), OdooOptions{DumpBytes: 1 << 20, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	before, err := Fingerprint(ctx, odb.Conn, odb.FilestoreDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, halt := range []struct {
		name string
		do   func() error
	}{{"Stop", pg.Stop}, {"Kill", pg.Kill}} {
		if err := halt.do(); err != nil {
			t.Fatal(err)
		}
		if _, err := Fingerprint(ctx, odb.Conn, ""); err == nil {
			t.Fatalf("Fingerprint after %s succeeded", halt.name)
		}
		if err := pg.Start(); err != nil {
			t.Fatal(err)
		}
		after, err := Fingerprint(ctx, odb.Conn, odb.FilestoreDir)
		if err != nil {
			t.Fatal(err)
		}
		if d := before.Diff(after); len(d) > 0 {
			t.Errorf("after %s and Start:\n%s", halt.name, strings.Join(d, "\n"))
		}
	}
}

func TestPrintDiff(t *testing.T) {
	a := Print{
		Tables:    map[string]TablePrint{"t": {Rows: 1, Hash: "h"}, "u": {Rows: 2, Hash: "h"}},
		Sequences: map[string]int64{"t_id_seq": 1},
		Files:     map[string]string{"ab/ab1": "s", "checklist/ab/ab1": "e"},
	}
	if d := a.Diff(a); len(d) != 0 {
		t.Errorf("a.Diff(a) = %q", d)
	}
	b := Print{
		Tables:    map[string]TablePrint{"t": {Rows: 1, Hash: "other"}, "v": {}},
		Sequences: map[string]int64{},
		Files:     map[string]string{"ab/ab1": "s2"},
	}
	want := []string{
		"table t: same 1 rows, different content",
		"table u: missing",
		"table v: unexpected",
		"sequence t_id_seq: missing",
		"file ab/ab1: different content",
		"file checklist/ab/ab1: missing",
	}
	if got := a.Diff(b); !slices.Equal(got, want) {
		t.Errorf("Diff:\n got %q\nwant %q", got, want)
	}
	if got := a.WithoutChecklist(); len(got.Files) != 1 || len(a.Files) != 2 {
		t.Errorf("WithoutChecklist: %v (original now %v)", got.Files, a.Files)
	}
	if s := a.String(); s != "2 tables, 3 rows, 1 sequences, 2 files" {
		t.Errorf("String() = %q", s)
	}
}
