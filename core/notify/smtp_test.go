package notify

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// mailURL is the URL of an email channel to mp with the given password,
// trusting mp's certificate when withCA.
func mailURL(mp *testbed.Mailpit, password string, withCA bool) core.Secret {
	u := url.URL{Scheme: "smtp", User: url.UserPassword(mp.User, password), Host: mp.SMTP, Path: "/"}
	q := url.Values{"from": {"Backups <backup@example.com>"}, "to": {"ops@example.com, boss@example.com"}}
	if withCA {
		q.Set("ca", mp.CAFile)
	}
	u.RawQuery = q.Encode()
	return core.Secret(u.String())
}

// noSleep fails the test if a delivery waits for another try.
func noSleep(t *testing.T) func(context.Context, time.Duration) {
	return func(context.Context, time.Duration) { t.Error("the delivery was retried; another try cannot help") }
}

// An email goes through a real SMTP server that requires STARTTLS and a
// password, and arrives with its subject (prefixed), body, sender and
// recipients, and the headers mail readers expect.
func TestEmailArrivesThroughMailpit(t *testing.T) {
	mp := testbed.StartMailpit(t)
	ctx := context.Background()
	m := Message{Event: core.EventFailure, Service: "shop", Subject: "shop: the nightly backup failed",
		Body: "shop: the nightly backup failed\n\nThe destination answered 503.\nÉté: unicode survives."}
	res := Send(ctx, mailURL(mp, mp.Password, true), m, Options{Sleep: noSleep(t)})
	if res.Err != nil || res.Tries != 1 {
		t.Fatalf("Send = %+v, want delivered at the first try", res)
	}
	msgs, err := mp.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("mailpit holds %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if got.Subject != "odoo-backup: shop: the nightly backup failed" {
		t.Errorf("subject %q", got.Subject)
	}
	if got.From.Address != "backup@example.com" || got.From.Name != "Backups" {
		t.Errorf("from %+v", got.From)
	}
	var to []string
	for _, a := range got.To {
		to = append(to, a.Address)
	}
	if strings.Join(to, " ") != "ops@example.com boss@example.com" {
		t.Errorf("to %v", to)
	}
	if !strings.Contains(got.Text, "The destination answered 503.\r\nÉté: unicode survives.") &&
		!strings.Contains(got.Text, "The destination answered 503.\nÉté: unicode survives.") {
		t.Errorf("body %q", got.Text)
	}
	for _, h := range []string{"Date", "Message-Id", "Content-Type", "Mime-Version"} {
		if len(got.Headers[h]) == 0 {
			t.Errorf("no %s header in %v", h, got.Headers)
		}
	}
	if ct := got.Headers["Content-Type"]; len(ct) == 0 || ct[0] != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type %v", ct)
	}
	if ev := got.Headers["X-Odoo-Backup-Event"]; len(ev) == 0 || ev[0] != "failure" {
		t.Errorf("X-Odoo-Backup-Event %v", ev)
	}
	if !strings.Contains(got.Raw, "Subject: odoo-backup: shop: the nightly backup failed") {
		t.Errorf("raw message %q", got.Raw)
	}
	if strings.Contains(got.Raw, mp.Password) || strings.Contains(got.Raw, mp.User) {
		t.Errorf("the message holds the channel's credentials: %q", got.Raw)
	}
}

// A refused password is one sentence naming the server, never the
// password, and is not retried: another try cannot help.
func TestEmailWrongPasswordIsOneSentenceAndNotRetried(t *testing.T) {
	mp := testbed.StartMailpit(t)
	wrong := "not-" + mp.Password
	res := Send(context.Background(), mailURL(mp, wrong, true), Message{Subject: "test"}, Options{Sleep: noSleep(t)})
	if res.Err == nil {
		t.Fatal("a wrong password was accepted")
	}
	if res.Tries != 1 {
		t.Errorf("tries = %d, want 1", res.Tries)
	}
	msg := res.Err.Error()
	want := "the SMTP server " + mp.SMTP + " refused the user name or password ("
	if !strings.HasPrefix(msg, want) || !strings.HasSuffix(msg, "; check the user and password in the channel's URL") {
		t.Errorf("error %q, want %q...", msg, want)
	}
	if strings.Contains(msg, wrong) || strings.Contains(msg, mp.User+":") || strings.Contains(msg, "smtp://") {
		t.Errorf("the error holds the URL's secrets: %q", msg)
	}
	if !errors.Is(res.Err, core.ErrAccessDenied) {
		t.Errorf("error %v is not ErrAccessDenied", res.Err)
	}
	if msgs, _ := mp.Messages(context.Background()); len(msgs) != 0 {
		t.Errorf("a message arrived: %+v", msgs)
	}
}

