package tui

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
)

// coreActions reads every core.Action constant from core's source, so an
// action added there without a console phrase fails the test below.
func coreActions(t *testing.T) []core.Action {
	t.Helper()
	files, err := filepath.Glob("../core/*.go")
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
			if !ok || len(vs.Values) != 1 {
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

// notInTheConsole are the actions the console cannot do itself, so its
// phrase may send the user to the command line, with the reason.
var notInTheConsole = map[core.Action]string{
	core.ActionRebuildAgain:  "the console has no catalog rebuild",
	core.ActionForgetBackups: "the console removes a destination only once it holds no backups",
	core.ActionGiveRecipient: "the console does not generate keys",
	core.ActionGiveKeyFile:   "the console does not generate keys",
	core.ActionGenerateKey:   "the console does not generate keys",
}

// Every action core advises has its console phrase, which names a key, a
// screen or a field: never a flag, and a command only for what the console
// cannot do.
func TestEveryActionHasAConsolePhrase(t *testing.T) {
	for _, a := range coreActions(t) {
		how := consoleAdvice(core.Advice{Action: a, Service: "prod", Destination: "s3", Recipient: "age1x", Detail: "std"})
		switch {
		case how == "":
			t.Errorf("action %q has no phrase in the console", a)
		case strings.Contains(how, "odoo-backup ") && notInTheConsole[a] == "":
			t.Errorf("action %q sends the console's user to a command: %q", a, how)
		case strings.Contains(how, " --") && notInTheConsole[a] == "":
			t.Errorf("action %q names a flag in the console: %q", a, how)
		}
	}
}

// A backup encrypted to a recipient whose identity this host does not keep:
// the engine's refusal, shown in the console, names the field to fill in,
// not the command line's flag.
func TestIdentityAdviceNamesTheField(t *testing.T) {
	err := core.Advise(core.Advice{Action: core.ActionGiveIdentity, Backup: 5, Recipient: offRecipient}, core.ErrAccessDenied,
		"backup 5 is encrypted to %s and this host keeps no key for it", offRecipient)
	got := errorText(err)
	want := "backup 5 is encrypted to " + offRecipient + " and this host keeps no key for it; give the age identity file of " + offRecipient + " in the Identity file field"
	if got != want {
		t.Errorf("the console says %q, want %q", got, want)
	}
}
