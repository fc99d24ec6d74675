package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

var epoch = time.Date(2026, 11, 22, 12, 0, 0, 123456789, time.UTC)

// tickingClock returns epoch, epoch+1s, epoch+2s, ... so every stamp is
// distinct and predictable.
func tickingClock() core.Clock {
	var mu sync.Mutex
	n := 0
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		n++
		return epoch.Add(time.Duration(n-1) * time.Second)
	}
}

func openTest(t testing.TB) *Catalog {
	t.Helper()
	c, err := Open(context.Background(), catalogTarget(t), WithClock(tickingClock()), WithKeyFile(filepath.Join(t.TempDir(), "catalog.key")))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func addLocal(t testing.TB, c *Catalog, name string) core.Destination {
	t.Helper()
	d := core.Destination{Name: name, Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: "/var/backups/" + name}}
	must(t, c.AddDestination(context.Background(), &d))
	return d
}

func addService(t testing.TB, c *Catalog, name string) core.Service {
	t.Helper()
	s := core.Service{Name: name, DB: core.DBConn{Host: "localhost", Port: 5432, User: "odoo", Database: name + "_db"}}
	must(t, c.AddService(context.Background(), &s, ""))
	return s
}

func setConfig(t testing.TB, c *Catalog, service, dest string, primary bool) {
	t.Helper()
	must(t, c.SetConfiguration(context.Background(), core.Configuration{Service: service, Destination: dest,
		Frequency: core.Daily, Schedule: core.DefaultSchedule, Retention: core.Retention{KeepLast: 7}, Primary: primary}))
}

func addBackup(t testing.TB, c *Catalog, service, dest string, kind core.BackupKind, status core.BackupStatus) core.Backup {
	t.Helper()
	b := core.Backup{Service: service, Destination: dest, Kind: kind, Status: status}
	must(t, c.CreateBackup(context.Background(), &b))
	return b
}

// primaries maps each destination of the service to its primary flag.
func primaries(t testing.TB, c *Catalog, service string) map[string]bool {
	t.Helper()
	cfgs, err := c.Configurations(context.Background(), service)
	must(t, err)
	out := map[string]bool{}
	for _, cfg := range cfgs {
		out[cfg.Destination] = cfg.Primary
	}
	return out
}

// dump renders every row of every table, so a refused operation can be
// shown to have changed nothing.
func dump(t testing.TB, c *Catalog) string {
	t.Helper()
	var b strings.Builder
	sequences := "sqlite_sequence"
	if c.db.pg {
		sequences = "(SELECT sequencename, last_value FROM pg_sequences WHERE sequencename <> 'audit_id_seq') AS sequences"
	}
	for _, table := range []string{"destinations", "services", "configurations", "templates", "template_configurations", "backups", "notify_channels", "notify_deliveries", "notify_state", sequences} {
		rows, err := c.db.Query(`SELECT * FROM ` + table + ` ORDER BY 1, 2`)
		must(t, err)
		cols, err := rows.Columns()
		must(t, err)
		fmt.Fprintf(&b, "%s %v\n", table, cols)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			must(t, rows.Scan(ptrs...))
			fmt.Fprintf(&b, "  %v\n", vals)
		}
		must(t, rows.Err())
		rows.Close()
	}
	return b.String()
}

// refuse runs op, wants an error of class want whose message contains every
// fragment, and checks the catalog did not change.
func refuse(t *testing.T, c *Catalog, want error, op func() error, fragments ...string) {
	t.Helper()
	before := dump(t, c)
	err := op()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want one wrapping %v", err, want)
	}
	msg := err.Error()
	for _, f := range fragments {
		if !strings.Contains(msg, f) {
			t.Errorf("got message %q, want it to contain %q", msg, f)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("got message %q, want one line", msg)
	}
	if after := dump(t, c); after != before {
		t.Errorf("catalog changed by a refused operation:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func exec(t testing.TB, db *db, q string, args ...any) error {
	t.Helper()
	_, err := db.Exec(q, args...)
	return err
}

// openTwoHandles opens one catalog file twice, as the console and the daemon
// would from two processes: separate pools, shared only through SQLite locks.
func openTwoHandles(t *testing.T) (*Catalog, *Catalog) {
	t.Helper()
	path, key := catalogTarget(t), WithKeyFile(filepath.Join(t.TempDir(), "catalog.key"))
	first, err := Open(context.Background(), path, key)
	must(t, err)
	t.Cleanup(func() { first.Close() })
	second, err := Open(context.Background(), path, key)
	must(t, err)
	t.Cleanup(func() { second.Close() })
	return first, second
}
