package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

// SubjectPrefix starts the subject of every email, so that mail rules can
// sort them.
const SubjectPrefix = "odoo-backup: "

// The values of an email URL's starttls= parameter.
const (
	// StartTLSAuto (the default) uses STARTTLS whenever the server offers
	// it, and requires it when the URL holds a password.
	StartTLSAuto = "auto"
	// StartTLSYes requires STARTTLS even without a password.
	StartTLSYes = "yes"
	// StartTLSNo never uses it: for a relay on the same machine or network
	// that offers no TLS. It is refused with a password, which would go in
	// clear.
	StartTLSNo = "no"
)

// smtpConfig is an email URL, read:
//
//	smtp://USER:PASSWORD@HOST:PORT/?from=ADDR&to=ADDR[,ADDR...][&starttls=auto|yes|no][&ca=/path/ca.pem]
//	smtps://USER:PASSWORD@HOST:465/?from=ADDR&to=ADDR (TLS from the start)
type smtpConfig struct {
	implicitTLS bool
	host        string
	addr        string // host:port
	user, pass  string
	auth        bool
	from        *mail.Address
	to          []*mail.Address
	starttls    string
	caFile      string
	roots       *x509.CertPool // from caFile; nil for the system's
}

// smtpParams are the query parameters an email URL may hold.
var smtpParams = []string{"from", "to", "starttls", "ca"}

func parseSMTP(u *url.URL) (smtpConfig, error) {
	bad := func(format string, args ...any) (smtpConfig, error) {
		return smtpConfig{}, core.Userf(core.ErrInvalid, format, args...)
	}
	c := smtpConfig{implicitTLS: u.Scheme == "smtps", host: u.Hostname(), starttls: StartTLSAuto}
	if c.host == "" {
		return bad("the email URL names no server; give it as %s://user:password@host:port/?from=ADDRESS&to=ADDRESS", u.Scheme)
	}
	port := u.Port()
	switch {
	case port == "" && c.implicitTLS:
		port = "465"
	case port == "":
		port = "587"
	default:
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return bad("the email URL's port %q is not a port number (1 to 65535)", port)
		}
	}
	c.addr = net.JoinHostPort(c.host, port)
	if u.User != nil {
		c.user = u.User.Username()
		c.pass, c.auth = u.User.Password()
		if c.user == "" {
			return bad("the email URL for %s has a password but no user name; give both as user:password@ before the server", c.addr)
		}
		if !c.auth {
			return bad("the email URL for %s has a user name but no password; give both as user:password@ before the server", c.addr)
		}
	}
	q := u.Query()
	for k := range q {
		if !slices.Contains(smtpParams, k) {
			return bad("the email URL's parameter %q is not known; the known ones are %s", k, strings.Join(smtpParams, ", "))
		}
	}
	from := strings.TrimSpace(q.Get("from"))
	if from == "" {
		return bad("the email URL for %s has no sender; add from=ADDRESS, an address the server accepts mail from", c.addr)
	}
	a, err := mail.ParseAddress(from)
	if err != nil {
		return bad("the email URL's sender %q is not an email address; give from=name@example.com", from)
	}
	c.from = a
	var tos []string
	for _, v := range q["to"] {
		for t := range strings.SplitSeq(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				tos = append(tos, t)
			}
		}
	}
	if len(tos) == 0 {
		return bad("the email URL for %s has no recipient; add to=ADDRESS (several separated by commas)", c.addr)
	}
	for _, t := range tos {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return bad("the email URL's recipient %q is not an email address; give to=name@example.com (several separated by commas)", t)
		}
		c.to = append(c.to, a)
	}
	if q.Has("starttls") {
		if c.implicitTLS {
			return bad("an smtps:// URL speaks TLS from the start, so starttls= has no place in it; remove it (or use smtp:// for a server that uses STARTTLS)")
		}
		switch v := strings.ToLower(q.Get("starttls")); v {
		case StartTLSAuto, StartTLSYes, StartTLSNo:
			c.starttls = v
		default:
			return bad("the email URL's starttls=%q is not one of auto, yes or no", q.Get("starttls"))
		}
	}
	if c.starttls == StartTLSNo && c.auth {
		return bad("the email URL for %s says starttls=no but holds a password, which would go in clear; remove starttls=no, or the user and password for a relay that needs none", c.addr)
	}
	if q.Has("ca") {
		c.caFile = q.Get("ca")
		if c.caFile == "" {
			return bad("the email URL's ca= names no file; give the path of the PEM file of the server's certificate authority")
		}
		pem, err := os.ReadFile(c.caFile)
		if err != nil {
			return bad("the CA file %s named by the email URL cannot be read (%s)", c.caFile, pathCause(err))
		}
		c.roots = x509.NewCertPool()
		if !c.roots.AppendCertsFromPEM(pem) {
			return bad("the CA file %s named by the email URL holds no PEM certificate", c.caFile)
		}
	}
	return c, nil
}

