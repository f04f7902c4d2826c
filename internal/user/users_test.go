package user

import (
	"strings"
	"testing"
	"time"

	"github.com/heckhq/heck/internal/target"
)

func TestValidateName(t *testing.T) {
	for _, tc := range []struct {
		name, want string // want: "" valid, else a word of the problem
	}{
		{"alice", ""}, {"bob.smith@example.com", ""}, {"a-1_b", ""},
		{"", "missing"}, {"-lead", "not a valid"}, {"has space", "not a valid"},
		{strings.Repeat("x", 65), "bytes long"}, {"api-token", "reserved"},
	} {
		err := ValidateName(tc.name)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%q: %v", tc.name, err)
			}
			continue
		}
		var fe target.FieldError
		if fes, ok := target.AsFieldErrors(err); !ok || len(fes) != 1 {
			t.Errorf("%q: %v, want one field error", tc.name, err)
			continue
		} else {
			fe = fes[0]
		}
		if fe.Field != "name" || !strings.Contains(fe.Problem, tc.want) || fe.Fix == "" {
			t.Errorf("%q: %+v, want field name, problem with %q and a fix", tc.name, fe, tc.want)
		}
	}
}

func TestParseRole(t *testing.T) {
	for in, want := range map[string]Role{"admin": Admin, "Editor": Editor, " viewer ": Viewer} {
		if got, err := ParseRole(in); err != nil || got != want {
			t.Errorf("ParseRole(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseRole("root"); err == nil || !strings.Contains(err.Error(), "admin, editor or viewer") {
		t.Errorf("ParseRole(root) = %v", err)
	}
}

func TestTokenText(t *testing.T) {
	tok, text, err := NewToken("alice", "ci", "alice", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.Validate(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(text, TokenPrefix+tok.ID+"_") {
		t.Fatalf("token text %q does not start with %s%s_", text, TokenPrefix, tok.ID)
	}
	id, secret, err := SplitToken(text, TokenPrefix)
	if err != nil || id != tok.ID {
		t.Fatalf("SplitToken = %q, %v", id, err)
	}
	if strings.Contains(tok.Hash, secret) || !Matches(tok.Hash, secret) || Matches(tok.Hash, secret+"x") {
		t.Error("the stored hash must match the secret and only it, and not contain it")
	}
	for _, bad := range []string{"", "heck_", "heck_zz_x", "heck_0123456789ab", "heckinv_0123456789ab_x", "Bearer heck_0123456789ab_x"} {
		if _, _, err := SplitToken(bad, TokenPrefix); err == nil {
			t.Errorf("SplitToken(%q) accepted", bad)
		}
	}
}

func TestAccountValidate(t *testing.T) {
	h, _ := HashPassword("password1", fast)
	ok := Account{User: User{Name: "a", Role: Editor}, PasswordHash: h}
	if err := AccountKind.Validate("a", ok); err != nil {
		t.Fatal(err)
	}
	if err := AccountKind.Validate("b", ok); err == nil {
		t.Error("an account stored under another name is accepted")
	}
	bad := Account{User: User{Name: "a", Role: "root"}}
	fes, _ := target.AsFieldErrors(bad.Validate())
	fields := map[string]bool{}
	for _, e := range fes {
		fields[e.Field] = true
	}
	if !fields["role"] || !fields["password_hash"] {
		t.Errorf("problems %v, want role and password_hash", fes)
	}
}
