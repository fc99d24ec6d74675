package testbed

import (
	"context"
	"fmt"
	"os"
	"testing"
)

// Main is a TestMain for packages whose tests share one PostgreSQL cluster
// and one MinIO server: it starts both, sets *pg and *minio, runs the tests,
// stops the servers and exits with the tests' code.
func Main(m *testing.M, pg **Postgres, minio **MinIO) {
	ctx := context.Background()
	var err error
	if *pg, err = NewPostgres(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "start PostgreSQL:", err)
		os.Exit(1)
	}
	if *minio, err = NewMinIO(ctx); err != nil {
		(*pg).Close()
		fmt.Fprintln(os.Stderr, "start MinIO:", err)
		os.Exit(1)
	}
	code := m.Run()
	(*minio).Close()
	(*pg).Close()
	os.Exit(code)
}
