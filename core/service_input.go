package core

import (
	"os/user"
	"path/filepath"
)

// CompleteConnection fills in what a person may leave out of a service's
// connection: the host (localhost), the port (5432) and the user (the one
// running odoo-backup, as psql does).
func CompleteConnection(c *DBConn) {
	if c.Host == "" {
		c.Host = "localhost"
	}
	if c.Port == 0 {
		c.Port = 5432
	}
	if c.User == "" {
		if u, err := user.Current(); err == nil {
			c.User = u.Username
		}
	}
}

// CompleteFilestore gives s its default filestore when it has none (under
// dataDir, odoo.conf's data_dir, when known: FilestoreFor) and makes it
// absolute, since the daemon runs from another directory.
func CompleteFilestore(s *Service, dataDir string) error {
	if s.FilestoreDir == "" {
		s.FilestoreDir = FilestoreFor(dataDir, s.DB.Database)
	}
	abs, err := filepath.Abs(s.FilestoreDir)
	if err != nil {
		return &SettingError{Setting: "filestore", Err: err}
	}
	s.FilestoreDir = abs
	return nil
}
