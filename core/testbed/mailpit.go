package testbed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// MailpitVersion is the pinned github.com/axllent/mailpit version the test
// bed runs as its SMTP server; EnsureMailpit builds exactly this one.
const MailpitVersion = "v1.33.1"

// mailpitStartTimeout bounds how long a starting server may take to answer
// on both its ports; it normally takes well under a second.
const mailpitStartTimeout = 30 * time.Second

// MailpitBinary returns the path of the mailpit binary without building it:
// $ODOO_BACKUP_MAILPIT if set, else the one EnsureMailpit built in
// <user cache dir>/odoo-backup/mailpit-<MailpitVersion>/mailpit. Where that
// was never built the error is ErrUnavailable.
func MailpitBinary() (string, error) { return mailpitTool.binary() }

// EnsureMailpit returns the path of the mailpit binary as MailpitBinary
// does, building it with `go install` first where it is missing (a few
// minutes); the setup command calls it, tests never do.
func EnsureMailpit(ctx context.Context) (string, error) { return mailpitTool.ensure(ctx) }

// Mailpit is an SMTP server run by a test: mailpit on two loopback ports,
// speaking STARTTLS with a self-signed certificate and asking for a user
// name and password, keeping what it receives for Messages.
type Mailpit struct {
	// SMTP is host:port of the SMTP server; HTTP that of its API.
	SMTP string
	HTTP string
	// User and Password are the only credentials the server accepts.
	User     string
	Password string
	// CAFile is the PEM file of the server's self-signed certificate,
	// valid for 127.0.0.1 and localhost, which clients must trust.
	CAFile string

	dir     string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// MailpitAddress is one address of a received message.
type MailpitAddress struct {
	Name    string `json:"Name"`
	Address string `json:"Address"`
}

// MailpitMessage is a message the server received, as its API lists it,
// with its text body.
type MailpitMessage struct {
	ID      string           `json:"ID"`
	From    MailpitAddress   `json:"From"`
	To      []MailpitAddress `json:"To"`
	Subject string           `json:"Subject"`
	Snippet string           `json:"Snippet"`
	// Text is the message's plain text body, decoded.
	Text string `json:"-"`
	// Headers are the message's headers, decoded.
	Headers map[string][]string `json:"-"`
	// Raw is the message as it was received, headers and encoded body.
	Raw string `json:"-"`
}

// StartMailpit starts a mailpit server of the test's own and stops it (and
// removes its directory) when the test ends. Where mailpit is not built the
// test skips (fails under CI=true), as Need says.
func StartMailpit(tb testing.TB) *Mailpit {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), mailpitStartTimeout)
	defer cancel()
	m, err := NewMailpit(ctx)
	Need(tb, "mailpit", err)
	tb.Cleanup(func() {
		if err := m.Close(); err != nil {
			tb.Errorf("stop mailpit: %v", err)
		}
	})
	return m
}

// NewMailpit starts a mailpit server in a fresh temporary directory; Close
// stops it and removes the directory. It never builds mailpit (see
// MailpitBinary).
func NewMailpit(ctx context.Context) (*Mailpit, error) {
	bin, err := MailpitBinary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "odoo-backup-mailpit-")
	if err != nil {
		return nil, fmt.Errorf("cannot create a directory for mailpit: %w", err)
	}
	m := &Mailpit{
		User:     "backup-" + minioRandomHex(4),
		Password: minioRandomHex(12),
		dir:      dir,
		logPath:  filepath.Join(dir, "mailpit.log"),
	}
	certs := filepath.Join(dir, "certs")
	if m.CAFile, err = writeSelfSignedCert(certs); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	authFile := filepath.Join(dir, "smtp-auth")
	if err := os.WriteFile(authFile, []byte(m.User+":"+m.Password+"\n"), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// A free port found by listening on :0 can be taken by someone else
	// before mailpit binds it; a few fresh ports make that harmless.
	for attempt := 0; ; attempt++ {
		ports, err := minioFreePorts(2)
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		m.SMTP = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
		m.HTTP = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
		err = m.start(ctx, bin, authFile, certs)
		if err == nil {
			return m, nil
		}
		if attempt < 3 && strings.Contains(err.Error(), "address already in use") {
			continue
		}
		os.RemoveAll(dir)
		return nil, err
	}
}

