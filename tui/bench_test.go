package tui

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/store"
)

const (
	benchServices = 100
	benchPerSvc   = 1000 // backups per service: 100,000 in all
)

// bigCatalog builds, through the catalog's own API, a catalog of
// benchServices services on two destinations each with benchPerSvc backups,
// interleaved in time the way schedules write them.
func bigCatalog(b *testing.B) *store.Catalog {
	b.Helper()
	ctx := context.Background()
	cat, err := store.Open(ctx, filepath.Join(b.TempDir(), "catalog.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cat.Close() })
	must := func(err error) {
		b.Helper()
		if err != nil {
			b.Fatal(err)
		}
	}
	for _, d := range []string{"s3-eu", "local"} {
		must(cat.AddDestination(ctx, &core.Destination{Name: d, Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: b.TempDir()}}))
	}
	names := make([]string, benchServices)
	for i := range names {
		names[i] = fmt.Sprintf("svc%03d", i)
		must(cat.AddService(ctx, &core.Service{Name: names[i], DB: core.DBConn{Host: "127.0.0.1", Port: 5432, User: "odoo",
			Database: names[i] + "_db"}, FilestoreDir: "/var/lib/odoo/filestore/" + names[i] + "_db"}, ""))
		must(cat.SetConfiguration(ctx, core.Configuration{Service: names[i], Destination: "s3-eu", Frequency: core.Hourly,
			Retention: core.Retention{KeepLast: 24}}))
		must(cat.SetConfiguration(ctx, core.Configuration{Service: names[i], Destination: "local", Frequency: core.Daily,
			Schedule: core.DefaultSchedule, Retention: core.Retention{KeepLast: 7}}))
	}
	start := clock.Add(-benchPerSvc * time.Hour)
	for n := 0; n < benchPerSvc; n++ {
		for i, name := range names {
			started := start.Add(time.Duration(n)*time.Hour + time.Duration(i)*time.Second)
			finished := started.Add(40 * time.Second)
			bk := core.Backup{Service: name, Destination: "s3-eu", Kind: core.KindScheduled, Status: core.StatusSucceeded,
				StartedAt: started, FinishedAt: &finished, Size: 1_200_000_000 + int64(n), Key: fmt.Sprintf("%s/%d.zip", name, n)}
			switch {
			case n%24 == 0:
				bk.Destination = "local"
			case n%97 == 0:
				bk.Status, bk.Size = core.StatusFailed, 0
				bk.Error = "pg_dump: error: connection to server at \"127.0.0.1\", port 5432 failed: FATAL: password authentication failed for user \"odoo\""
			case n < benchPerSvc-24:
				bk.Status = core.StatusRotated
			}
			must(cat.CreateBackup(ctx, &bk))
		}
	}
	return cat
}

// driver runs the console's update loop in the benchmark's goroutine: it
// applies a message, runs the commands it returns (catalog reads) and
// applies their messages, until nothing is left.
type driver struct {
	m *Model
}

var cmdType = reflect.TypeOf(tea.Cmd(nil))

func (d *driver) send(msg tea.Msg) {
	_, cmd := d.m.Update(msg)
	d.run(cmd)
}

func (d *driver) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	msg := cmd()
	if msg == nil {
		return
	}
	// tea.Batch and tea.Sequence both come back as a slice of commands.
	if v := reflect.ValueOf(msg); v.Kind() == reflect.Slice && v.Type().Elem() == cmdType {
		for i := 0; i < v.Len(); i++ {
			d.run(v.Index(i).Interface().(tea.Cmd))
		}
		return
	}
	d.send(msg)
}

// press applies a key and draws the frame, the way each keypress costs.
func (d *driver) press(k tea.KeyMsg) string {
	d.send(k)
	return d.m.View()
}

