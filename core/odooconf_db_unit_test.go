package core

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestOdooConfDatabase(t *testing.T) {
	owned := map[string][]string{"odoo": {"acme", "acme_old", "prod", "prod_old", "staging"}}
	list := func(_ context.Context, owner string) ([]string, error) { return owned[owner], nil }
	for _, tc := range []struct {
		name       string
		conf       OdooConf
		want       string
		candidates []string // for an OdooConfDatabaseError
		reason     string
	}{
		{"db_name wins", OdooConf{DBName: "prod", DBFilter: "^staging$", DBUser: "odoo"}, "prod", nil, ""},
		{"dbfilter matching one", OdooConf{DBFilter: "^prod$", DBUser: "odoo"}, "prod", nil, ""},
		{"dbfilter anchored at the start only, as re.match", OdooConf{DBFilter: "stag", DBUser: "odoo"}, "staging", nil, ""},
		{"dbfilter matching two", OdooConf{DBFilter: "prod", DBUser: "odoo"}, "", []string{"prod", "prod_old"}, `dbfilter "prod" matches 2 databases`},
		{"dbfilter matching none", OdooConf{DBFilter: "^shop$", DBUser: "odoo"}, "", owned["odoo"], "matches none of the databases odoo owns"},
		{"dbfilter with %d", OdooConf{DBFilter: "^%d$", DBUser: "odoo"}, "", owned["odoo"], "depends on the host name"},
		{"dbfilter with %h", OdooConf{DBFilter: "%h", DBUser: "odoo"}, "", owned["odoo"], "(%h, %d)"},
		{"dbfilter Go cannot read", OdooConf{DBFilter: "^(?!test).*$", DBUser: "odoo"}, "", nil, "not a regular expression Go's RE2 syntax can read"},
		{"db_name list narrowed by dbfilter", OdooConf{DBName: "prod, staging", DBFilter: "^p", DBUser: "odoo"}, "prod", nil, ""},
		{"db_name list without dbfilter", OdooConf{DBName: "prod,staging", DBUser: "odoo"}, "", []string{"prod", "staging"}, "db_name lists 2 databases"},
		{"nothing at all", OdooConf{DBUser: "odoo"}, "", owned["odoo"], "neither db_name nor dbfilter"},
		{"another owner", OdooConf{DBFilter: "^prod$", DBUser: "nobody"}, "", nil, "none of the databases nobody owns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.conf.Path = "/etc/odoo/odoo.conf"
			got, err := OdooConfDatabase(context.Background(), tc.conf, list)
			if tc.reason == "" {
				if err != nil || got != tc.want {
					t.Fatalf("got %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			var ce *OdooConfDatabaseError
			if !errors.As(err, &ce) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %q, %v; want an OdooConfDatabaseError", got, err)
			}
			if !strings.Contains(err.Error(), tc.reason) || !strings.HasPrefix(err.Error(), "/etc/odoo/odoo.conf names no single database") || !slices.Equal(ce.Candidates, tc.candidates) {
				t.Errorf("got %q with candidates %q; want %q and %q", err, ce.Candidates, tc.reason, tc.candidates)
			}
		})
	}
}