// pathCause is a file error's reason without the path it repeats.
func pathCause(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func (c smtpConfig) tlsConfig() *tls.Config {
	return &tls.Config{ServerName: c.host, RootCAs: c.roots, MinVersion: tls.VersionTLS12}
}

// sendEmail sends m in one SMTP session: connect (TLS from the start for
// smtps), EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA, QUIT.
func sendEmail(ctx context.Context, c smtpConfig, m Message) (again bool, err error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return c.fail(ctx, "connect", err)
	}
	defer conn.Close()
	// The context bounds the whole session: past its end every read and
	// write fails at once.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if c.implicitTLS {
		tc := tls.Client(conn, c.tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			return c.fail(ctx, "tls", err)
		}
		conn = tc
	}
	cl, err := smtp.NewClient(conn, c.host)
	if err != nil {
		return c.fail(ctx, "greeting", err)
	}
	defer cl.Close()
	if err := cl.Hello(helloName()); err != nil {
		return c.fail(ctx, "hello", err)
	}
	if !c.implicitTLS && c.starttls != StartTLSNo {
		if ok, _ := cl.Extension("STARTTLS"); ok {
			if err := cl.StartTLS(c.tlsConfig()); err != nil {
				return c.fail(ctx, "tls", err)
			}
		} else if c.auth {
			return false, core.Userf(core.ErrInvalid, "the SMTP server %s does not offer STARTTLS, so the password would go in clear; use the server's TLS port (smtps:// on 465, or the port that offers STARTTLS)", c.addr)
		} else if c.starttls == StartTLSYes {
			return false, core.Userf(core.ErrInvalid, "the SMTP server %s does not offer STARTTLS, which the email URL requires (starttls=yes); use the server's TLS port, or starttls=auto to send without TLS", c.addr)
		}
	}
	if c.auth {
		ok, mechs := cl.Extension("AUTH")
		if !ok {
			return false, core.Userf(core.ErrInvalid, "the SMTP server %s does not accept a user name and password; remove them from the email URL, or use the server's submission port", c.addr)
		}
		var a smtp.Auth
		switch fields := strings.Fields(strings.ToUpper(mechs)); {
		case slices.Contains(fields, "PLAIN"):
			a = plainAuth{user: c.user, pass: c.pass}
		case slices.Contains(fields, "LOGIN"):
			a = &loginAuth{user: c.user, pass: c.pass}
		default:
			return false, core.Userf(core.ErrInvalid, "the SMTP server %s offers no password authentication this product speaks (it offers %s; PLAIN or LOGIN are needed)", c.addr, mechs)
		}
		if err := cl.Auth(a); err != nil {
			return c.fail(ctx, "auth", err)
		}
	}
	if err := cl.Mail(c.from.Address); err != nil {
		return c.fail(ctx, "mail", err)
	}
	for _, t := range c.to {
		if err := cl.Rcpt(t.Address); err != nil {
			return c.fail(ctx, "rcpt "+t.Address, err)
		}
	}
	w, err := cl.Data()
	if err != nil {
		return c.fail(ctx, "data", err)
	}
	if _, err := w.Write(c.compose(m, time.Now())); err != nil {
		return c.fail(ctx, "data", err)
	}
	if err := w.Close(); err != nil {
		return c.fail(ctx, "data", err)
	}
	// The message is accepted; a QUIT that goes wrong changes nothing.
	_ = cl.Quit()
	return false, nil
}

