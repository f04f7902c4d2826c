package node

import "testing"

func TestStartHints(t *testing.T) {
	for _, c := range []struct{ listen, api, try string }{
		{"127.0.0.1:7800", "http://127.0.0.1:7800/api/v1/targets", "heck status"},
		{"127.0.0.1:7802", "http://127.0.0.1:7802/api/v1/targets", "heck status --server http://127.0.0.1:7802"},
		{"0.0.0.0:7800", "http://127.0.0.1:7800/api/v1/targets", "heck status"},
		{"[::]:7800", "http://[::1]:7800/api/v1/targets", "heck status --server http://[::1]:7800"},
		{"127.0.0.2:7800", "http://127.0.0.2:7800/api/v1/targets", "heck status --server http://127.0.0.2:7800"},
	} {
		api, try := startHints(c.listen)
		if api != c.api || try != c.try {
			t.Errorf("startHints(%q) = %q, %q; want %q, %q", c.listen, api, try, c.api, c.try)
		}
	}
}