var (
	keyDown   = tea.KeyMsg{Type: tea.KeyDown}
	keyPgDown = tea.KeyMsg{Type: tea.KeyPgDown}
	keyEnter  = tea.KeyMsg{Type: tea.KeyEnter}
	keyTab    = tea.KeyMsg{Type: tea.KeyTab}
	keyBottom = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("G")}
	keyTop    = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("g")}
)

// firstScreen is the console from New to its first full frame.
func firstScreen(cat Catalog, w, h int) *driver {
	m := New(Options{Catalog: cat, Now: fixedNow, NoColor: true})
	m.Init() // builds the commands; the tick and spinner are not run here
	d := &driver{m: m}
	d.send(tea.WindowSizeMsg{Width: w, Height: h})
	d.run(m.home.Reload())
	return d
}

// openService opens the service under the cursor with the history focused.
func (d *driver) openService() {
	d.press(keyEnter)
	d.press(keyTab)
}

func (d *driver) service(b *testing.B) *serviceScreen {
	s, ok := d.m.top().(*serviceScreen)
	if !ok || !s.loaded || len(s.history) == 0 {
		b.Fatalf("the service screen did not open: %T", d.m.top())
	}
	return s
}

// BenchmarkConsole measures the console on a catalog of 100 services and
// 100,000 backups: the first screen, opening a service with 1,000 backups,
// moving through its history, and drawing a frame.
func BenchmarkConsole(b *testing.B) {
	t0 := time.Now()
	cat := bigCatalog(b)
	b.Logf("catalog of %d services and %d backups built in %s", benchServices, benchServices*benchPerSvc, time.Since(t0).Round(time.Millisecond))

	b.Run("FirstScreen", func(b *testing.B) {
		for b.Loop() {
			d := firstScreen(cat, 100, 30)
			if len(d.m.home.rows) != benchServices {
				b.Fatalf("%d services shown, want %d", len(d.m.home.rows), benchServices)
			}
			d.m.View()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/first-screen")
	})
	b.Run("OpenService", func(b *testing.B) {
		d := firstScreen(cat, 100, 30)
		for b.Loop() {
			d.press(keyEnter)
			d.service(b)
			b.StopTimer()
			d.press(tea.KeyMsg{Type: tea.KeyEsc}) // reloads the home screen: FirstScreen's cost
			b.StartTimer()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/open")
	})
	// A key moving through the history, back to the top at its end.
	moving := func(k tea.KeyMsg) func(b *testing.B) {
		return func(b *testing.B) {
			d := firstScreen(cat, 100, 30)
			d.openService()
			s := d.service(b)
			for b.Loop() {
				d.press(k)
				if s.histCur == len(s.history)-1 && !s.more {
					d.press(keyTop)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/keypress")
		}
	}
	b.Run("HistoryDown", moving(keyDown))
	b.Run("HistoryPageDown", moving(keyPgDown))
	b.Run("HistoryBottom", func(b *testing.B) {
		// G until the whole history is loaded (a page a press), from a fresh
		// screen each time.
		var presses int
		for b.Loop() {
			b.StopTimer()
			d := firstScreen(cat, 100, 30)
			d.openService()
			s := d.service(b)
			b.StartTimer()
			for s.more || s.histCur < len(s.history)-1 {
				d.press(keyBottom)
				presses++
			}
			if len(s.history) != benchPerSvc {
				b.Fatalf("the bottom of the history has %d rows, want %d", len(s.history), benchPerSvc)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(presses), "ns/keypress")
		b.ReportMetric(float64(presses)/float64(b.N), "presses/bottom")
	})
	b.Run("ViewHome", func(b *testing.B) {
		d := firstScreen(cat, 100, 30)
		for b.Loop() {
			d.m.View()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/view")
	})
	b.Run("ViewService", func(b *testing.B) {
		d := firstScreen(cat, 100, 30)
		d.openService()
		for range 5 {
			d.press(keyBottom)
		}
		for b.Loop() {
			d.m.View()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/view")
	})
}
