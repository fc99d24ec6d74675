package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"strings"
	"testing"
	"text/template"
)

const secretValue = "hunter2-Sup3rS3cret"

func TestSecretNeverPrints(t *testing.T) {
	s := Secret(secretValue)
	conn := DBConn{Host: "db", Port: 5432, User: "odoo", Password: s, Database: "prod"}
	dest := Destination{Name: "s3", Kind: DestinationS3, AccessKey: "AKIA", SecretKey: s}
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
