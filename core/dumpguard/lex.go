package dumpguard

// The lexer follows psql's own (src/fe_utils/psqlscan.l, PostgreSQL 13 to
// 18) as far as it decides where a backslash is a meta-command: psql reads
// the dump line by line, lexes each line without its newline, and carries
// its state (inside a string, a comment, a dollar quote, …) to the next
// line; after a COPY … FROM stdin statement it sends the following lines
// to the server untouched, up to a line that is exactly `\.`.
//
// Where psql versions lex differently (a number run into a name), or
// where the reading depends on a setting the dump could change at run time
// (standard_conforming_strings decides whether a backslash escapes a quote
// in '…'), the guard refuses the text rather than pick one reading.

import (
	"bytes"
)

const (
	stInitial = iota
	stIdent
	stNumber
	stExponent
	stParam
	stLineComment
	stBlockComment
	stXQ // '…', N'…' and U&'…'
	stXE // E'…'
	stXB // B'…' and X'…'
	stXD // "…" and U&"…"
	stDolq
	stXQS // just after a closing quote: a continuation may follow
	stCopyRest
	stCopyBOL
	stCopyMid
)

// plainIn[state] marks the bytes that mean something in that state; the
// others are skipped in a tight loop.
var plainIn = func() (t [stCopyMid + 1]*[256]bool) {
	for state, special := range map[int]string{
		stXQ: "'\\\n", stXE: "'\\\n", stXB: "'\n", stXD: "\"\n",
		stDolq: "$\n", stBlockComment: "/*\n", stLineComment: "\r\n",
	} {
		var set [256]bool
		for _, c := range []byte(special) {
			set[c] = true
		}
		t[state] = &set
	}
	return t
}()

type lexer struct {
	state        int
	line         int64
	lineStartAbs int64

	depth    int  // block comment nesting
	bsOdd    bool // xq: an odd run of backslashes just before
	scsDep   bool // xq: '…' whose reading depends on standard_conforming_strings
	xqsPrev  int  // the string state a continuation goes back to
	xqsScs   bool
	xqsPhase int // 0 before the newline, 1 after, 2/3 in a -- comment before/after
	xqsUsed  bool
	tag      []byte // the open dollar quote's tag

	tok  token // the token being captured (identifier, string, quoted name)
	stmt statement
}

func newLexer() lexer {
	return lexer{line: 1, stmt: newStatement(1)}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\f' }

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}

