package node

import (
	"context"
	"net"

	"github.com/heckhq/heck/internal/auth"
	"github.com/heckhq/heck/internal/crdt"
	"github.com/heckhq/heck/internal/objects"
	"github.com/heckhq/heck/internal/store"
	"github.com/heckhq/heck/internal/user"
)

// users are the node's replicated users, tokens, invites, session keys and
// revocations, and the auth built over them.
type users struct {
	accounts *objects.Collection[user.Account]
	tokens   *objects.Collection[user.Token]
	invites  *objects.Collection[user.Invite]
	keys     *objects.Collection[auth.SessionKey]
	revoked  *objects.Collection[auth.Revocation]
	auth     *auth.Auth
}

// initAuth loads the user kinds from the store, builds the auth and makes
// sure this node has its session key.
func (n *Node) initAuth(ctx context.Context, clock *crdt.Clock, st store.Store) error {
	u := &users{
		accounts: objects.New(user.AccountKind, n.name, clock, st),
		tokens:   objects.New(user.TokenKind, n.name, clock, st),
		invites:  objects.New(user.InviteKind, n.name, clock, st),
		keys:     objects.New(auth.KeyKind, n.name, clock, st),
		revoked:  objects.New(auth.RevocationKind, n.name, clock, st),
	}
	for _, c := range u.collections() {
		bad, err := c.Load(ctx)
		if err != nil {
			return err
		}
		for _, e := range bad {
			n.log.Warn("skipping a stored "+c.Kind()+" that cannot be read; it is kept in the store untouched", "err", e)
		}
	}
	u.auth = auth.New(auth.Options{
		Node: n.name, APIToken: n.cfg.API.Token, Secure: !listensOnLoopback(n.cfg.Listen),
		Accounts: u.accounts, Tokens: u.tokens, Invites: u.invites, Keys: u.keys, Revoked: u.revoked,
		Logger: n.log,
	})
	if err := u.auth.EnsureKey(ctx); err != nil {
		return err
	}
	// Changes of users and tokens are audited, without their hashes; keys
	// and revocations are not (a key is a secret, a logout is logged).
	u.accounts.SubscribeContext(auditConfig(n, "user", user.Account.Redacted, nil))
	u.tokens.SubscribeContext(auditConfig(n, "token", user.Token.Redacted, nil))
	u.invites.SubscribeContext(auditConfig(n, "invite", user.Invite.Redacted, nil))
	n.users = u
	return nil
}

func (u *users) collections() []interface {
	objects.Replicated
	Load(context.Context) ([]error, error)
} {
	return []interface {
		objects.Replicated
		Load(context.Context) ([]error, error)
	}{u.accounts, u.tokens, u.invites, u.keys, u.revoked}
}

// listensOnLoopback reports whether a listen address is a loopback one
// (the session cookie is not marked Secure there: heck serves plain HTTP).
func listensOnLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Auth is the node's authentication: sessions, logins, CSRF tokens and
// bearer tokens, valid on every node (internal/web's Auth).
func (n *Node) Auth() *auth.Auth { return n.users.auth }

// Users is the node's user admin (internal/web's Users).
func (n *Node) Users() *auth.Auth { return n.users.auth }
