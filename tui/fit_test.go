package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/store"
)

// startSized is start at a terminal size of w×h.
func startSized(t *testing.T, o Options, w, h int) *teatest.TestModel {
	t.Helper()
	o.Now, o.NoColor = fixedNow, true
	o = withStorage(o)
	if o.RefreshEvery == 0 {
		o.RefreshEvery = time.Hour
	}
	return teatest.NewTestModel(t, snapModel{New(o)}, teatest.WithInitialTermSize(w, h))
}

// pgError is a failed backup's error the way pg_dump writes it: long, on
// several lines.
const pgError = `pg_dump: error: connection to server at "db.internal" (10.0.4.17), port 5432 failed: FATAL:  password authentication failed for user "odoo"
pg_dump: hint: check the password of the service with: odoo-backup service edit staging --pg-password-env PGPASSWORD
pg_dump: detail: the server refused 3 attempts within 30 seconds`

// seedMore adds to seed's catalog what the other screens show: a template,
// a running backup and a failed one with a long multi-line error.
func seedMore(t *testing.T) *store.Catalog {
	t.Helper()
	cat := seed(t)
	ctx := context.Background()
	must := fatalOn(t)
	// Fixed places, so the goldens do not depend on the test's temporary directories.
	must(cat.UpdateDestination(ctx, core.Destination{
		Name: "s3-eu",
		Kind: core.DestinationS3,
		S3:   core.S3Settings{Endpoint: "s3.eu-central-1.amazonaws.com", Region: "eu-central-1", Bucket: "acme-odoo-backups", Prefix: "odoo/prod", AccessKey: "AKIAEXAMPLE"},
	}))
	must(cat.UpdateDestination(ctx, core.Destination{Name: "local", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: "/var/backups/odoo"}}))
	must(cat.AddTemplate(ctx, &core.Template{Name: "standard", Configurations: []core.TemplateConfiguration{
		{Destination: "s3-eu", Frequency: core.Daily, Schedule: core.DefaultSchedule, Retention: core.Retention{GFS: &core.GFS{Daily: 7, Weekly: 4, Monthly: 12}}, Primary: true},
		{Destination: "local", Frequency: core.Hourly, Retention: core.Retention{KeepLast: 24}},
	}}))
	started := clock.Add(-3 * time.Hour)
	finished := started.Add(12 * time.Second)
	failed := core.Backup{Service: "staging", Destination: "local", Kind: core.KindScheduled, Status: core.StatusFailed,
		StartedAt: started, FinishedAt: &finished, Error: pgError}
	must(cat.CreateBackup(ctx, &failed))
	running := core.Backup{Service: "production", Destination: "local", Kind: core.KindManual, StartedAt: clock.Add(-2 * time.Minute)}
	must(cat.CreateBackup(ctx, &running))
	must(cat.UpdateProgress(ctx, running.ID, core.BackupProgress{Phase: core.PhaseFilestore, Bytes: 48_000_000}))
	return cat
}

// checkFits fails when a frame is taller or wider than the terminal.
func checkFits(t *testing.T, frame string, w, h int) {
	t.Helper()
	lines := strings.Split(frame, "\n")
	if len(lines) > h {
		t.Errorf("the frame has %d rows, the terminal %d:\n%s", len(lines), h, frame)
	}
	for i, l := range lines {
		if n := lipgloss.Width(l); n > w {
			t.Errorf("row %d is %d cells wide, the terminal %d: %q", i+1, n, w, l)
		}
	}
	if !strings.HasPrefix(lines[0], " odoo-backup") {
		t.Errorf("the first row should be the header, got %q", lines[0])
	}
}

// screenVisit opens one screen of the console from the home screen: each
// step presses keys and waits until the screen shows what it must (the
// next keys would go to the screen before its data came otherwise).
type screenVisit struct {
	name  string
	steps []step
}

type step struct {
	keys []string
	want []string
}

