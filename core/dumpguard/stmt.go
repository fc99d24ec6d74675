package dumpguard

import (
	"strconv"
	"strings"
)

type tokKind int

const (
	tokIdent tokKind = iota + 1
	tokQIdent
	tokString
	tokOp
	tokPunct
	tokOther
)

// token is the start of a token's text, enough to recognise keywords and
// short values; full is its whole length.
type token struct {
	b     [32]byte
	n     int
	full  int
	plain bool // a string literal read the same by every psql and setting
}

func (t *token) reset(plain bool) { t.n, t.full, t.plain = 0, 0, plain }

func (t *token) add(c byte) {
	if t.n < len(t.b) {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		t.b[t.n] = c
		t.n++
	}
	t.full++
}

func (t *token) is(s string) bool { return t.full == len(s) && string(t.b[:t.n]) == s }

type savedTok struct {
	kind tokKind
	t    token
}

const (
	cpName = iota
	cpAfterName
	cpCol
	cpAfterCol
	cpFrom
	cpStdin
	cpDone
	cpBad
)

// statement is what the guard knows about the statement psql is
// collecting: psql sends it at a semicolon outside parentheses and outside
// a BEGIN … END of a CREATE FUNCTION or PROCEDURE (psql's own heuristic,
// mirrored here), or at the end of its input.
type statement struct {
	line       int64
	ntok       int
	toks       [6]savedTok
	paren      int
	begin      int
	identCount int
	idents     [4]byte
	subFirst   bool // the next token starts a statement (for the server)
	subCopy    bool // the current one is a COPY
	isCopy     bool // the first one is a COPY
	copyState  int
	sawStdin   bool
	nonsplit   bool // holds a semicolon at which psql does not send it
	scs, ce    int
	mentionSCS bool
	mentionCE  bool
}

func newStatement(line int64) statement {
	return statement{line: line, subFirst: true}
}

var (
	scsWord = newMatcher("standard_conforming_strings")
	ceWord  = newMatcher("client_encoding")
)

func (s *statement) feedByte(b byte) {
	s.scs = scsWord.next[s.scs][b]
	if s.scs == scsWord.n {
		s.mentionSCS = true
	}
	s.ce = ceWord.next[s.ce][b]
	if s.ce == ceWord.n {
		s.mentionCE = true
	}
}

func (s *statement) token(kind tokKind, t *token, line int64) error {
	if t == nil {
		t = &token{}
	}
	if s.ntok == 0 {
		s.line = line
	}
	if s.subFirst {
		s.subFirst = false
		s.subCopy = kind == tokIdent && t.is("copy")
		if s.ntok == 0 {
			s.isCopy = s.subCopy
		}
	} else if s.isCopy && !s.nonsplit {
		s.copyShape(kind, t)
	}
	if kind == tokIdent && t.is("stdin") {
		s.sawStdin = true
	}
	if s.ntok < len(s.toks) {
		s.toks[s.ntok] = savedTok{kind, *t}
	}
	s.ntok++
	return nil
}

// copyShape follows pg_dump's `COPY name.name (col, …) FROM stdin`.
func (s *statement) copyShape(kind tokKind, t *token) {
	name := kind == tokIdent || kind == tokQIdent
	punct := func(c byte) bool { return kind == tokPunct && t.n == 1 && t.b[0] == c }
	next := cpBad
	switch s.copyState {
	case cpName:
		if name {
			next = cpAfterName
		}
	case cpAfterName:
		switch {
		case punct('.'):
			next = cpName
		case punct('('):
			next = cpCol
		case kind == tokIdent && t.is("from"):
			next = cpStdin
		}
	case cpCol:
		if name {
			next = cpAfterCol
		}
	case cpAfterCol:
		switch {
		case punct(','):
			next = cpCol
		case punct(')'):
			next = cpFrom
		}
	case cpFrom:
		if kind == tokIdent && t.is("from") {
			next = cpStdin
		}
	case cpStdin:
		if kind == tokIdent && t.is("stdin") {
			next = cpDone
		}
	}
	s.copyState = next
}

// ident is psql's identifier rule, which also counts BEGIN/CASE/END in a
// CREATE FUNCTION or PROCEDURE to know whether a semicolon ends it.
func (s *statement) ident(t *token, line int64) error {
	if s.identCount == 0 {
		s.idents = [4]byte{}
	}
	if t.is("create") || t.is("function") || t.is("procedure") || t.is("or") || t.is("replace") {
		if s.identCount < len(s.idents) {
			s.idents[s.identCount] = t.b[0]
		}
	}
	s.identCount++
	id := s.idents
	if id[0] == 'c' && (id[1] == 'f' || id[1] == 'p' || id[1] == 'o' && id[2] == 'r' && (id[3] == 'f' || id[3] == 'p')) && s.paren == 0 {
		switch {
		case t.is("begin"):
			s.begin++
		case t.is("case"):
			if s.begin >= 1 {
				s.begin++
			}
		case t.is("end"):
			if s.begin > 0 {
				s.begin--
			}
		}
	}
	return s.token(tokIdent, t, line)
}