// A server whose certificate no trusted authority signed is refused (the
// password is not sent to it), with what to do, and not retried.
func TestEmailUntrustedCertificateIsRefused(t *testing.T) {
	mp := testbed.StartMailpit(t)
	res := Send(context.Background(), mailURL(mp, mp.Password, false), Message{Subject: "test"}, Options{Sleep: noSleep(t)})
	if res.Err == nil || res.Tries != 1 {
		t.Fatalf("Send = %+v, want one refused try", res)
	}
	if msg := res.Err.Error(); !strings.HasPrefix(msg, "the certificate of the SMTP server "+mp.SMTP+" cannot be trusted (") ||
		!strings.Contains(msg, "ca=/path/ca.pem") || strings.Contains(msg, mp.Password) {
		t.Errorf("error %q", msg)
	}
}

// A server that accepts the connection and says nothing times out at each
// try, and is tried again with backoff.
func TestEmailSilentServerTimesOutAndIsRetried(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	var waits []time.Duration
	o := Options{Timeout: 50 * time.Millisecond, Sleep: func(_ context.Context, d time.Duration) { waits = append(waits, d) }}
	password := "s3cret-pass"
	raw := core.Secret("smtp://me:" + password + "@" + l.Addr().String() + "/?from=a@example.com&to=b@example.com")
	res := Send(context.Background(), raw, Message{Subject: "x"}, o)
	if res.Tries != 3 {
		t.Errorf("tries = %d, want 3", res.Tries)
	}
	if fmt.Sprint(waits) != "[2s 4s]" {
		t.Errorf("waits between tries %v, want [2s 4s]", waits)
	}
	want := "the SMTP server " + l.Addr().String() + " did not answer: it timed out"
	if res.Err == nil || res.Err.Error() != want {
		t.Errorf("error %v, want %q", res.Err, want)
	}
	if !errors.Is(res.Err, core.ErrTransient) {
		t.Errorf("error %v is not ErrTransient", res.Err)
	}
}

// fakeSMTP is a small SMTP server for what mailpit cannot be made to do:
// offer no STARTTLS, offer AUTH LOGIN only, speak TLS from the start.
type fakeSMTP struct {
	addr     string
	startTLS bool   // offer STARTTLS
	auth     string // the AUTH mechanisms offered, "" for none
	user     string
	pass     string
	caFile   string // the PEM file of its certificate, when it speaks TLS

	mu       sync.Mutex
	commands []string // every command line received (AUTH data included)
	data     []string // the messages received
}

func startFakeSMTP(t *testing.T, f *fakeSMTP, implicitTLS bool) *fakeSMTP {
	t.Helper()
	var cfg *tls.Config
	if f.startTLS || implicitTLS {
		cfg, f.caFile = testTLSConfig(t)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if implicitTLS {
		l = tls.NewListener(l, cfg)
	}
	f.addr = l.Addr().String()
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				f.serve(c, cfg)
			}()
		}
	}()
	return f
}

