package tui

import (
	"testing"

	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// pg and minio are the real servers of the tests that drive the console
// against the real engine; unit tests of screens use a catalog only.
var (
	pg    *testbed.Postgres
	minio *testbed.MinIO
)

func TestMain(m *testing.M) { testbed.Main(m, &pg, &minio) }