// punct handles ( ) , . ; [ ]; a semicolon psql sends the statement at
// returns whether COPY data follows.
func (s *statement) punct(c byte, line int64) (bool, error) {
	switch c {
	case '(':
		s.paren++
	case ')':
		if s.paren > 0 {
			s.paren--
		}
	case ';':
		split := s.paren == 0 && s.begin == 0
		if s.subCopy && (s.nonsplit || !split) {
			return false, &RefusedError{Line: line, Kind: Copy, What: "a COPY that psql would send together with other statements"}
		}
		if !split {
			s.nonsplit, s.subFirst = true, true
			return false, nil
		}
		copyIn, err := s.end(line)
		*s = newStatement(line)
		return copyIn, err
	}
	t := token{}
	t.add(c)
	return false, s.token(tokPunct, &t, line)
}

// end judges the statement psql is about to send, and reports whether psql
// reads COPY data after it.
func (s *statement) end(line int64) (bool, error) {
	if s.subCopy && s.nonsplit {
		return false, &RefusedError{Line: line, Kind: Copy, What: "a COPY that psql would send together with other statements"}
	}
	if s.mentionSCS && !s.isSet("standard_conforming_strings", scsOn) {
		return false, &RefusedError{Line: s.line, Kind: Setting, What: "standard_conforming_strings"}
	}
	if s.mentionCE && !s.isSet("client_encoding", safeEncoding) {
		return false, &RefusedError{Line: s.line, Kind: Setting, What: "client_encoding"}
	}
	if s.setsNames() && !s.isSet("names", safeEncoding) {
		return false, &RefusedError{Line: s.line, Kind: Setting, What: "the client encoding (SET NAMES)"}
	}
	if s.isCopy {
		if !s.nonsplit && s.copyState == cpDone {
			return true, nil
		}
		if s.sawStdin {
			return false, &RefusedError{Line: s.line, Kind: Copy, What: "a COPY … FROM stdin not in pg_dump's form"}
		}
	}
	return false, nil
}

// setArg is where the parameter name of `SET [SESSION|LOCAL] name` is.
func (s *statement) setArg() int {
	if s.ntok < 2 || s.toks[0].kind != tokIdent || !s.toks[0].t.is("set") {
		return -1
	}
	if t := s.toks[1]; t.kind == tokIdent && (t.t.is("session") || t.t.is("local")) {
		return 2
	}
	return 1
}

func (s *statement) setsNames() bool {
	k := s.setArg()
	return k > 0 && k < len(s.toks) && s.toks[k].kind == tokIdent && s.toks[k].t.is("names")
}

// isSet reports whether the statement is exactly
// `SET [SESSION|LOCAL] name {=|TO} value` (`SET NAMES value`) with a value
// ok accepts.
func (s *statement) isSet(name string, ok func(string) bool) bool {
	k := s.setArg()
	if k < 0 || k+3 > len(s.toks) {
		return false
	}
	if t := s.toks[k]; t.kind != tokIdent || !t.t.is(name) {
		return false
	}
	v := k + 2
	if name == "names" {
		v = k + 1
	} else if t := s.toks[k+1]; !(t.kind == tokOp && t.t.is("=") || t.kind == tokIdent && t.t.is("to")) {
		return false
	}
	if s.ntok != v+1 {
		return false
	}
	t := s.toks[v]
	if t.t.full > len(t.t.b) || !(t.kind == tokIdent || t.kind == tokString && t.t.plain) {
		return false
	}
	return ok(string(t.t.b[:t.t.n]))
}

func scsOn(v string) bool { return v == "on" }

// safeEncoding accepts the encodings a server can use: in all of them a
// byte below 0x80 is always that ASCII character, so psql reads quotes and
// backslashes as the guard does. (SJIS, BIG5, GBK, UHC, GB18030 and JOHAB
// hide ASCII bytes inside multibyte characters.) Names are compared as
// PostgreSQL does: case and punctuation aside.
func safeEncoding(v string) bool {
	var b strings.Builder
	for _, c := range v {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	n := b.String()
	switch n {
	case "utf8", "unicode", "sqlascii", "koi8", "koi8r", "koi8u", "alt", "win866", "win874",
		"eucjp", "euccn", "euckr", "euctw", "eucjis2004", "muleinternal":
		return true
	}
	for _, r := range []struct {
		prefix   string
		min, max int
	}{{"latin", 1, 10}, {"iso8859", 1, 16}, {"win", 1250, 1258}, {"windows", 1250, 1258}, {"cp", 1250, 1258}} {
		if rest, ok := strings.CutPrefix(n, r.prefix); ok {
			if k, err := strconv.Atoi(rest); err == nil && rest[0] != '0' && k >= r.min && k <= r.max {
				return true
			}
		}
	}
	return false
}

// matcher is a string-matching automaton over bytes, ignoring ASCII case.
type matcher struct {
	next [][256]int
	n    int
}

func newMatcher(p string) matcher {
	n := len(p)
	next := make([][256]int, n+1)
	fail := 0
	for st := 0; st <= n; st++ {
		for c := 0; c < 256; c++ {
			l := c
			if l >= 'A' && l <= 'Z' {
				l += 'a' - 'A'
			}
			if st < n && byte(l) == p[st] {
				next[st][c] = st + 1
			} else if st > 0 {
				next[st][c] = next[fail][c]
			}
		}
		if st > 0 && st < n {
			fail = next[fail][p[st]]
		}
	}
	return matcher{next: next, n: n}
}
