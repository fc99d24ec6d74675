package testbed

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/smtp"
	"os"
	"strings"
	"testing"
)

// The test server is a submission port as a careful provider runs it: it
// takes no mail before STARTTLS, presents the certificate CAFile holds,
// takes mail once the user has logged in, and Messages shows it.
func TestMailpitRequiresSTARTTLSAndAuth(t *testing.T) {
	mp := StartMailpit(t)
	ctx := context.Background()
	c, err := smtp.Dial(mp.SMTP)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Fatal("mailpit does not offer STARTTLS")
	}
	if err := c.Mail("a@example.com"); err == nil {
		t.Fatal("mailpit took a sender before STARTTLS")
	}
	c.Close()

	c, err = smtp.Dial(mp.SMTP)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pem, err := os.ReadFile(mp.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	if err := c.StartTLS(&tls.Config{ServerName: "127.0.0.1", RootCAs: pool, MinVersion: tls.VersionTLS12}); err != nil {
		t.Fatalf("STARTTLS with the CAFile certificate: %v", err)
	}
	if err := c.Auth(smtp.PlainAuth("", mp.User, mp.Password, "127.0.0.1")); err != nil {
		t.Fatalf("mailpit refused its own user: %v", err)
	}
	if err := c.Mail("a@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("b@example.com"); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("From: a@example.com\r\nTo: b@example.com\r\nSubject: hello\r\n\r\nbody\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_ = c.Quit()
	msgs, err := mp.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].Subject != "hello" || len(msgs[0].To) != 1 || msgs[0].To[0].Address != "b@example.com" || strings.TrimSpace(msgs[0].Text) != "body" {
		t.Errorf("messages %+v", msgs)
	}
}
