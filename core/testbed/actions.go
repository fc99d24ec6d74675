package testbed

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
)

// CoreActions reads every core.Action constant from core's source, so a
// front end's test fails when core advises an action it cannot phrase.
func CoreActions(t testing.TB) []core.Action {
	t.Helper()
	_, here, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot tell where the test bed's source is, to find core's")
	}
	files, err := filepath.Glob(filepath.Join(filepath.Dir(here), "..", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []core.Action
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok || vs.Type == nil || len(vs.Values) != 1 {
				return true
			}
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Action" {
				return true
			}
			if lit, ok := vs.Values[0].(*ast.BasicLit); ok {
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, core.Action(v))
			}
			return true
		})
	}
	if len(out) < 30 {
		t.Fatalf("found %d actions in core, want the 30 and more it defines", len(out))
	}
	return out
}
