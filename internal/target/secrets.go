package target

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

// envRef matches ${NAME} references.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

func hasEnvRef(s string) bool { return strings.Contains(s, "${") }

// LookupFunc finds an environment variable; os.LookupEnv is one.
type LookupFunc func(string) (string, bool)

// ExpandRefs replaces the ${VAR} references of v, the value of field, from
// lookup; a reference to an unset variable is a FieldError naming the
// field and the reference (never a value). Every secret-holding spec
// (targets, notifiers) expands through it.
func ExpandRefs(field, v string, lookup LookupFunc) (string, FieldErrors) {
	if !hasEnvRef(v) {
		return v, nil
	}
	var errs FieldErrors
	out := envRef.ReplaceAllStringFunc(v, func(m string) string {
		name := m[2 : len(m)-1]
		val, ok := lookup(name)
		if !ok {
			errs = append(errs, FieldError{Field: field, Value: m,
				Problem: "refers to environment variable " + name + ", which is not set",
				Fix:     "export " + name + " before starting heck, or remove the reference"})
		}
		return val
	})
	return out, errs
}

// RefNames lists the variables the ${VAR} references of v name, in order.
func RefNames(v string) []string {
	var names []string
	for _, m := range envRef.FindAllStringSubmatch(v, -1) {
		names = append(names, m[1])
	}
	return names
}

// Expand returns a copy of s whose ${VAR} references in the url, address,
// headers, body, tcp send/expect, heartbeat token and the postgres and
// redis credentials are replaced from lookup (os.LookupEnv
// when nil). The spec as stored and shown keeps the references, so a
// secret never leaves the process through the API; only the probe sees the
// expanded copy. A reference to an unset variable is an error naming it.
func (s Spec) Expand(lookup LookupFunc) (Spec, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	c := s.Clone()
	var errs FieldErrors
	exp := func(field, v string) string {
		out, fes := ExpandRefs(field, v, lookup)
		errs = append(errs, fes...)
		return out
	}
	c.URL = exp("url", c.URL)
	c.Address = exp("address", c.Address)
	if c.HTTP != nil {
		for k, v := range c.HTTP.Headers {
			c.HTTP.Headers[k] = exp("http.headers."+k, v)
		}
		c.HTTP.Body = exp("http.body", c.HTTP.Body)
	}
	if c.TCP != nil {
		c.TCP.Send = exp("tcp.send", c.TCP.Send)
		c.TCP.Expect = exp("tcp.expect", c.TCP.Expect)
	}
	if c.Heartbeat != nil {
		c.Heartbeat.Token = exp("heartbeat.token", c.Heartbeat.Token)
	}
	if c.Postgres != nil {
		c.Postgres.Database = exp("postgres.database", c.Postgres.Database)
		c.Postgres.User = exp("postgres.user", c.Postgres.User)
		c.Postgres.Password = exp("postgres.password", c.Postgres.Password)
	}
	if c.Redis != nil {
		c.Redis.Username = exp("redis.username", c.Redis.Username)
		c.Redis.Password = exp("redis.password", c.Redis.Password)
	}
	if len(errs) > 0 {
		return s, errs
	}
	return c, nil
}

// EnvRefs lists the environment variables s refers to.
func (s *Spec) EnvRefs() []string {
	var names []string
	add := func(v string) {
		for _, m := range envRef.FindAllStringSubmatch(v, -1) {
			names = append(names, m[1])
		}
	}
	add(s.URL)
	add(s.Address)
	if s.HTTP != nil {
		for _, v := range s.HTTP.Headers {
			add(v)
		}
		add(s.HTTP.Body)
	}
	if s.TCP != nil {
		add(s.TCP.Send)
		add(s.TCP.Expect)
	}
	if s.Heartbeat != nil {
		add(s.Heartbeat.Token)
	}
	if s.Postgres != nil {
		add(s.Postgres.Database)
		add(s.Postgres.User)
		add(s.Postgres.Password)
	}
	if s.Redis != nil {
		add(s.Redis.Username)
		add(s.Redis.Password)
	}
	return names
}

// Redacted is the placeholder shown in place of a secret.
const Redacted = "<redacted>"

var sensitiveHeader = regexp.MustCompile(`(?i)authorization|cookie|token|secret|password|api-?key|credential`)

// Redact returns a copy of s fit to show: the values of sensitive headers
// (Authorization, Cookie, anything naming a token, secret, password or key)
// a password in the URL, and the postgres and redis passwords are replaced
// by Redacted, unless they are ${VAR} references, which are shown as
// written.
func (s Spec) Redact() Spec {
	c := s.Clone()
	if c.HTTP != nil {
		for k, v := range c.HTTP.Headers {
			if sensitiveHeader.MatchString(k) && !isPureRef(v) {
				c.HTTP.Headers[k] = Redacted
			}
		}
	}
	c.URL = redactURL(c.URL)
	if c.Postgres != nil && c.Postgres.Password != "" && !isPureRef(c.Postgres.Password) {
		c.Postgres.Password = Redacted
	}
	if c.Redis != nil && c.Redis.Password != "" && !isPureRef(c.Redis.Password) {
		c.Redis.Password = Redacted
	}
	return c
}

func isPureRef(v string) bool {
	return envRef.ReplaceAllString(v, "") == "" || strings.TrimSpace(envRef.ReplaceAllString(v, "")) == "Bearer"
}

func redactURL(u string) string {
	// scheme://user:password@host...: keep the user, hide the password.
	i := strings.Index(u, "://")
	if i < 0 {
		return u
	}
	rest := u[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	auth := rest[:end]
	at := strings.LastIndex(auth, "@")
	if at < 0 {
		return u
	}
	user, pass, ok := strings.Cut(auth[:at], ":")
	if !ok || isPureRef(pass) {
		return u
	}
	return fmt.Sprintf("%s://%s:%s@%s", u[:i], user, Redacted, rest[at+1:])
}
