package user

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

var fast = Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

func TestHashPasswordRoundTrip(t *testing.T) {
	for _, p := range []Params{fast, DefaultParams} {
		h, err := HashPassword("correct horse battery", p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(h, "$argon2id$v=19$") {
			t.Fatalf("hash %q is not an argon2id PHC string", h)
		}
		if err := VerifyPassword(h, "correct horse battery"); err != nil {
			t.Errorf("right password: %v", err)
		}
		if err := VerifyPassword(h, "correct horse batterY"); !errors.Is(err, ErrMismatch) {
			t.Errorf("wrong password: %v, want ErrMismatch", err)
		}
		got, _, _, err := ParsePHC(h)
		if err != nil || got != p {
			t.Errorf("ParsePHC = %+v, %v; want %+v", got, err, p)
		}
	}
	a, _ := HashPassword("same", fast)
	b, _ := HashPassword("same", fast)
	if a == b {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
}

func TestVerifyBcrypt(t *testing.T) {
	h, err := bcrypt.GenerateFromPassword([]byte("imported pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyPassword(string(h), "imported pw"); err != nil {
		t.Errorf("right password: %v", err)
	}
	if err := VerifyPassword(string(h), "imported px"); !errors.Is(err, ErrMismatch) {
		t.Errorf("wrong password: %v, want ErrMismatch", err)
	}
}

func TestParsePHCErrors(t *testing.T) {
	const salt, key = "c2FsdHNhbHRzYWx0", "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5"
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "parts"},
		{"not phc", "hunter2", "parts"},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key, `algorithm "argon2i"`},
		{"old version", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key, "version"},
		{"missing t", "$argon2id$v=19$m=64,p=1$" + salt + "$" + key, "m, t and p are all required"},
		{"unknown param", "$argon2id$v=19$m=64,t=1,p=1,x=2$" + salt + "$" + key, `unknown parameter "x"`},
		{"not a number", "$argon2id$v=19$m=lots,t=1,p=1$" + salt + "$" + key, "not name=number"},
		{"huge memory", "$argon2id$v=19$m=4194304,t=1,p=1$" + salt + "$" + key, "memory"},
		{"huge time", "$argon2id$v=19$m=64,t=1000,p=1$" + salt + "$" + key, "time"},
		{"zero threads", "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key, "parallelism"},
		{"bad salt", "$argon2id$v=19$m=64,t=1,p=1$!!$" + key, "salt"},
		{"short key", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$a2V5", "hash is not"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := ParsePHC(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParsePHC(%q) = %v, want an error containing %q", tc.in, err, tc.want)
			}
			if err := VerifyPassword(tc.in, "x"); err == nil || errors.Is(err, ErrMismatch) {
				t.Errorf("VerifyPassword on a bad hash = %v, want a parse error", err)
			}
		})
	}
}
