package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/store"
)

// The fleet of the scale target: 20 hosts x 50 services and 1,000,000
// backups in a PostgreSQL catalog. Targets: status --json within 1 s; 20
// idle daemons at a low query rate.
//
//	go test -run '^$' -bench BenchmarkFleet -benchtime 5x -timeout 30m ./cmd/odoo-backup
//
// ODOO_BACKUP_BENCH_IDLE_WINDOW (default 60s) is how long the idle daemons
// are watched.
var fleetShape = testbed.Fleet{Hosts: 20, ServicesPerHost: 50, Backups: 1_000_000}

// fleetCatalog fills the fleet once per run and returns its URL; the key
// that seals its secrets is in ODOO_BACKUP_CATALOG_KEY for every command
// and daemon of the benchmark.
func fleetCatalog(b *testing.B) string {
	b.Helper()
	url, keyFile := servers.FilledFleet(b, fleetShape, func(ctx context.Context, url, keyFile string) (interface {
		testbed.FleetCatalog
		Close() error
	}, error) {
		return store.Open(ctx, url, store.WithKeyFile(keyFile))
	})
	b.Setenv("ODOO_BACKUP_CATALOG_KEY", keyFile)
	b.Setenv("XDG_DATA_HOME", filepath.Join(b.TempDir(), "xdg"))
	return url
}