func (m *Mailpit) start(ctx context.Context, bin, authFile, certs string) error {
	logFile, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("cannot open the mailpit log: %w", err)
	}
	defer logFile.Close() // the child holds its own descriptor
	cmd := exec.Command(bin,
		"--smtp", m.SMTP,
		"--listen", m.HTTP,
		"--database", filepath.Join(m.dir, "mailpit.db"),
		"--smtp-auth-file", authFile,
		"--smtp-tls-cert", filepath.Join(certs, "public.crt"),
		"--smtp-tls-key", filepath.Join(certs, "private.key"),
		"--smtp-require-starttls",
		"--smtp-disable-rdns",
		"--disable-version-check",
		"--quiet",
	)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// Should the test binary die without running its cleanups, the kernel
	// takes the server down with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot run %s: %w", bin, err)
	}
	m.cmd = cmd
	m.exited = make(chan struct{})
	go func() {
		m.waitErr = cmd.Wait()
		close(m.exited)
	}()
	if err := m.awaitReady(ctx); err != nil {
		_ = cmd.Process.Kill()
		<-m.exited
		out, _ := os.ReadFile(m.logPath)
		return fmt.Errorf("mailpit did not start on %s: %v; its output: %s", m.SMTP, err, minioTail(out, 2000))
	}
	return nil
}

// awaitReady waits until the API answers and the SMTP port greets.
func (m *Mailpit) awaitReady(ctx context.Context) error {
	client := &http.Client{Timeout: 2 * time.Second}
	delay := 5 * time.Millisecond
	for {
		if m.apiReady(ctx, client) && m.smtpReady(ctx) {
			return nil
		}
		select {
		case <-m.exited:
			return fmt.Errorf("the server exited (%v)", m.waitErr)
		case <-ctx.Done():
			return errors.New("no answer on its ports before the deadline")
		case <-time.After(delay):
		}
		delay = min(delay*2, 200*time.Millisecond)
	}
}

func (m *Mailpit) apiReady(ctx context.Context, client *http.Client) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+m.HTTP+"/readyz", nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (m *Mailpit) smtpReady(ctx context.Context) bool {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", m.SMTP)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 4)
	n, _ := c.Read(buf)
	return n >= 3 && string(buf[:3]) == "220"
}

// Close stops the server and removes its directory.
func (m *Mailpit) Close() error {
	if m.cmd != nil {
		_ = m.cmd.Process.Kill()
		<-m.exited
		m.cmd = nil
	}
	return os.RemoveAll(m.dir)
}

// Messages are the messages the server received, newest first, each with
// its text body, headers and raw text.
func (m *Mailpit) Messages(ctx context.Context) ([]MailpitMessage, error) {
	var list struct {
		Messages []MailpitMessage `json:"messages"`
	}
	if err := m.get(ctx, "/api/v1/messages", &list); err != nil {
		return nil, err
	}
	for i := range list.Messages {
		var full struct {
			Text string `json:"Text"`
		}
		if err := m.get(ctx, "/api/v1/message/"+list.Messages[i].ID, &full); err != nil {
			return nil, err
		}
		list.Messages[i].Text = full.Text
		if err := m.get(ctx, "/api/v1/message/"+list.Messages[i].ID+"/headers", &list.Messages[i].Headers); err != nil {
			return nil, err
		}
		if err := m.get(ctx, "/api/v1/message/"+list.Messages[i].ID+"/raw", &list.Messages[i].Raw); err != nil {
			return nil, err
		}
	}
	return list.Messages, nil
}

func (m *Mailpit) get(ctx context.Context, path string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+m.HTTP+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("mailpit's API on %s: %w", m.HTTP, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mailpit's API on %s answered %s to %s", m.HTTP, resp.Status, path)
	}
	if s, ok := into.(*string); ok {
		b, err := io.ReadAll(resp.Body)
		*s = string(b)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		return fmt.Errorf("mailpit's API on %s: %s: %w", m.HTTP, path, err)
	}
	return nil
}
