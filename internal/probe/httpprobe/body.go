package httpprobe

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/tidwall/gjson"

	"github.com/heckhq/heck/internal/probe"
	"github.com/heckhq/heck/internal/target"
)

// bodyCheck holds a target's conditions on the body, prepared once.
type bodyCheck struct {
	contains []byte
	regex    *regexp.Regexp
	json     []jsonCond
	limit    int
}

type jsonCond struct {
	path    string
	equals  string
	matches *regexp.Regexp
	// exists is 1 for "exists: true", -1 for "exists: false", 0 otherwise.
	exists int8
}

func newBodyCheck(h *target.HTTPOptions) (*bodyCheck, error) {
	if h.BodyContains == "" && h.BodyRegex == "" && len(h.JSON) == 0 {
		return nil, nil
	}
	c := &bodyCheck{limit: h.MaxBodyBytes}
	if c.limit <= 0 {
		c.limit = DefaultMaxBodyBytes
	}
	if h.BodyContains != "" {
		c.contains = []byte(h.BodyContains)
	}
	if h.BodyRegex != "" {
		re, err := regexp.Compile(h.BodyRegex)
		if err != nil {
			return nil, fmt.Errorf("http.body_regex: %q is not a valid regular expression (%v); fix the RE2 syntax", h.BodyRegex, err)
		}
		c.regex = re
	}
	for i, j := range h.JSON {
		jc := jsonCond{path: j.Path, equals: j.Equals}
		n := 0
		if j.Equals != "" {
			n++
		}
		if j.Matches != "" {
			n++
			re, err := regexp.Compile(j.Matches)
			if err != nil {
				return nil, fmt.Errorf("http.json[%d].matches: %q is not a valid regular expression (%v); fix the RE2 syntax", i, j.Matches, err)
			}
			jc.matches = re
		}
		if j.Exists != nil {
			n++
			jc.exists = -1
			if *j.Exists {
				jc.exists = 1
			}
		}
		if j.Path == "" || n != 1 {
			return nil, fmt.Errorf("http.json[%d]: needs a path and exactly one of equals, matches or exists; keep one condition per entry", i)
		}
		c.json = append(c.json, jc)
	}
	return c, nil
}

// Body buffers are pooled: a probe borrows one for the length of a check.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

const maxPooledBuf = 256 << 10

// run reads the body (at most limit bytes, less when the only condition is
// a substring already found) and returns "" when every condition holds, or
// why not and the reason (probe.ReasonBody, or the read error's).
func (c *bodyCheck) run(r io.Reader, budget time.Duration) (string, probe.Reason) {
	bp := bufPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= maxPooledBuf {
			bufPool.Put(bp)
		}
	}()
	var stop []byte
	if c.regex == nil && len(c.json) == 0 {
		stop = c.contains
	}
	body, truncated, found, err := readBody(r, (*bp)[:0], c.limit, stop)
	*bp = body[:0]
	if err != nil {
		return "reading body: " + probe.DescribeError(err, budget), probe.ErrorReason(err)
	}
	if c.contains != nil && !found && !bytes.Contains(body, c.contains) {
		return "body does not contain " + strconv.Quote(string(c.contains)) + truncNote(truncated, c.limit), probe.ReasonBody
	}
	if c.regex != nil && !c.regex.Match(body) {
		return "body does not match /" + c.regex.String() + "/" + truncNote(truncated, c.limit), probe.ReasonBody
	}
	for _, j := range c.json {
		if msg := j.check(body); msg != "" {
			if !gjson.ValidBytes(body) {
				if truncated {
					return msg + truncNote(true, c.limit), probe.ReasonBody
				}
				return msg + " (body is not valid JSON)", probe.ReasonBody
			}
			return msg, probe.ReasonBody
		}
	}
	return "", probe.ReasonNone
}

func truncNote(truncated bool, limit int) string {
	if !truncated {
		return ""
	}
	return " (body cut at " + strconv.Itoa(limit) + " bytes; raise http.max_body_bytes)"
}

// readBody appends r's content to buf up to limit bytes. When stop is set it
// returns as soon as stop has been read. truncated says the body had more.
func readBody(r io.Reader, buf []byte, limit int, stop []byte) (body []byte, truncated, found bool, err error) {
	scanned := 0 // bytes before scanned cannot start a match of stop
	for {
		if len(buf) >= limit {
			// Is there more? One byte says so.
			var one [1]byte
			n, _ := io.ReadFull(r, one[:])
			return buf, n > 0, false, nil
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		end := min(cap(buf), limit)
		n, rerr := r.Read(buf[len(buf):end])
		buf = buf[:len(buf)+n]
		if stop != nil && n > 0 {
			if bytes.Contains(buf[scanned:], stop) {
				return buf, false, true, nil
			}
			scanned = max(0, len(buf)-len(stop)+1)
		}
		if rerr == io.EOF {
			return buf, false, false, nil
		}
		if rerr != nil {
			return buf, false, false, rerr
		}
	}
}

func (j *jsonCond) check(body []byte) string {
	r := gjson.GetBytes(body, j.path)
	switch {
	case j.exists == 1:
		if !r.Exists() {
			return "json " + j.path + " missing, want it present"
		}
	case j.exists == -1:
		if r.Exists() {
			return "json " + j.path + " = " + quote(r.String()) + ", want it absent"
		}
	case j.matches != nil:
		if !r.Exists() {
			return "json " + j.path + " missing, want a match of /" + j.matches.String() + "/"
		}
		if !j.matches.MatchString(r.String()) {
			return "json " + j.path + " = " + quote(r.String()) + ", want a match of /" + j.matches.String() + "/"
		}
	default:
		if !r.Exists() {
			return "json " + j.path + " missing, want " + quote(j.equals)
		}
		if r.String() != j.equals {
			return "json " + j.path + " = " + quote(r.String()) + ", want " + quote(j.equals)
		}
	}
	return ""
}

// quote quotes s for a message, cut to a readable length.
func quote(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + "..."
	}
	return strconv.Quote(s)
}
