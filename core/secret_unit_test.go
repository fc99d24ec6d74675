package core

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
)

const secretValue = "hunter2-Sup3rS3cret"

func TestSecretNeverPrints(t *testing.T) {
	s := Secret(secretValue)
	conn := DBConn{Host: "db", Port: 5432, User: "odoo", Password: s, Database: "prod"}
	dest := Destination{Name: "s3", Kind: DestinationS3, S3: S3Settings{AccessKey: "AKIA", SecretKey: s}}
	conf := OdooConf{DBPassword: s}
	type wrapper struct {
		Name   string
		Secret Secret
		Ptr    *Secret
	}
	w := wrapper{Name: "w", Secret: s, Ptr: &s}

	outputs := map[string]string{}
	for _, verb := range []string{"%v", "%s", "%+v", "%#v", "%q", "%x", "%X", "%10s", "%-30v", "%T"} {
		for name, v := range map[string]any{"Secret": s, "*Secret": &s, "DBConn": conn, "*DBConn": &conn, "Destination": dest, "OdooConf": conf, "struct": w, "slice": []Secret{s}, "map": map[string]Secret{"pw": s}, "any slice": []any{s}} {
			outputs["fmt "+verb+" "+name] = fmt.Sprintf(verb, v)
		}
	}
	outputs["Sprint"] = fmt.Sprint(s, conn)
	outputs["Sprintln"] = fmt.Sprintln(s, conn)
	outputs["error"] = fmt.Errorf("connect with %v: %w", conn, errors.New("refused")).Error()
	outputs["String"] = s.String()
	outputs["GoString"] = s.GoString()

	var logBuf bytes.Buffer
	log.New(&logBuf, "", 0).Printf("password %v %v", s, conn)
	outputs["log"] = logBuf.String()

	for name, v := range map[string]any{"Secret": s, "DBConn": conn, "Destination": dest, "OdooConf": conf, "struct": w, "map": map[string]Secret{"pw": s}, "slice": []Secret{s}} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%s): %v", name, err)
		}
		outputs["json "+name] = string(b)
		b, _ = json.MarshalIndent(v, "", "  ")
		outputs["json indent "+name] = string(b)
	}

	for _, h := range []struct {
		name string
		new  func(*bytes.Buffer) slog.Handler
	}{
		{"text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
		{"json", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
	} {
		var buf bytes.Buffer
		logger := slog.New(h.new(&buf))
		logger.Info("connect", "password", s, "ptr", &s, "conn", conn, "dest", dest, "conf", conf, "struct", w)
		logger.Info("attrs", slog.Any("password", s), slog.Group("g", slog.Any("pw", s)))
		logger.With("password", s).Info("with")
		outputs["slog "+h.name] = buf.String()
	}

	var tmpl bytes.Buffer
	template.Must(template.New("t").Parse("{{.}} {{.Password}}")).Execute(&tmpl, conn)
	outputs["text/template"] = tmpl.String()

	hexValue := fmt.Sprintf("%x", secretValue)
	for name, out := range outputs {
		if strings.Contains(out, secretValue) || strings.Contains(strings.ToLower(out), hexValue) {
			t.Errorf("%s printed the secret: %s", name, out)
		}
	}
	if got := fmt.Sprint(s); got != "**redacted**" {
		t.Errorf("fmt.Sprint(secret) = %q, want **redacted**", got)
	}
	if got, _ := json.Marshal(s); string(got) != `"**redacted**"` {
		t.Errorf("json.Marshal(secret) = %s, want \"**redacted**\"", got)
	}
	if got := s.Reveal(); got != secretValue {
		t.Errorf("Reveal() = %q, want the value", got)
	}
	if !s.IsSet() || Secret("").IsSet() {
		t.Errorf("IsSet: %v for a value, %v for empty; want true, false", s.IsSet(), Secret("").IsSet())
	}
	if got := fmt.Sprint(Secret("")); got != "" {
		t.Errorf("an empty secret prints %q, want nothing", got)
	}
}

// A wrong verb makes fmt print "%!d(core.Secret=...)"; while it reports the
// mistake fmt no longer calls String, so only a Format method can cover it.
// %p is left out: fmt handles %p (and %T) before it looks for any method, and
// nobody prints a secret as a pointer.
func TestSecretWrongVerb(t *testing.T) {
	s := Secret(secretValue)
	var leaks []string
	for _, verb := range []string{"%d", "%t", "%o", "%e", "%b", "%c", "%U", "%x", "%q"} {
		for name, v := range map[string]any{"Secret": s, "DBConn": DBConn{Password: s}} {
			if out := fmt.Sprintf(verb, v); strings.Contains(out, secretValue) {
				leaks = append(leaks, fmt.Sprintf("%s of %s: %s", verb, name, out))
			}
		}
	}
	if len(leaks) > 0 {
		t.Fatalf("Secret leaks through fmt's bad-verb report (%d cases), e.g. %s", len(leaks), leaks[0])
	}
}

func TestSecretRefParsing(t *testing.T) {
	for _, tc := range []struct {
		in, ref, wantErr string
	}{
		{"env:S3_SECRET", "env:S3_SECRET", ""},
		{"env:_x1", "env:_x1", ""},
		{"file:/etc/odoo-backup/../odoo-backup/s3.secret", "file:/etc/odoo-backup/s3.secret", ""},
		{"env:", "", "does not name an environment variable"},
		{"env:1BAD", "", "does not name an environment variable"},
		{"env:A=B", "", "does not name an environment variable"},
		{"file:relative/path", "", "absolute file path"},
		{"file:", "", "absolute file path"},
		{"vault:x", "", "is env:VARIABLE or file:/path/to/file, not the secret itself"},
		{"plain-secret", "", "is env:VARIABLE or file:/path/to/file, not the secret itself"},
	} {
		s, err := SecretRef(tc.in)
		if tc.wantErr != "" {
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("SecretRef(%q): got %v, want an invalid error saying %q", tc.in, err, tc.wantErr)
			}
			// What was given may be the secret itself.
			if _, rest, _ := strings.Cut(tc.in, ":"); err != nil && rest != "" && strings.Contains(err.Error(), rest) {
				t.Errorf("SecretRef(%q): the error repeats what was given: %v", tc.in, err)
			}
			continue
		}
		if err != nil || s.Ref() != tc.ref {
			t.Errorf("SecretRef(%q) = %q, %v; want %q", tc.in, s.Ref(), err, tc.ref)
		}
		if s.IsValue() || s.Reveal() != "" || !s.IsSet() {
			t.Errorf("SecretRef(%q): IsValue %v, Reveal %q, IsSet %v; want a set reference that reveals nothing", tc.in, s.IsValue(), s.Reveal(), s.IsSet())
		}
	}
	if Secret("value").Ref() != "" || !Secret("value").IsValue() {
		t.Error("a value passes for a reference")
	}
}