// fail turns an error of one step of the session into one sentence, and
// says whether another try may help.
func (c smtpConfig) fail(ctx context.Context, step string, err error) (again bool, _ error) {
	srv := "the SMTP server " + c.addr
	var ne net.Error
	if ctx.Err() != nil || (errors.As(err, &ne) && ne.Timeout()) {
		return true, core.Userf(core.ErrTransient, "%s did not answer: it timed out", srv)
	}
	var tp *textproto.Error
	if errors.As(err, &tp) {
		reply := fmt.Sprintf("%d %s", tp.Code, firstLine(tp.Msg))
		switch {
		case (step == "auth" && tp.Code >= 500) || tp.Code == 535:
			return false, core.Userf(core.ErrAccessDenied, "%s refused the user name or password (%s); check the user and password in the channel's URL", srv, reply)
		case tp.Code >= 400 && tp.Code < 500:
			return true, core.Userf(core.ErrTransient, "%s does not take the message for now (%s)", srv, reply)
		case step == "mail":
			return false, core.Userf(core.ErrInvalid, "%s refused the sender %s (%s); give a from= address the server accepts", srv, c.from.Address, reply)
		case strings.HasPrefix(step, "rcpt "):
			return false, core.Userf(core.ErrInvalid, "%s refused the recipient %s (%s)", srv, strings.TrimPrefix(step, "rcpt "), reply)
		}
		return false, core.Userf(core.ErrInvalid, "%s refused the message (%s)", srv, reply)
	}
	var (
		unknownCA *x509.UnknownAuthorityError
		invalid   x509.CertificateInvalidError
		hostname  x509.HostnameError
		verify    *tls.CertificateVerificationError
	)
	if errors.As(err, &unknownCA) || errors.As(err, &invalid) || errors.As(err, &hostname) || errors.As(err, &verify) {
		return false, core.Userf(core.ErrAccessDenied, "the certificate of %s cannot be trusted (%s); if a private authority signed it, name its PEM file with ca=/path/ca.pem in the channel's URL", srv, firstLine(err.Error()))
	}
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) {
		return false, core.Userf(core.ErrInvalid, "%s does not speak TLS on that port; use smtp:// for a port that starts in clear (587, 25) and smtps:// for one that starts with TLS (465)", srv)
	}
	if step == "connect" {
		return true, core.Userf(core.ErrUnreachable, "%s cannot be reached (%s)", srv, netCause(err))
	}
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed) {
		return true, core.Userf(core.ErrTransient, "%s closed the connection", srv)
	}
	if step == "tls" {
		return false, core.Userf(core.ErrInvalid, "TLS with %s failed (%s)", srv, firstLine(err.Error()))
	}
	return true, core.Userf(core.ErrTransient, "%s failed (%s)", srv, netCause(err))
}

// netCause is a network error's reason, without the addresses Go repeats.
func netCause(err error) string {
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err.Error()
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	return firstLine(err.Error())
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(s)
}

// helloName is this machine's name for EHLO, or localhost where it has
// none that SMTP takes.
func helloName() string {
	h, err := os.Hostname()
	if err != nil || h == "" || strings.ContainsAny(h, " \r\n\t") {
		return "localhost"
	}
	return h
}

// EmailSubject is the subject line of m's email: m.Subject (or the first line of
// its body) on one line, with SubjectPrefix in front unless it has it.
func (m Message) EmailSubject() string {
	s := m.Subject
	if s == "" {
		s = firstLine(m.Body)
	}
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		s = string(m.Event)
	}
	if !strings.HasPrefix(s, SubjectPrefix) {
		s = SubjectPrefix + s
	}
	return s
}

// compose writes the message with its headers, the body in
// quoted-printable UTF-8 text.
func (c smtpConfig) compose(m Message, now time.Time) []byte {
	var b bytes.Buffer
	to := make([]string, len(c.to))
	for i, a := range c.to {
		to[i] = a.String()
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	domain := c.from.Address[strings.LastIndexByte(c.from.Address, '@')+1:]
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", c.from.String())
	header("To", strings.Join(to, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", m.EmailSubject()))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", "<"+hex.EncodeToString(id)+"@"+domain+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	if m.Event != "" {
		header("X-Odoo-Backup-Event", string(m.Event))
	}
	b.WriteString("\r\n")
	body := m.Body
	if body == "" {
		body = m.Subject
	}
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n") + "\r\n"))
	_ = qp.Close()
	return b.Bytes()
}

// plainAuth is AUTH PLAIN (RFC 4616). Unlike net/smtp's it leaves to
// sendEmail the rule that a password is sent over TLS only.
type plainAuth struct{ user, pass string }

func (a plainAuth) Start(*smtp.ServerInfo) (string, []byte, error) {
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected server challenge")
	}
	return nil, nil
}

// loginAuth is AUTH LOGIN, for servers that offer nothing else: the user
// name, then the password, each asked for by the server.
type loginAuth struct {
	user, pass string
	step       int
}

func (a *loginAuth) Start(*smtp.ServerInfo) (string, []byte, error) { return "LOGIN", nil, nil }

func (a *loginAuth) Next(_ []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	a.step++
	switch a.step {
	case 1:
		return []byte(a.user), nil
	case 2:
		return []byte(a.pass), nil
	}
	return nil, errors.New("unexpected server challenge")
}