func (f *fakeSMTP) serve(c net.Conn, cfg *tls.Config) {
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	say := func(s string) { fmt.Fprintf(c, "%s\r\n", s) }
	read := func() (string, bool) {
		line, err := r.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		f.mu.Lock()
		f.commands = append(f.commands, line)
		f.mu.Unlock()
		return line, err == nil
	}
	say("220 fake ESMTP")
	authed := f.auth == ""
	for {
		line, ok := read()
		if !ok {
			return
		}
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		switch verb {
		case "EHLO":
			say("250-fake")
			if f.startTLS {
				say("250-STARTTLS")
			}
			if f.auth != "" {
				say("250-AUTH " + f.auth)
			}
			say("250 8BITMIME")
		case "STARTTLS":
			say("220 go ahead")
			tc := tls.Server(c, cfg)
			if tc.Handshake() != nil {
				return
			}
			c = tc
			r = bufio.NewReader(c)
		case "AUTH":
			if strings.HasPrefix(strings.ToUpper(line), "AUTH LOGIN") {
				say("334 " + base64.StdEncoding.EncodeToString([]byte("Username:")))
				u, _ := read()
				say("334 " + base64.StdEncoding.EncodeToString([]byte("Password:")))
				p, _ := read()
				ub, _ := base64.StdEncoding.DecodeString(u)
				pb, _ := base64.StdEncoding.DecodeString(p)
				if string(ub) == f.user && string(pb) == f.pass {
					authed = true
					say("235 ok")
				} else {
					say("535 5.7.8 bad credentials")
				}
				continue
			}
			say("504 unknown mechanism")
		case "MAIL":
			if !authed {
				say("530 5.7.0 authentication required")
				continue
			}
			say("250 ok")
		case "RCPT":
			say("250 ok")
		case "DATA":
			say("354 go on")
			var b strings.Builder
			for {
				l, ok := read()
				if !ok || l == "." {
					break
				}
				b.WriteString(l + "\n")
			}
			f.mu.Lock()
			f.data = append(f.data, b.String())
			f.mu.Unlock()
			say("250 queued")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

func (f *fakeSMTP) seen() (commands, data []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.commands...), append([]string(nil), f.data...)
}

// testTLSConfig is a server TLS configuration with a fresh self-signed
// certificate for 127.0.0.1, and the path of its PEM file.
func testTLSConfig(t *testing.T) (*tls.Config, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, p
}

// A server that offers no STARTTLS never sees the password: the delivery
// stops before AUTH with one sentence, and is not retried.
func TestEmailNoSTARTTLSKeepsThePassword(t *testing.T) {
	f := startFakeSMTP(t, &fakeSMTP{auth: "PLAIN LOGIN", user: "me", pass: "s3cret-pass"}, false)
	raw := core.Secret("smtp://me:s3cret-pass@" + f.addr + "/?from=a@example.com&to=b@example.com")
	res := Send(context.Background(), raw, Message{Subject: "x"}, Options{Sleep: noSleep(t)})
	want := "the SMTP server " + f.addr + " does not offer STARTTLS, so the password would go in clear; use the server's TLS port (smtps:// on 465, or the port that offers STARTTLS)"
	if res.Err == nil || res.Err.Error() != want || res.Tries != 1 {
		t.Errorf("Send = %+v, want one try and %q", res, want)
	}
	commands, _ := f.seen()
	for _, c := range commands {
		if strings.HasPrefix(strings.ToUpper(c), "AUTH") || strings.HasPrefix(strings.ToUpper(c), "MAIL") {
			t.Errorf("the client went on to %q without TLS", c)
		}
	}
}

// A relay on the same machine without TLS and without a password takes the
// message in clear (starttls=auto, and starttls=no); starttls=yes refuses
// to send without TLS.
func TestEmailRelayWithoutTLS(t *testing.T) {
	for _, tc := range []struct{ param, err string }{
		{"", ""},
		{"&starttls=no", ""},
		{"&starttls=yes", "does not offer STARTTLS, which the email URL requires (starttls=yes)"},
	} {
		t.Run(tc.param, func(t *testing.T) {
			f := startFakeSMTP(t, &fakeSMTP{}, false)
			raw := core.Secret("smtp://" + f.addr + "/?from=a@example.com&to=b@example.com" + tc.param)
			res := Send(context.Background(), raw, Message{Subject: "relay test", Body: "hello"}, Options{Sleep: noSleep(t)})
			_, data := f.seen()
			if tc.err == "" {
				if res.Err != nil || len(data) != 1 || !strings.Contains(data[0], "Subject: odoo-backup: relay test") {
					t.Errorf("Send = %+v, data %q", res, data)
				}
				return
			}
			if res.Err == nil || !strings.Contains(res.Err.Error(), tc.err) || len(data) != 0 {
				t.Errorf("Send = %+v, want %q and nothing sent", res, tc.err)
			}
		})
	}
}

// smtps:// speaks TLS from the first byte; a server that offers only AUTH
// LOGIN gets the user name and the password that way.
func TestEmailImplicitTLSWithLoginAuth(t *testing.T) {
	f := startFakeSMTP(t, &fakeSMTP{auth: "LOGIN", user: "me@example.com", pass: "p@ss word"}, true)
	ca := f.caFile
	good := (&url.URL{Scheme: "smtps", User: url.UserPassword("me@example.com", "p@ss word"), Host: f.addr, Path: "/",
		RawQuery: url.Values{"from": {"me@example.com"}, "to": {"you@example.com"}, "ca": {ca}}.Encode()}).String()
	res := Send(context.Background(), core.Secret(good), Message{Subject: "over smtps"}, Options{Sleep: noSleep(t)})
	if _, data := f.seen(); res.Err != nil || len(data) != 1 {
		t.Fatalf("Send = %+v, %d messages", res, len(data))
	}
	bad := strings.Replace(good, "p%40ss", "wrong", 1)
	res = Send(context.Background(), core.Secret(bad), Message{Subject: "over smtps"}, Options{Sleep: noSleep(t)})
	if res.Err == nil || !strings.Contains(res.Err.Error(), "refused the user name or password (535 5.7.8 bad credentials)") || res.Tries != 1 {
		t.Errorf("Send = %+v", res)
	}
}

// Every bad email URL is refused before anything is sent, in one sentence
// that never holds the password.
func TestValidateEmailURL(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	const pw = "pw-secret"
	for _, tc := range []struct{ url, want string }{
		{"smtp:///?from=a@example.com&to=b@example.com", "the email URL names no server; give it as smtp://user:password@host:port/?from=ADDRESS&to=ADDRESS"},
		{"smtp://mail.example.com:99999/?from=a@example.com&to=b@example.com", `the email URL's port "99999" is not a port number (1 to 65535)`},
		{"smtp://:" + pw + "@mail.example.com/?from=a@example.com&to=b@example.com", "the email URL for mail.example.com:587 has a password but no user name; give both as user:password@ before the server"},
		{"smtp://me@mail.example.com/?from=a@example.com&to=b@example.com", "the email URL for mail.example.com:587 has a user name but no password; give both as user:password@ before the server"},
		{"smtp://me:" + pw + "@mail.example.com/?to=b@example.com", "the email URL for mail.example.com:587 has no sender; add from=ADDRESS, an address the server accepts mail from"},
		{"smtp://me:" + pw + "@mail.example.com/?from=nobody&to=b@example.com", `the email URL's sender "nobody" is not an email address; give from=name@example.com`},
		{"smtps://me:" + pw + "@mail.example.com/?from=a@example.com", "the email URL for mail.example.com:465 has no recipient; add to=ADDRESS (several separated by commas)"},
		{"smtp://me:" + pw + "@mail.example.com/?from=a@example.com&to=b@example.com,oops", `the email URL's recipient "oops" is not an email address; give to=name@example.com (several separated by commas)`},
		{"smtp://me:" + pw + "@mail.example.com/?from=a@example.com&to=b@example.com&starttls=maybe", `the email URL's starttls="maybe" is not one of auto, yes or no`},
		{"smtp://me:" + pw + "@mail.example.com/?from=a@example.com&to=b@example.com&starttls=no", "the email URL for mail.example.com:587 says starttls=no but holds a password, which would go in clear; remove starttls=no, or the user and password for a relay that needs none"},
		{"smtps://me:" + pw + "@mail.example.com/?from=a@example.com&to=b@example.com&starttls=yes", "an smtps:// URL speaks TLS from the start, so starttls= has no place in it; remove it (or use smtp:// for a server that uses STARTTLS)"},
		{"smtp://me:" + pw + "@mail.example.com/?from=a@example.com&to=b@example.com&tls=off", `the email URL's parameter "tls" is not known; the known ones are from, to, starttls, ca`},
		{"smtp://me:" + pw + "@mail.example.com/?from=a@example.com&to=b@example.com&ca=", "the email URL's ca= names no file; give the path of the PEM file of the server's certificate authority"},
		{"smtp://me:" + pw + "@mail.example.com/?from=a@example.com&to=b@example.com&ca=" + dir + "/missing.pem", "the CA file " + dir + "/missing.pem named by the email URL cannot be read (no such file or directory)"},
		{"smtp://me:" + pw + "@mail.example.com/?from=a@example.com&to=b@example.com&ca=" + notPEM, "the CA file " + notPEM + " named by the email URL holds no PEM certificate"},
	} {
		err := ValidateURL(core.Secret(tc.url))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s:\n got %v\nwant %s", tc.url, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), pw) {
			t.Errorf("%s: the error holds the password", tc.url)
		}
		if !errors.Is(err, core.ErrInvalid) {
			t.Errorf("%s: %v is not ErrInvalid", tc.url, err)
		}
		// Send refuses the same URL at once, without a try.
		if res := Send(context.Background(), core.Secret(tc.url), Message{Subject: "x"}, Options{Sleep: noSleep(t)}); res.Tries != 0 || res.Err == nil || res.Err.Error() != tc.want {
			t.Errorf("%s: Send = %+v", tc.url, res)
		}
	}
	for _, ok := range []string{
		"smtp://me:pw@mail.example.com:587/?from=a@example.com&to=b@example.com,c@example.com",
		"smtps://me:pw@mail.example.com/?from=Backups%20%3Ca@example.com%3E&to=b@example.com&to=c@example.com",
		"smtp://localhost:25/?from=a@example.com&to=b@example.com&starttls=no",
		"SMTP://me:pw@mail.example.com/?from=a@example.com&to=b@example.com&starttls=yes",
	} {
		if err := ValidateURL(core.Secret(ok)); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

// The subject gets the product's prefix once, on one line.
func TestEmailSubject(t *testing.T) {
	for _, tc := range []struct {
		m    Message
		want string
	}{
		{Message{Subject: "shop failed"}, "odoo-backup: shop failed"},
		{Message{Subject: "odoo-backup: shop failed"}, "odoo-backup: shop failed"},
		{Message{Subject: "two\r\nlines\ninjected: header"}, "odoo-backup: two lines injected: header"},
		{Message{Body: "first line\nsecond"}, "odoo-backup: first line"},
		{Message{Event: core.EventTest}, "odoo-backup: test"},
	} {
		if got := tc.m.EmailSubject(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.m, got, tc.want)
		}
	}
}
