// Command testbed installs what the test suite needs: the pinned MinIO
// server and mailpit SMTP server (built with go install, cached), where
// its binaries are missing PostgreSQL and Prometheus with promtool
// (apt-get, as root), and as root the odoo system user that owns generated
// filestores.
//
//	go run ./cmd/testbed setup
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/odoo-backup/odoo-backup/core/testbed"
)

func main() {
	if len(os.Args) != 2 || os.Args[1] != "setup" {
		fmt.Fprintln(os.Stderr, "usage: go run ./cmd/testbed setup")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	pgBin, err := testbed.EnsurePostgres(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testbed: PostgreSQL:", err)
		os.Exit(1)
	}
	fmt.Println("PostgreSQL server binaries:", pgBin)
	// Generated Odoo filestores belong to the odoo system user, as on a
	// standard installation; only root can create it.
	if err := testbed.EnsureOdooUser(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "testbed: odoo system user:", err)
		os.Exit(1)
	}
	if os.Geteuid() == 0 {
		fmt.Println("Filestore owner: system user", testbed.OSUser)
	}
	minio, err := testbed.EnsureMinIO(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testbed: MinIO:", err)
		os.Exit(1)
	}
	fmt.Println("MinIO server:", minio, "("+testbed.MinIOVersion+")")
	mailpit, err := testbed.EnsureMailpit(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testbed: mailpit:", err)
		os.Exit(1)
	}
	fmt.Println("SMTP server (mailpit):", mailpit, "("+testbed.MailpitVersion+")")
	// The metrics are tested by a real Prometheus scraping the daemon, and
	// by promtool.
	prom, promtool, err := testbed.EnsurePrometheus(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testbed: Prometheus:", err)
		os.Exit(1)
	}
	fmt.Println("Prometheus:", prom, "and", promtool)
}
