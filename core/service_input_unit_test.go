package core

import (
	"os/user"
	"path/filepath"
	"testing"
)

func TestCompleteServiceInput(t *testing.T) {
	c := DBConn{Database: "prod"}
	CompleteConnection(&c)
	me := ""
	if u, err := user.Current(); err == nil {
		me = u.Username
	}
	if c.Host != "localhost" || c.Port != 5432 || c.User != me {
		t.Errorf("defaults: %+v, want localhost:5432 as %q", c, me)
	}
	given := DBConn{Host: "db", Port: 5433, User: "odoo", Database: "prod"}
	kept := given
	if CompleteConnection(&kept); kept != given {
		t.Errorf("given values changed: %+v, want %+v", kept, given)
	}

	t.Chdir(t.TempDir())
	s := Service{DB: DBConn{Database: "prod"}}
	if err := CompleteFilestore(&s, "/var/lib/odoo"); err != nil || s.FilestoreDir != "/var/lib/odoo/filestore/prod" {
		t.Errorf("under data_dir: %q, %v; want /var/lib/odoo/filestore/prod", s.FilestoreDir, err)
	}
	s = Service{DB: DBConn{Database: "prod"}, FilestoreDir: "fs/prod"}
	if err := CompleteFilestore(&s, "/var/lib/odoo"); err != nil || !filepath.IsAbs(s.FilestoreDir) || filepath.Base(s.FilestoreDir) != "prod" {
		t.Errorf("a relative directory given: %q, %v; want it absolute", s.FilestoreDir, err)
	}
}
