package store

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// commandText is what a front end's advice looks like: the program followed
// by a word (a command such as "odoo-backup service list"), or a flag
// (" --primary"). Core and the catalog say what happened; the command line
// and the console phrase the advice (core.Advise), so neither may appear in
// their string literals.
var commandText = regexp.MustCompile(`odoo-backup [a-z]+| --[a-z][a-z-]*`)

// notAdvice are the matches of commandText in core and store that are not a
// front end's advice, each with the reason it may stay.
var notAdvice = map[string]string{
	" --version":  "the PostgreSQL tool's own flag, in the message when what it printed cannot be read",
	" --unaccent": "Odoo's own flag, in an SQL comment of the test bed's schema",
}

// commandSentences lists every string literal of a non-test Go file under
// the given directories that holds command text not allowed by notAdvice,
// as "file:line: match in literal", and the allowed matches it met.
func commandSentences(t *testing.T, dirs ...string) (found []string, allowed map[string]bool) {
	t.Helper()
	allowed = map[string]bool{}
	fset := token.NewFileSet()
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Errorf("%s: %v", fset.Position(lit.Pos()), err)
					return true
				}
				for _, m := range commandText.FindAllString(s, -1) {
					if _, ok := notAdvice[m]; ok {
						allowed[m] = true
					} else {
						found = append(found, fmt.Sprintf("%s: %q in %q", fset.Position(lit.Pos()), m, s))
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return found, allowed
}

// Core and the catalog say what happened; the advice that names a command
// or a flag is the command line's (cmd/odoo-backup/advice.go), the one that
// names a key or a screen the console's (tui/advice.go).
func TestNoFrontEndAdviceInCoreOrStore(t *testing.T) {
	found, allowed := commandSentences(t, "../core", ".")
	for _, f := range found {
		t.Error(f)
	}
	for m := range notAdvice {
		if !allowed[m] {
			t.Errorf("no literal holds %q any more: take it out of notAdvice", m)
		}
	}
	if len(found) > 0 {
		t.Errorf("%d string literals in core and store name a command or a flag: return core.Advise with an Action and let each front end phrase it", len(found))
	}
}

// The check itself finds command text: a literal like the ones it guards
// against is reported, and one the allow-list names is not.
func TestCommandSentencesFindsCommandText(t *testing.T) {
	dir := t.TempDir()
	src := "package p\n\nvar (\n" +
		"\ta = \"service %q does not exist; list services with: odoo-backup service list\"\n" +
		"\tb = \"give one with --dir\"\n" +
		"\tc = \"pg_dump --version printed %q\"\n" +
		"\td = []string{\"--no-owner\"}\n)\n"
	if err := os.WriteFile(filepath.Join(dir, "p.go"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	found, _ := commandSentences(t, dir)
	if len(found) != 2 || !strings.Contains(found[0], "odoo-backup service") || !strings.Contains(found[1], "--dir") {
		t.Errorf("found %q, want the service list command and the --dir flag only", found)
	}
}