var visits = []screenVisit{
	{"services", nil},
	{"service", []step{{[]string{"down", "enter"}, []string{"History 4", "keep 24"}}, {[]string{"tab", "down"}, []string{"[History 4]"}}}},
	{"backup-dialog", []step{{[]string{"down", "enter"}, []string{"History 4"}}, {[]string{"b"}, []string{"Back up production now", "[x] ★ s3-eu"}}}},
	{"help", []step{{[]string{"down", "enter"}, []string{"History 4"}}, {[]string{"?"}, []string{"? or esc closes", "page down"}}}},
	{"destinations", []step{{[]string{"2"}, []string{"USED BY", "production", "1 succeeded"}}}},
	{"templates", []step{{[]string{"3"}, []string{"standard", "keep 24"}}}},
	{"activity", []step{{[]string{"4"}, []string{"1 running · 2 failed"}}, {[]string{"down", "down", "down"}, []string{"password authentication"}}}},
}

// visit starts the console at w×h, opens the screen and returns its frame.
func visit(t *testing.T, v screenVisit, w, h int) string {
	t.Helper()
	tm := startSized(t, Options{Catalog: seedMore(t)}, w, h)
	waitFor(t, tm, "production", "staging", "demo", "scheduler: daemon")
	for _, st := range v.steps {
		press(tm, st.keys...)
		waitFor(t, tm, st.want...)
	}
	frame := snapshot(t, tm)
	checkFits(t, frame, w, h)
	return frame
}

// TestScreensAt80x24 is every screen at 80x24, the smallest terminal the
// console supports: each must fit and read (the goldens are the spec).
func TestScreensAt80x24(t *testing.T) {
	for _, v := range visits {
		t.Run(v.name, func(t *testing.T) {
			golden.RequireEqual(t, []byte(visit(t, v, 80, 24)))
		})
	}
}

// TestScreensAdapt checks every screen fits from 80x24 to a large terminal
// and uses the room it gets: the boxes span the terminal.
func TestScreensAdapt(t *testing.T) {
	for _, size := range []struct{ w, h int }{{100, 30}, {132, 40}, {200, 50}} {
		for _, v := range visits {
			t.Run(fmt.Sprintf("%dx%d/%s", size.w, size.h, v.name), func(t *testing.T) {
				frame := visit(t, v, size.w, size.h)
				if v.name == "services" || v.name == "service" || v.name == "activity" || v.name == "destinations" {
					if !strings.Contains(frame, "╭"+strings.Repeat("─", size.w-2)+"╮") {
						t.Errorf("the screen's box should span the %d columns:\n%s", size.w, frame)
					}
				}
			})
		}
	}
}

// TestManyServicesScroll: a list longer than the terminal scrolls with the
// cursor and the header stays.
func TestManyServicesScroll(t *testing.T) {
	cat := seed(t)
	ctx := context.Background()
	for i := range 40 {
		name := fmt.Sprintf("shop%02d", i)
		if err := cat.AddService(ctx, &core.Service{Name: name, DB: core.DBConn{Host: "127.0.0.1", Port: 5432, User: "odoo", Database: name},
			FilestoreDir: "/srv/" + name}, ""); err != nil {
			t.Fatal(err)
		}
	}
	tm := startSized(t, Options{Catalog: cat}, 80, 24)
	waitFor(t, tm, "43 services")
	frame := snapshot(t, tm)
	checkFits(t, frame, 80, 24)
	if strings.Contains(frame, "shop20") {
		t.Errorf("shop20 should be below the first page:\n%s", frame)
	}
	press(tm, "G")
	waitFor(t, tm, "▸ staging")
	frame = snapshot(t, tm)
	checkFits(t, frame, 80, 24)
	if strings.Contains(frame, " demo ") || !strings.Contains(frame, "shop39") {
		t.Errorf("at the bottom the list should show its end, not its start:\n%s", frame)
	}
	press(tm, "g")
	waitFor(t, tm, "▸ demo")
	checkFits(t, snapshot(t, tm), 80, 24)
}