func isIdentCont(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' || c == '$' }

func isDolqCont(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

func isVarChar(c byte) bool { return isDolqCont(c) }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isOpChar(c byte) bool {
	switch c {
	case '~', '!', '@', '#', '^', '&', '|', '`', '?', '+', '-', '*', '/', '%', '<', '>', '=':
		return true
	}
	return false
}

// maxRun bounds the names and operators whose end decides how psql goes
// on; past it the guard refuses rather than read further ahead than it
// holds (lookahead), so where reads end never changes its verdict.
const maxRun = 1024

// run is how many bytes from buf[i] on are in the class, counting no
// further than maxRun.
func run(buf []byte, i int, in func(byte) bool) int {
	n := 0
	for i+n < len(buf) && n < maxRun && in(buf[i+n]) {
		n++
	}
	return n
}

// at is buf[j], or -1 past what is read or at the end of the line: psql
// never matches a token across lines.
func at(buf []byte, j int) int {
	if j >= len(buf) || buf[j] == '\n' {
		return -1
	}
	return int(buf[j])
}

func (lx *lexer) refuse(kind Kind, what string) error {
	return &RefusedError{Line: lx.line, Kind: kind, What: what}
}

// scan checks buf[i:limit] (reading ahead up to len(buf)) and returns how
// far it got. A dropped \restrict line stops it: it returns the line's
// start and its end as dropEnd (else -1).
func (lx *lexer) scan(buf []byte, i, limit int, eof bool, base int64) (int, int, error) {
	for i < limit {
		c := buf[i]
		switch lx.state {
		case stCopyBOL:
			if c == '\\' && at(buf, i+1) == '.' && (i+2 < len(buf) && buf[i+2] == '\n' || at(buf, i+2) == '\r' && i+3 < len(buf) && buf[i+3] == '\n') {
				i += 2
				if buf[i] == '\r' {
					i++
				}
				lx.state = stInitial
				i = lx.newline(i, base)
				continue
			}
			lx.state = stCopyMid
			fallthrough
		case stCopyMid:
			j := bytes.IndexByte(buf[i:limit], '\n')
			if j < 0 {
				i = limit
				continue
			}
			lx.state = stCopyBOL
			i = lx.newline(i+j, base)
			continue
		case stCopyRest:
			switch {
			case c == '\n':
				lx.state = stCopyBOL
				i = lx.newline(i, base)
			case isSpace(c):
				i++
			default:
				return i, -1, lx.refuse(Copy, "text after the COPY statement on its line")
			}
			continue
		}

		if sp := plainIn[lx.state]; sp != nil && !sp[c] {
			// Inside a quote or comment most bytes change nothing but the
			// setting-name matchers (and the captured token).
			j := i + 1
			for j < limit && !sp[buf[j]] {
				j++
			}
			for _, b := range buf[i:j] {
				lx.stmt.feedByte(b)
			}
			if lx.state == stXQ || lx.state == stXD {
				for _, b := range buf[i:j] {
					lx.tok.add(b)
				}
				lx.bsOdd = false
			}
			i = j
			continue
		}

		if c == '\n' {
			switch lx.state {
			case stIdent:
				if err := lx.endIdent(); err != nil {
					return i, -1, err
				}
			case stNumber, stExponent, stParam, stLineComment:
				lx.state = stInitial
			case stXQ, stXD:
				lx.bsOdd, lx.tok.plain = false, false
			case stXQS:
				if lx.xqsUsed {
					lx.state = stInitial
					if err := lx.stmt.token(tokString, &lx.tok, lx.line); err != nil {
						return i, -1, err
					}
				}
			}
			lx.stmt.feedByte(c)
			i = lx.newline(i, base)
			continue
		}

		var n int
		var err error
		switch lx.state {
		case stInitial:
			if c == '\\' && base+int64(i) == lx.lineStartAbs {
				if end, ok := restrictLine(buf, i, eof); ok {
					return i, end, nil
				}
			}
			n, err = lx.initial(buf, i)
		case stIdent:
			if isIdentCont(c) {
				lx.tok.add(c)
				n = 1
			} else {
				err = lx.endIdent()
			}
		case stNumber:
			switch {
			case isDigit(c) || c == '.':
				n = 1
			case (c == 'e' || c == 'E') && exponent(buf, i):
				n = 2
				if !isDigit(buf[i+1]) {
					n = 3
				}
				lx.state = stExponent
			case isIdentStart(c):
				err = lx.refuse(Ambiguous, "a number run into a name")
			default:
				lx.state = stInitial
			}
		case stExponent, stParam:
			switch {
			case isDigit(c):
				n = 1
			case isIdentStart(c):
				err = lx.refuse(Ambiguous, "a number run into a name")
			default:
				lx.state = stInitial
			}
		case stLineComment:
			if c == '\r' {
				lx.state = stInitial
			}
			n = 1
		case stBlockComment:
			n = 1
			switch {
			case c == '/' && at(buf, i+1) == '*':
				lx.depth++
				n = 2
			case c == '*' && at(buf, i+1) == '/':
				if lx.depth == 0 {
					lx.state = stInitial
				} else {
					lx.depth--
				}
				n = 2
			}
		case stXQ:
			n = 1
			switch {
			case c == '\'':
				if lx.bsOdd && lx.scsDep {
					err = lx.refuse(Ambiguous, "a backslash before a quote in a string")
					break
				}
				if at(buf, i+1) == '\'' {
					lx.tok.add('\'')
					n = 2
				} else {
					lx.closeString(stXQ)
				}
				lx.bsOdd = false
			case c == '\\':
				lx.bsOdd = !lx.bsOdd
				lx.tok.add(c)
			default:
				lx.bsOdd = false
				lx.tok.add(c)
			}
		case stXE:
			n = 1
			switch {
			case c == '\\':
				if at(buf, i+1) >= 0 {
					n = 2
				}
			case c == '\'':
				if at(buf, i+1) == '\'' {
					n = 2
				} else {
					lx.closeString(stXE)
				}
			}
		case stXB:
			n = 1
			if c == '\'' {
				lx.closeString(stXB)
			}
		case stXD:
			n = 1
			if c == '"' {
				if at(buf, i+1) == '"' {
					lx.tok.add('"')
					n = 2
				} else {
					lx.state = stInitial
					err = lx.stmt.token(tokQIdent, &lx.tok, lx.line)
				}
			} else {
				lx.tok.add(c)
			}
		case stDolq:
			n = 1
			if c == '$' && len(buf) > i+1+len(lx.tag) && bytes.Equal(buf[i+1:i+1+len(lx.tag)], lx.tag) && buf[i+1+len(lx.tag)] == '$' {
				n = len(lx.tag) + 2
				lx.state = stInitial
				err = lx.stmt.token(tokOther, nil, lx.line)
			}
		case stXQS:
			n, err = lx.xqs(buf, i)
		}
		if err != nil {
			return i, -1, err
		}
		for _, b := range buf[i : i+n] {
			lx.stmt.feedByte(b)
		}
		i += n
	}
	return i, -1, nil
}

func (lx *lexer) newline(i int, base int64) int {
	lx.line++
	lx.lineStartAbs = base + int64(i) + 1
	return i + 1
}

// exponent reports whether buf[i] (an e or E after a number) starts an
// exponent: [eE][+-]?[0-9].
func exponent(buf []byte, i int) bool {
	j := i + 1
	if c := at(buf, j); c == '+' || c == '-' {
		j++
	}
	c := at(buf, j)
	return c >= '0' && c <= '9'
}

// restrictLine reports whether the line at buf[i] is pg_dump's own
// `\restrict KEY` or `\unrestrict KEY`, and where it ends.
func restrictLine(buf []byte, i int, eof bool) (int, bool) {
	rest := buf[i:]
	j := bytes.IndexByte(rest, '\n')
	if j < 0 {
		if !eof {
			return 0, false
		}
		j = len(rest)
	}
	line := bytes.TrimSuffix(rest[:j], []byte("\r"))
	key, ok := bytes.CutPrefix(line, []byte(`\restrict `))
	if !ok {
		key, ok = bytes.CutPrefix(line, []byte(`\unrestrict `))
	}
	if !ok || len(key) == 0 || len(key) > 256 {
		return 0, false
	}
	for _, c := range key {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return 0, false
		}
	}
	if j < len(rest) {
		j++
	}
	return i + j, true
}

// commandWord is the meta-command's name as psql reads it: up to
// whitespace or the next backslash, shortened and printable.
func commandWord(buf []byte, i int) string {
	if c := at(buf, i+1); c == ';' || c == ':' {
		return `\` + string(rune(c)) // psql's \; and \: put the character in the query
	}
	w := []byte{'\\'}
	for j := i + 1; j < len(buf) && len(w) < 17; j++ {
		c := buf[j]
		if c == '\n' || isSpace(c) || c == '\\' {
			break
		}
		if c < 0x21 || c > 0x7e {
			c = '?'
		}
		w = append(w, c)
	}
	return string(w)
}

func (lx *lexer) closeString(kind int) {
	lx.xqsPrev, lx.xqsScs = kind, lx.scsDep
	lx.state, lx.xqsPhase, lx.xqsUsed = stXQS, 0, false
}

// xqs decides whether a closed string continues: in psql, a quote after
// whitespace holding a newline (only \r can be one inside a line) goes on
// with the same string. Anything else is lexed again as ordinary text.
func (lx *lexer) xqs(buf []byte, i int) (int, error) {
	c := buf[i]
	switch lx.xqsPhase {
	case 0, 1:
		switch {
		case c == '\r':
			lx.xqsPhase, lx.xqsUsed = 1, true
			return 1, nil
		case c == ' ' || c == '\t' || c == '\f':
			lx.xqsUsed = true
			return 1, nil
		case c == '-' && at(buf, i+1) == '-':
			lx.xqsPhase += 2
			lx.xqsUsed = true
			return 2, nil
		case c == '\'' && lx.xqsPhase == 1:
			lx.state, lx.scsDep, lx.bsOdd = lx.xqsPrev, lx.xqsScs, false
			lx.tok.plain = false
			return 1, nil
		}
	case 2, 3:
		if c == '\r' {
			lx.xqsPhase = 1
		}
		return 1, nil
	}
	if err := lx.stmt.token(tokString, &lx.tok, lx.line); err != nil {
		return 0, err
	}
	lx.state = stInitial
	return 0, nil // lexed again in stInitial
}

func (lx *lexer) startString(state int, scsDep bool, n int) int {
	lx.state, lx.scsDep, lx.bsOdd = state, scsDep, false
	lx.tok.reset(state == stXQ && scsDep)
	return n
}

func (lx *lexer) endIdent() error {
	lx.state = stInitial
	return lx.stmt.ident(&lx.tok, lx.line)
}

// initial lexes one token start outside any quote or comment.
func (lx *lexer) initial(buf []byte, i int) (int, error) {
	c := buf[i]
	next := at(buf, i+1)
	switch {
	case isSpace(c):
		return 1, nil
	case c == '\\':
		return 0, lx.refuse(MetaCommand, commandWord(buf, i))
	case c == '-' && next == '-':
		lx.state = stLineComment
		return 2, nil
	case c == '/' && next == '*':
		lx.state, lx.depth = stBlockComment, 0
		return 2, nil
	case c == '\'':
		return lx.startString(stXQ, true, 1), nil
	case c == '"':
		lx.state = stXD
		lx.tok.reset(false)
		return 1, nil
	case c == '$':
		return lx.dollar(buf, i)
	case c == ':':
		return lx.colon(buf, i)
	case isDigit(c) || c == '.' && next >= '0' && next <= '9':
		lx.state = stNumber
		return 1, lx.stmt.token(tokOther, nil, lx.line)
	case c == '(' || c == ')' || c == ',' || c == '.' || c == ';' || c == '[' || c == ']':
		copyIn, err := lx.stmt.punct(c, lx.line)
		if copyIn {
			lx.state = stCopyRest
		}
		return 1, err
	case isOpChar(c):
		if run(buf, i, isOpChar) >= maxRun {
			return 0, lx.refuse(Ambiguous, "an operator longer than 1024 bytes")
		}
		n := 1
		for i+n < len(buf) && isOpChar(buf[i+n]) {
			if d := buf[i+n]; (d == '-' && buf[i+n-1] == '-') || (d == '*' && buf[i+n-1] == '/') {
				n-- // a comment starts inside the operator
				break
			}
			n++
		}
		lx.tok.reset(false)
		for _, b := range buf[i : i+n] {
			lx.tok.add(b)
		}
		return n, lx.stmt.token(tokOp, &lx.tok, lx.line)
	case isIdentStart(c):
		switch {
		case (c == 'e' || c == 'E') && next == '\'':
			return lx.startString(stXE, false, 2), nil
		case (c == 'b' || c == 'B' || c == 'x' || c == 'X') && next == '\'':
			return lx.startString(stXB, false, 2), nil
		case (c == 'n' || c == 'N') && next == '\'':
			return 1, nil // psql eats the n alone; the quote follows
		case (c == 'u' || c == 'U') && next == '&':
			switch at(buf, i+2) {
			case '\'':
				return lx.startString(stXQ, false, 3), nil
			case '"':
				lx.state = stXD
				lx.tok.reset(false)
				return 3, nil
			}
			return 1, nil // psql eats the u alone, not as a name
		}
		lx.state = stIdent
		lx.tok.reset(false)
		lx.tok.add(c)
		return 1, nil
	}
	return 1, lx.stmt.token(tokOther, nil, lx.line)
}

// dollar lexes a $: a dollar quote's opening, a parameter, or itself.
func (lx *lexer) dollar(buf []byte, i int) (int, error) {
	next := at(buf, i+1)
	switch {
	case next == '$':
		lx.tag = lx.tag[:0]
		lx.state = stDolq
		return 2, nil
	case next >= '0' && next <= '9':
		lx.state = stParam
		return 1, lx.stmt.token(tokOther, nil, lx.line)
	case next >= 0 && isIdentStart(byte(next)):
		j := i + 1
		for j < len(buf) && isDolqCont(buf[j]) && j-i <= 257 {
			j++
		}
		if j-i > 257 {
			return 0, lx.refuse(Ambiguous, "a dollar-quote tag longer than 256 bytes")
		}
		if at(buf, j) == '$' {
			lx.tag = append(lx.tag[:0], buf[i+1:j]...)
			lx.state = stDolq
			return j - i + 1, nil
		}
	}
	return 1, lx.stmt.token(tokOther, nil, lx.line) // the name after it is lexed alone
}

// colon lexes a colon: a typecast, :=, or a psql variable reference. psql
// puts the value of :NAME back into its input, so a NAME psql sets itself
// (all in capitals, some holding text the dump chose, like
// LAST_ERROR_MESSAGE) is refused; :'NAME' and :"NAME" are sent quoted and
// cannot change how psql reads on.
func (lx *lexer) colon(buf []byte, i int) (int, error) {
	next := at(buf, i+1)
	switch {
	case next == ':' || next == '=':
		return 2, lx.stmt.token(tokOther, nil, lx.line)
	case next >= 0 && isVarChar(byte(next)):
		j := i + 1 + run(buf, i+1, isVarChar)
		name := buf[i+1 : j]
		if len(name) >= maxRun {
			return 0, lx.refuse(Variable, ":"+string(name[:32])+"…")
		}
		if bytes.ContainsFunc(name, func(r rune) bool { return r >= 'A' && r <= 'Z' }) {
			if len(name) > 64 {
				name = name[:64]
			}
			return 0, lx.refuse(Variable, ":"+string(name))
		}
		return j - i, lx.stmt.token(tokOther, nil, lx.line)
	case next == '\'' || next == '"' || next == '{':
		j, closer := i+2, byte(next)
		if next == '{' {
			if at(buf, j) != '?' {
				break
			}
			j, closer = j+1, '}'
		}
		k := j + run(buf, j, isVarChar)
		if k-j >= maxRun {
			return 0, lx.refuse(Variable, ":"+string(buf[i+1:i+33])+"…")
		}
		if k > j && at(buf, k) == int(closer) {
			return k + 1 - i, lx.stmt.token(tokOther, nil, lx.line)
		}
	}
	return 1, lx.stmt.token(tokOther, nil, lx.line)
}

// finish checks the end of the dump: the last statement, sent by psql at
// the end of its input, is judged like any other.
func (lx *lexer) finish() error {
	switch lx.state {
	case stIdent:
		if err := lx.endIdent(); err != nil {
			return err
		}
	case stXQS:
		if err := lx.stmt.token(tokString, &lx.tok, lx.line); err != nil {
			return err
		}
	case stCopyRest, stCopyBOL, stCopyMid:
		return nil
	}
	_, err := lx.stmt.end(lx.line)
	return err
}