func TestSecretResolve(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Setenv("ODOO_BACKUP_TEST_SECRET", secretValue)
	ok := write("ok", secretValue+"\n", 0o600)
	wide := write("wide", secretValue, 0o640)
	empty := write("empty", "\n", 0o600)

	ref := func(s string) Secret {
		r, err := SecretRef(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, tc := range []struct {
		name    string
		s       Secret
		want    string
		class   error
		wantErr string
	}{
		{"value", Secret(secretValue), secretValue, nil, ""},
		{"empty", "", "", nil, ""},
		{"env", ref("env:ODOO_BACKUP_TEST_SECRET"), secretValue, nil, ""},
		{"env unset", ref("env:ODOO_BACKUP_TEST_UNSET"), "", ErrInvalid, "the secret refers to the environment variable ODOO_BACKUP_TEST_UNSET, which is not set"},
		{"file", ref("file:" + ok), secretValue, nil, ""},
		{"file others can read", ref("file:" + wide), "", ErrAccessDenied, "restrict it with: chmod 600 " + wide},
		{"file missing", ref("file:" + filepath.Join(dir, "nope")), "", ErrNotFound, "does not exist"},
		{"file empty", ref("file:" + empty), "", ErrInvalid, "it is empty"},
		{"directory", ref("file:" + dir), "", nil, "not a regular file"},
		{"unreadable", UnreadableSecret("it cannot be decrypted; enter it again", Advice{}), "", ErrAccessDenied, "it cannot be decrypted; enter it again"},
	} {
		got, err := tc.s.Resolve("the secret")
		if tc.wantErr == "" {
			if err != nil || got.Reveal() != tc.want {
				t.Errorf("%s: got %q, %v; want %q", tc.name, got.Reveal(), err, tc.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v, want one line containing %q", tc.name, err, tc.wantErr)
		}
		if tc.class != nil && !errors.Is(err, tc.class) {
			t.Errorf("%s: got %v, want it to wrap %v", tc.name, err, tc.class)
		}
		if err != nil && strings.Contains(err.Error(), secretValue) {
			t.Errorf("%s: the error shows the secret: %v", tc.name, err)
		}
	}
}

// References and unreadable secrets print like any other secret.
func TestSecretRefNeverPrints(t *testing.T) {
	r, err := SecretRef("env:ODOO_BACKUP_TEST_SECRET")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []Secret{r, UnreadableSecret("why", Advice{Action: "enter-it", Destination: "s3"})} {
		b, _ := json.Marshal(s)
		for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %s %q %x", s, s, s, s), string(b)} {
			if strings.Contains(out, "ODOO_BACKUP") || strings.Contains(out, "why") || strings.Contains(out, "\x00") {
				t.Errorf("printed %q", out)
			}
		}
	}
}

func TestCurrentActor(t *testing.T) {
	for _, tc := range []struct{ conn, client, want string }{
		{"203.0.113.5 50022 10.0.0.1 22", "", "203.0.113.5"},
		{"", "2001:db8::7 40000 22", "2001:db8::7"},
		{"198.51.100.1 1 2 3", "203.0.113.9 2 22", "198.51.100.1"},
		{"", "", ""},
	} {
		t.Setenv("SSH_CONNECTION", tc.conn)
		t.Setenv("SSH_CLIENT", tc.client)
		a := CurrentActor()
		if a.SSHClient != tc.want || a.User == "" {
			t.Errorf("SSH_CONNECTION %q SSH_CLIENT %q: got %+v, want a user and client %q", tc.conn, tc.client, a, tc.want)
		}
	}
	ctx := context.Background()
	if got := ActorFrom(ctx); got != CurrentActor() {
		t.Errorf("ActorFrom without an actor = %+v, want the current one", got)
	}
	set := Actor{User: "someone", SSHClient: "192.0.2.1"}
	if got := ActorFrom(WithActor(ctx, set)); got != set {
		t.Errorf("ActorFrom = %+v, want %+v", got, set)
	}
	if got := set.String(); got != "someone from 192.0.2.1" {
		t.Errorf("String = %q", got)
	}
}

// An unreadable secret says what happened, and carries the action that
// helps for the front end to phrase, not the front end's words.
func TestUnreadableSecretCarriesItsAdvice(t *testing.T) {
	want := Advice{Action: "enter-it", Destination: "s3"}
	s := UnreadableSecret("the secret key cannot be decrypted", want)
	if reason, ok := s.Unreadable(); !ok || reason != "the secret key cannot be decrypted" {
		t.Errorf("Unreadable gives %q, %v; want the reason alone", reason, ok)
	}
	_, err := s.Resolve("the secret key")
	if err == nil || err.Error() != "the secret key cannot be decrypted" {
		t.Fatalf("Resolve gives %v, want the reason alone", err)
	}
	if got, ok := AdviceOf(err); !ok || got != want {
		t.Errorf("advice %+v, %v; want %+v", got, ok, want)
	}
	if _, ok := AdviceOf(mustResolveErr(t, UnreadableSecret("why", Advice{}))); ok {
		t.Error("a secret unreadable without advice advises something")
	}
}

func mustResolveErr(t *testing.T, s Secret) error {
	t.Helper()
	_, err := s.Resolve("it")
	if err == nil {
		t.Fatal("an unreadable secret resolved")
	}
	return err
}