func TestTableLayout(t *testing.T) {
	cols := []column{{title: "A", min: 5, max: 10}, {title: "B", min: 5, max: 10, drop: 1}, {title: "C", min: 4, drop: 2}, {title: "D", min: 3}}
	for _, c := range []struct {
		width int
		want  []int
	}{
		{20, []int{5, 5, 4, 3}},    // exactly the minimums and three blanks
		{19, []int{7, 7, 0, 3}},    // C gives way first; its room goes to A and B
		{13, []int{9, 0, 0, 3}},    // then B
		{5, []int{5, 0, 0, 3}},     // A and D never give way: the row is cut
		{30, []int{10, 10, 4, 3}},  // A and B grow evenly to their maximum
		{40, []int{10, 10, 4, 13}}, // then the unbounded D takes the rest
	} {
		tb := newTable(c.width, cols...)
		if fmt.Sprint(tb.widths) != fmt.Sprint(c.want) {
			t.Errorf("width %d: widths %v, want %v", c.width, tb.widths, c.want)
		}
		if row := tb.row("aaaaaaaaaaaa", "bb", "cc", "dddddddddddddddddddd"); c.width >= 13 && lipgloss.Width(row) > c.width {
			t.Errorf("width %d: row %q is %d wide", c.width, row, lipgloss.Width(row))
		}
	}
	if got := fit("0123456789", 5); got != "0123…" {
		t.Errorf("fit: %q", got)
	}
	if got := wrap("one two three four five", 9, 2); fmt.Sprintf("%q", got) != `["one two" "three…"]` {
		t.Errorf("wrap: %q", got)
	}
}

// TestLongHistoryAt80x24: a service with a history of many pages fits at
// 80x24 wherever the cursor is, the pages loading as it goes down.
func TestLongHistoryAt80x24(t *testing.T) {
	cat := seed(t)
	ctx := context.Background()
	for i := range 250 {
		started := clock.Add(-time.Duration(300-i) * time.Hour)
		finished := started.Add(time.Minute)
		b := core.Backup{Service: "staging", Destination: "local", Kind: core.KindScheduled, Status: core.StatusSucceeded,
			StartedAt: started, FinishedAt: &finished, Size: int64(i) * 1_000_000}
		if err := cat.CreateBackup(ctx, &b); err != nil {
			t.Fatal(err)
		}
	}
	tm := startSized(t, Options{Catalog: cat, PageSize: 100}, 80, 24)
	waitFor(t, tm, "staging")
	press(tm, "G", "enter")
	waitFor(t, tm, "odoo-backup › staging", "History 100+")
	press(tm, "tab")
	waitFor(t, tm, "[History 100+]")
	checkFits(t, snapshot(t, tm), 80, 24)
	press(tm, "G")
	waitFor(t, tm, "[History 200+]")
	press(tm, "G")
	waitFor(t, tm, "[History 251]")
	press(tm, "G")
	waitFor(t, tm, "2026-11-21 01:30") // the oldest: the failed one of seed
	frame := snapshot(t, tm)
	checkFits(t, frame, 80, 24)
	if !strings.Contains(frame, "▸ 4   2026-11-21 01:30") {
		t.Errorf("the cursor should be on the oldest backup:\n%s", frame)
	}
}

// TestActivityKeepsSelection: a refresh that brings new rows keeps the
// cursor, and the error under the list, on the backup the user reads.
func TestActivityKeepsSelection(t *testing.T) {
	cat := seedMore(t)
	tm := startSized(t, Options{Catalog: cat, RefreshEvery: 20 * time.Millisecond}, 80, 24)
	waitFor(t, tm, "production")
	press(tm, "4")
	waitFor(t, tm, "1 running · 2 failed")
	press(tm, "down", "down", "down")
	waitFor(t, tm, "password authentication")
	b := core.Backup{Service: "demo", Destination: "local", Kind: core.KindManual, StartedAt: clock}
	if err := cat.CreateBackup(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tm, "2 running · 2 failed")
	frame := snapshot(t, tm)
	checkFits(t, frame, 80, 24)
	if !strings.Contains(frame, "▸ 2026-11-22 09:30 staging") || !strings.Contains(frame, "within 30 seconds") {
		t.Errorf("after the refresh the failed backup should stay selected with its error:\n%s", frame)
	}
}
