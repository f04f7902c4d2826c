package kinds

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/heckhq/heck/internal/target"
)

// datastoreScheme reports whether scheme names a postgres or redis
// target of heck check.
func datastoreScheme(scheme string) bool {
	switch scheme {
	case "postgres", "postgresql", "redis", "rediss":
		return true
	}
	return false
}

// parseDatastoreArg reads "postgres://[user[:password]@]host[:port][/db]
// [?sslmode=M&query=SQL&expect=V]" (postgresql:// too; port 5432 by
// default) and "redis://[[user]:password@]host[:port][/db][?key=K]"
// (rediss:// over TLS; port 6379 by default). A password may be a ${VAR}
// reference, expanded when probing.
func parseDatastoreArg(spec target.Spec, scheme, arg string) (target.Spec, error) {
	// ${VAR} is not valid in a URL's user info: escape it, url.Parse
	// gives it back decoded.
	esc := strings.NewReplacer("${", "%24%7B", "}", "%7D").Replace(arg)
	u, err := url.Parse(esc)
	if err != nil {
		return spec, fmt.Errorf("%q is not a valid URL (%v); %s", arg, strings.ReplaceAll(err.Error(), esc, arg), argHelp)
	}
	if u.Hostname() == "" {
		return spec, fmt.Errorf("%q names no host; %s", arg, argHelp)
	}
	user, pass, hasPass := "", "", false
	if u.User != nil {
		user = u.User.Username()
		pass, hasPass = u.User.Password()
	}
	path := strings.TrimPrefix(u.Path, "/")
	q := u.Query()
	switch scheme {
	case "postgres", "postgresql":
		spec.Kind, spec.Address = target.KindPostgres, hostPort(u, "5432")
		o := &target.PostgresOptions{User: user, Password: pass, Database: path}
		for k, vs := range q {
			v := vs[len(vs)-1]
			switch k {
			case "sslmode":
				o.SSLMode = v
			case "query":
				o.Query = v
			case "expect":
				o.Expect = v
			default:
				return spec, fmt.Errorf("%q: unknown query parameter %q; use sslmode, query or expect", arg, k)
			}
		}
		if *o != (target.PostgresOptions{}) {
			spec.Postgres = o
		}
	default:
		spec.Kind, spec.Address = target.KindRedis, hostPort(u, "6379")
		o := &target.RedisOptions{Username: user, TLS: scheme == "rediss"}
		if hasPass {
			o.Password = pass
		} else if user != "" {
			// redis://secret@host is the password alone, as redis-cli -u.
			o.Username, o.Password = "", user
		}
		if path != "" {
			db, err := strconv.Atoi(path)
			if err != nil || strings.Contains(path, "/") {
				return spec, fmt.Errorf("%q: the path %q is not a database number; write redis://host:port/0", arg, u.Path)
			}
			o.DB = db
		}
		for k, vs := range q {
			switch k {
			case "key":
				o.Key = vs[len(vs)-1]
			default:
				return spec, fmt.Errorf("%q: unknown query parameter %q; use key", arg, k)
			}
		}
		if *o != (target.RedisOptions{}) {
			spec.Redis = o
		}
	}
	if errs := spec.Validate(); len(errs) > 0 {
		// The argument may hold a password: name the URL without it.
		return spec, fmt.Errorf("%q: %w", redactedArg(u, arg), errs)
	}
	return spec, nil
}

func hostPort(u *url.URL, port string) string {
	if p := u.Port(); p != "" {
		port = p
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// redactedArg is arg with a literal password replaced.
func redactedArg(u *url.URL, arg string) string {
	if u.User == nil {
		return arg
	}
	if p, ok := u.User.Password(); ok && !strings.HasPrefix(p, "${") {
		c := *u
		c.User = url.UserPassword(u.User.Username(), "xxxxx")
		return strings.Replace(c.String(), "xxxxx", target.Redacted, 1)
	}
	return arg
}
