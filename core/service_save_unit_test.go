package core

import "testing"

func TestSharedResource(t *testing.T) {
	prod := Service{ID: 1, Name: "prod", DB: DBConn{Host: "127.0.0.1", Port: 5432, Database: "prod"}, FilestoreDir: "/var/lib/odoo/filestore/prod"}
	ghost := Service{ID: 2, Name: "ghost", Placeholder: true, FilestoreDir: "/var/lib/odoo/filestore/ghost"}
	shop := Service{ID: 4, Name: "shop", DB: DBConn{Host: "h", Port: 5432, Database: "shop"}, FilestoreDir: "/srv/shop"}
	shop2 := Service{ID: 3, Name: "shop2", DB: DBConn{Host: "h", Port: 5432, Database: "shop"}, FilestoreDir: "/srv/shop2"} // shares shop's database, allowed once
	others := []Service{prod, ghost, shop, shop2}
	for _, tc := range []struct {
		name string
		s    Service
		want string // "" for no conflict, else What
	}{
		{"same server spelled localhost", Service{Name: "b", DB: DBConn{Host: "localhost", Port: 5432, Database: "prod"}}, "database"},
		{"same server over the socket", Service{Name: "b", DB: DBConn{Host: "/var/run/postgresql", Port: 5432, Database: "prod"}}, "database"},
		{"another port", Service{Name: "b", DB: DBConn{Host: "localhost", Port: 5433, Database: "prod"}}, ""},
		{"another host", Service{Name: "b", DB: DBConn{Host: "db2", Port: 5432, Database: "prod"}}, ""},
		{"another database", Service{Name: "b", DB: DBConn{Host: "localhost", Port: 5432, Database: "prod2"}, FilestoreDir: "/var/lib/odoo/filestore/prod2"}, ""},
		{"same filestore", Service{Name: "b", DB: DBConn{Port: 5432, Database: "b"}, FilestoreDir: "/var/lib/odoo/filestore/prod/"}, "filestore"},
		{"filestore around it", Service{Name: "b", DB: DBConn{Port: 5432, Database: "b"}, FilestoreDir: "/var/lib/odoo"}, "filestore"},
		{"filestore inside it", Service{Name: "b", DB: DBConn{Port: 5432, Database: "b"}, FilestoreDir: "/var/lib/odoo/filestore/prod/ab"}, "filestore"},
		{"a sibling with a common prefix", Service{Name: "b", DB: DBConn{Port: 5432, Database: "b"}, FilestoreDir: "/var/lib/odoo/filestore/prod-b"}, ""},
		{"itself, by id (renamed)", Service{ID: 1, Name: "renamed", DB: prod.DB, FilestoreDir: prod.FilestoreDir}, ""},
		{"itself, sharing with shop as it already did", Service{ID: 3, Name: "shop2", DB: DBConn{Host: "h", Port: 5432, Database: "shop"}, FilestoreDir: "/srv/shop2"}, ""},
		{"itself, newly sharing prod's database", Service{ID: 3, Name: "shop2", DB: DBConn{Host: "localhost", Port: 5432, Database: "prod"}, FilestoreDir: "/srv/shop2"}, "database"},
		{"a placeholder shares nothing", Service{Name: "b", DB: DBConn{Port: 5432, Database: "b"}, FilestoreDir: "/var/lib/odoo/filestore/ghost"}, ""},
		{"another host's localhost is another server", Service{Name: "b", Host: "elsewhere", DB: DBConn{Host: "localhost", Port: 5432, Database: "prod"}}, ""},
		{"another host's filestore is another directory", Service{Name: "b", Host: "elsewhere", DB: DBConn{Port: 5432, Database: "b"}, FilestoreDir: "/var/lib/odoo/filestore/prod"}, ""},
		{"this host named", Service{Name: "b", Host: HostName(), DB: DBConn{Port: 5432, Database: "b"}, FilestoreDir: "/var/lib/odoo/filestore/prod"}, "filestore"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			candidates := others
			if tc.s.ID != 0 {
				candidates = stillSeparate(tc.s.ID, others)
			}
			err := SharedResource(tc.s, candidates)
			sr, ok := IsSharedResource(err)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want no conflict", err)
			case tc.want != "" && (!ok || sr.What != tc.want || sr.Other != "prod"):
				t.Errorf("got %v, want a %s shared with prod", err, tc.want)
			}
		})
	}
}
