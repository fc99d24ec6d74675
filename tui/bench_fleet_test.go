package tui

import (
	"context"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/store"
)

// The fleet of the scale target: 20 hosts x 50 services and 1,000,000
// backups in a PostgreSQL catalog. Targets: the first screen within 200 ms,
// a key within 16 ms.
//
//	go test -run '^$' -bench BenchmarkFleetConsole -benchtime 20x -timeout 30m ./tui
var fleetShape = testbed.Fleet{Hosts: 20, ServicesPerHost: 50, Backups: 1_000_000}

// fleetCatalog fills the fleet once per run (every sub-benchmark and b.N
// loop reuses it) and opens it.
func fleetCatalog(b *testing.B) *store.Catalog {
	b.Helper()
	url, keyFile := servers.FilledFleet(b, fleetShape, openFleet)
	cat, err := store.Open(context.Background(), url, store.WithKeyFile(keyFile))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cat.Close() })
	return cat
}

func openFleet(ctx context.Context, url, keyFile string) (interface {
	testbed.FleetCatalog
	Close() error
}, error) {
	return store.Open(ctx, url, store.WithKeyFile(keyFile))
}

// fleetFirstScreen is the console from New to its first full frame at
// 100x30, on the real clock (the fleet's history ends now).
func fleetFirstScreen(b *testing.B, cat *store.Catalog) *driver {
	m := New(Options{Catalog: cat, NoColor: true})
	m.Init()
	d := &driver{m: m}
	d.send(tea.WindowSizeMsg{Width: 100, Height: 30})
	d.run(m.home.Reload())
	if n := len(d.m.home.rows); n != fleetShape.Hosts*fleetShape.ServicesPerHost {
		b.Fatalf("%d services shown, want %d", n, fleetShape.Hosts*fleetShape.ServicesPerHost)
	}
	d.m.View()
	return d
}

// BenchmarkFleetConsole: the console on the fleet. A key's time runs from
// its Update to its View, with the catalog reads the key triggers.
func BenchmarkFleetConsole(b *testing.B) {
	cat := fleetCatalog(b)
	per := func(b *testing.B, unit string) {
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), unit)
	}
	b.Run("FirstScreen", func(b *testing.B) {
		for b.Loop() {
			fleetFirstScreen(b, cat)
		}
		per(b, "ms/first-screen")
	})
	b.Run("HomeDown", func(b *testing.B) {
		d := fleetFirstScreen(b, cat)
		for b.Loop() {
			d.press(keyDown)
		}
		per(b, "ms/key")
	})
	b.Run("OpenService", func(b *testing.B) {
		d := fleetFirstScreen(b, cat)
		for b.Loop() {
			d.press(keyEnter)
			d.service(b)
			b.StopTimer()
			d.press(tea.KeyMsg{Type: tea.KeyEsc}) // reloads the home screen: FirstScreen's cost
			d.press(keyDown)
			b.StartTimer()
		}
		per(b, "ms/key")
	})
	b.Run("HistoryDown", func(b *testing.B) {
		d := fleetFirstScreen(b, cat)
		d.openService()
		s := d.service(b)
		for b.Loop() {
			d.press(keyDown)
			if s.histCur == len(s.history)-1 && !s.more {
				d.press(keyTop)
			}
		}
		per(b, "ms/key")
	})
	b.Run("HistoryPageDown", func(b *testing.B) {
		// Each press past the loaded rows reads the next page.
		d := fleetFirstScreen(b, cat)
		d.openService()
		s := d.service(b)
		for b.Loop() {
			d.press(keyPgDown)
			if s.histCur == len(s.history)-1 && !s.more {
				d.press(keyTop)
			}
		}
		per(b, "ms/key")
	})
	b.Run("Reload", func(b *testing.B) {
		// The home screen's periodic reload (what its tick runs), which an
		// open console makes all the time.
		d := fleetFirstScreen(b, cat)
		for b.Loop() {
			d.run(d.m.home.Reload())
			d.m.View()
		}
		per(b, "ms/reload")
	})
}