// BenchmarkFleetStatus: `status --json` on the fleet, end to end: opening
// the catalog, judging every service, writing the JSON. InProcess runs the
// command's function; Process the real binary (the test binary doubles as
// odoo-backup), its start included.
func BenchmarkFleetStatus(b *testing.B) {
	url := fleetCatalog(b)
	check := func(b *testing.B, out []byte, code int) {
		var rep statusReport
		if err := json.Unmarshal(out, &rep); err != nil {
			b.Fatalf("status --json printed no report (exit %d): %v\n%.500s", code, err, out)
		}
		if n := len(rep.Services); n != fleetShape.Hosts*fleetShape.ServicesPerHost || code != 1 || rep.Healthy {
			b.Fatalf("status --json: %d services, healthy %v, exit %d; want every service and exit 1 (some failed)", n, rep.Healthy, code)
		}
	}
	b.Run("InProcess", func(b *testing.B) {
		for b.Loop() {
			var out, errOut bytes.Buffer
			code := run(context.Background(), []string{"--catalog", url, "status", "--json"}, &out, &errOut)
			b.StopTimer()
			check(b, out.Bytes(), code)
			b.StartTimer()
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/status")
	})
	// Its parts: opening the catalog, judging every service, the JSON.
	b.Run("Open", func(b *testing.B) {
		for b.Loop() {
			cat, err := store.Open(context.Background(), url, store.WithKeyFile(os.Getenv("ODOO_BACKUP_CATALOG_KEY")))
			if err != nil {
				b.Fatal(err)
			}
			cat.Close()
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/open")
	})
	a := &app{stdout: io.Discard, stderr: io.Discard, catalogPath: url}
	if err := a.open(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer a.cat.Close()
	b.Run("Judge", func(b *testing.B) {
		for b.Loop() {
			if _, err := a.status(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/judge")
	})
	b.Run("JSON", func(b *testing.B) {
		rep, err := a.status(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := writeJSON(io.Discard, rep); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/json")
	})
	b.Run("Process", func(b *testing.B) {
		for b.Loop() {
			cmd := exec.Command(os.Args[0], "--catalog", url, "status", "--json")
			cmd.Env = append(os.Environ(), "ODOO_BACKUP_TEST_AS_MAIN=1")
			var out bytes.Buffer
			cmd.Stdout = &out
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			check(b, out.Bytes(), code)
			b.StartTimer()
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/status")
	})
}

// BenchmarkFleetIdleDaemons starts one daemon per host of the fleet, each a
// process of its own, waits until each runs its schedules or waits for the
// lease, and counts the transactions they make on the catalog database over
// a window, from PostgreSQL's own statistics (pg_stat_database). Nothing is
// due: every configuration's newest backup is newer than its last slot.
func BenchmarkFleetIdleDaemons(b *testing.B) {
	url := fleetCatalog(b)
	window := time.Minute
	if w := os.Getenv("ODOO_BACKUP_BENCH_IDLE_WINDOW"); w != "" {
		d, err := time.ParseDuration(w)
		if err != nil {
			b.Fatalf("ODOO_BACKUP_BENCH_IDLE_WINDOW=%q is not a duration; give one such as 60s", w)
		}
		window = d
	}
	pg := servers.Postgres(b)
	ctx := context.Background()
	stats, err := pgx.Connect(ctx, pg.ConnString("postgres"))
	if err != nil {
		b.Fatal(err)
	}
	defer stats.Close(ctx)
	// xact counts transactions (a statement outside one is one), tup the
	// rows the catalog database returned: together they show a polling
	// storm and a scan.
	read := func() (xact, tup int64) {
		err := stats.QueryRow(ctx, `SELECT xact_commit + xact_rollback, tup_returned + tup_fetched
			FROM pg_stat_database WHERE datname = 'fleet'`).Scan(&xact, &tup)
		if err != nil {
			b.Fatal(err)
		}
		return xact, tup
	}

	for b.Loop() {
		b.StopTimer()
		type daemon struct {
			cmd   *exec.Cmd
			ready chan struct{}
		}
		var (
			daemons  []*daemon
			mu       sync.Mutex
			messages = map[string]int{}
		)
		for h := range fleetShape.Hosts {
			host := testbed.FleetHost(h)
			cmd := exec.Command(os.Args[0], "--catalog", url, "--daemon", "--host-name", host, "--log-format", "json")
			cmd.Env = append(os.Environ(), "ODOO_BACKUP_TEST_AS_MAIN=1", "XDG_DATA_HOME="+filepath.Join(b.TempDir(), host))
			stderr, err := cmd.StderrPipe()
			if err != nil {
				b.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			d := &daemon{cmd: cmd, ready: make(chan struct{})}
			daemons = append(daemons, d)
			go func() {
				sc := bufio.NewScanner(stderr)
				sc.Buffer(make([]byte, 1<<20), 1<<20)
				readied := false
				for sc.Scan() {
					var m struct{ Msg string }
					if json.Unmarshal(sc.Bytes(), &m) != nil {
						continue
					}
					mu.Lock()
					messages[m.Msg]++
					mu.Unlock()
					switch m.Msg {
					case "no missed backup to catch up on", "catching up on a missed backup",
						"another process runs the schedules; waiting for it to stop":
						if !readied {
							readied = true
							close(d.ready)
						}
					}
				}
			}()
		}
		stop := func() {
			for _, d := range daemons {
				d.cmd.Process.Signal(os.Interrupt)
			}
			for _, d := range daemons {
				d.cmd.Wait()
			}
		}
		for _, d := range daemons {
			select {
			case <-d.ready:
			case <-time.After(3 * time.Minute):
				stop()
				b.Fatalf("a daemon did not start within 3 minutes: %v", messages)
			}
		}
		// Let the statistics of the start flush (a backend reports at most
		// once a second, an idle one within 10 s) before the window opens.
		time.Sleep(11 * time.Second)
		b.StartTimer()
		x0, t0 := read()
		time.Sleep(window)
		time.Sleep(11 * time.Second) // the window's last statistics
		x1, t1 := read()
		b.StopTimer()
		stop()
		perMin := func(n int64) float64 { return float64(n) / (window + 11*time.Second).Minutes() }
		b.ReportMetric(perMin(x1-x0)/float64(len(daemons)), "xact/min/daemon")
		b.ReportMetric(perMin(t1-t0)/float64(len(daemons)), "rows/min/daemon")
		b.Logf("%d daemons over %s: %d transactions, %d rows; their log: %v", len(daemons), window, x1-x0, t1-t0, messages)
		if messages["catching up on a missed backup"] > 0 {
			b.Logf("some work was due at start (a slot passed between the fill and the daemons' start): the rate includes it")
		}
		b.StartTimer()
	}
}
