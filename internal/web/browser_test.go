package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/heckhq/heck/internal/config"
	"github.com/heckhq/heck/internal/node"
	"github.com/heckhq/heck/internal/target"
	"github.com/heckhq/heck/internal/testkit"
)

// chromium finds the browser, or skips (fails under HECK_INTEGRATION=1).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return testkit.NeedBinary(t, "chromium", "apt-get install chromium fonts-dejavu-core", "/usr/bin")
}

// TestBrowser drives the UI of a real node in Chromium: an admin signs
// in, adds a target through the form, sees it turn down live when its
// server stops, publishes a status page and opens an incident from the
// transition, which the public page shows; a viewer sees no edit buttons
// and gets 403 on a POST; forms without or with a wrong CSRF token are
// refused. HECK_SCREENSHOTS=1 saves docs/screenshots/*.png.
func TestBrowser(t *testing.T) {
	bin := chromium(t)
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	start := time.Now()

	// The target: a loopback HTTP server the test stops.
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer app.Close()

	dir := t.TempDir()
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.Node.Name = "node-a"
	cfg.Node.DataDir = dir
	cfg.Store.Path = filepath.Join(dir, config.DefaultStoreFile)
	cfg.API.Token = "test-admin-token"
	cfg.Defaults = target.Schedule{Interval: target.Duration(200 * time.Millisecond), Timeout: target.Duration(150 * time.Millisecond), Rise: 1, Fall: 1}
	dep := target.Spec{ID: "db", Name: "Database", Kind: target.KindTCP, Address: app.Listener.Addr().String(), Labels: map[string]string{"tier": "data"}}
	cfg.Targets = []target.Spec{dep}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nd, err := node.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- nd.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node: %v", err)
		}
	}()
	actx, acancel := context.WithTimeout(ctx, 30*time.Second)
	addr := nd.Addr(actx)
	acancel()
	if addr == nil {
		t.Fatal("node did not listen")
	}
	base := "http://" + addr.String()

	// Users, through the node's API with the api.token (an admin).
	for _, u := range []string{`{"name":"admin","role":"admin","password":"admin-password-1"}`, `{"name":"viewer","role":"viewer","password":"viewer-password-1"}`} {
		req, _ := http.NewRequest("POST", base+"/api/v1/users", strings.NewReader(u))
		req.Header.Set("Authorization", "Bearer test-admin-token")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
			t.Fatalf("create user: %d %s", resp.StatusCode, b)
		}
	}

	opts := append([]chromedp.ExecAllocatorOption{},
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 900))
	// Starting the browser now and then fails on a loaded machine (the
	// process exits before it listens for DevTools): try a few times,
	// each with a fresh profile.
	var bctx context.Context
	for attempt := 1; ; attempt++ {
		allocCtx, allocCancel := chromedp.NewExecAllocator(ctx, append(opts, chromedp.UserDataDir(t.TempDir()))...)
		c, bcancel := chromedp.NewContext(allocCtx)
		err := chromedp.Do(c, chromedp.Navigate("about:blank")) // starts the browser
		if err == nil {
			bctx = c
			defer allocCancel()
			defer bcancel()
			break
		}
		bcancel()
		allocCancel()
		if attempt == 3 {
			t.Fatalf("start chromium (3 attempts): %v", err)
		}
		t.Logf("start chromium, attempt %d: %v", attempt, err)
	}

	shots := os.Getenv("HECK_SCREENSHOTS") == "1"
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if !shots {
				return nil
			}
			png, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join("..", "..", "docs", "screenshots", name+".png"), png, 0o644)
		})
	}
	// Each step waits on the DOM for at most 15 s.
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, scancel := context.WithTimeout(bctx, 15*time.Second)
		defer scancel()
		t0 := time.Now()
		defer func() { t.Logf("%s: %v", what, time.Since(t0).Round(time.Millisecond)) }()
		if err := chromedp.Do(sctx, actions...); err != nil {
			loc, _ := chromedp.Run(bctx, chromedp.Location())
			body, _ := chromedp.Run(bctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
			t.Fatalf("%s: %v (at %s)\n%s", what, err, loc, body)
		}
	}
	eval := func(what, js string, into any) {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Evaluate[string]("Promise.resolve("+js+").then(v => JSON.stringify(v))", chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if err := json.Unmarshal([]byte(v), into); err != nil {
			t.Fatalf("%s: %q: %v", what, v, err)
		}
	}
	text := func(what string, sel chromedp.CSS) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
	login := func(name, pw string) {
		run("sign in as "+name,
			chromedp.Navigate(base+"/login"),
			chromedp.WaitVisible(chromedp.CSS(`#l-name`)),
			chromedp.SendKeys(chromedp.CSS(`#l-name`), name),
			chromedp.SendKeys(chromedp.CSS(`#l-pw`), pw),
			chromedp.Submit(chromedp.CSS(`#l-pw`)),
			chromedp.WaitVisible(chromedp.CSS(`table.targets`)))
	}

	// An admin signs in and adds a target through the form.
	login("admin", "admin-password-1")
	run("add a target",
		chromedp.Navigate(base+"/new/target"),
		chromedp.WaitVisible(chromedp.CSS(`#f-id`)),
		chromedp.SendKeys(chromedp.CSS(`#f-id`), "web"),
		chromedp.SendKeys(chromedp.CSS(`#f-name`), "Web shop"),
		chromedp.SendKeys(chromedp.CSS(`#f-url`), app.URL+"/healthz"),
		chromedp.SendKeys(chromedp.CSS(`#f-labels`), "env=prod, team=web"),
		chromedp.SendKeys(chromedp.CSS(`#f-deps`), "db"),
		chromedp.Submit(chromedp.CSS(`#f-id`)),
		chromedp.WaitVisible(chromedp.CSS(`header#t-web`)))
	run("the target comes up", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`tr#t-web[data-state="up"]`)))

	// A status page, through the JSON form.
	page := `{"id": "public", "title": "Example Shop status", "groups": [{"name": "Shop", "entries": [{"target": "web", "display_name": "Web shop"}, {"target": "db", "display_name": "Database"}]}]}`
	run("the status page form", chromedp.Navigate(base+"/statuspages/new"), chromedp.WaitVisible(chromedp.CSS(`#s-json`)))
	run("write the page", chromedp.SetValue(chromedp.CSS(`#s-json`), page))
	run("save the page", chromedp.Click(chromedp.CSS(`main form button[type=submit]`)))
	run("saved", chromedp.WaitVisible(chromedp.CSS(`p.flash`)))
	run("the status page is listed", chromedp.Navigate(base+"/statuspages"), chromedp.WaitVisible(chromedp.CSS(`a.button[href="/statuspages/public/edit"]`)))

	// CSRF: forms without the token or with a wrong one are refused.
	var codes []int
	run("the dashboard", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`table.targets`)))
	eval("forged forms", `Promise.all(["", "csrf=wrong"].map(c => fetch("/new/target", {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: c + "&id=forged&kind=http&url=http://127.0.0.1:1/"}).then(r => r.status)))`, &codes)
	if fmt.Sprint(codes) != "[403 403]" {
		t.Fatalf("forged forms answered %v, want [403 403]", codes)
	}

	// Stop the target's server: the open dashboard turns it down live.
	run("the dashboard is open", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`tr#t-web[data-state="up"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#live:not(.off)`)))
	var mark int
	eval("mark the page", `window.__same = 1`, &mark)
	app.Close()
	stopped := time.Now()
	run("the dashboard turns it down without a reload",
		chromedp.WaitVisible(chromedp.CSS(`tr#t-web:is([data-state="down"], [data-state="impacted"]) .state:is(.st-down, .st-impacted)`)),
		chromedp.WaitVisible(chromedp.CSS(`tr#t-db[data-state="down"]`)))
	t.Logf("down on the open dashboard %v after the server stopped", time.Since(stopped).Round(time.Millisecond))
	var same int
	eval("no reload", `window.__same || 0`, &same)
	if same != 1 {
		t.Fatal("the dashboard reloaded instead of updating live")
	}

	// Open an incident from the transition; the public page shows it.
	run("open an incident from the transition",
		chromedp.Navigate(base+"/targets/web"),
		chromedp.WaitVisible(chromedp.CSS(`table.transitions form button`)),
		shot("target"),
		chromedp.Click(chromedp.CSS(`table.transitions tbody tr:first-child form button`)),
		chromedp.WaitVisible(chromedp.CSS(`#u-msg`)),
		chromedp.SendKeys(chromedp.CSS(`#u-msg`), "We are looking into it."),
		chromedp.Submit(chromedp.CSS(`#u-msg`)),
		chromedp.WaitVisible(chromedp.CSS(`ol.updates li:nth-child(2)`)))
	title := text("the incident's title", chromedp.CSS(`h1`))
	if !strings.HasPrefix(title, "Web shop is ") { // down, or impacted by db
		t.Fatalf("incident title %q", title)
	}
	run("the cluster page", chromedp.Navigate(base+"/cluster"), chromedp.WaitVisible(chromedp.CSS(`svg.graph`)), shot("cluster"))
	run("the public page", chromedp.Navigate(base+"/status/public"), chromedp.WaitReady(chromedp.CSS(`body`)), shot("status-page"))
	public := text("the public page's text", chromedp.CSS(`body`))
	if !strings.Contains(public, title) || !strings.Contains(public, "We are looking into it.") {
		t.Fatalf("the status page does not show incident %q:\n%s", title, public)
	}
	if strings.Contains(public, "127.0.0.1") {
		t.Fatal("the status page shows an address")
	}

	// A viewer sees no edit buttons and is refused on POST.
	run("sign out", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)), chromedp.WaitVisible(chromedp.CSS(`#l-name`)))
	login("viewer", "viewer-password-1")
	var buttons int
	run("a viewer's target page", chromedp.Navigate(base+"/targets/web"), chromedp.WaitVisible(chromedp.CSS(`header#t-web`)))
	eval("edit buttons", `document.querySelectorAll('a[href$="/edit"], a[href="/new/target"], form[action*="/delete"], form[action*="/incident"], .button.primary').length`, &buttons)
	if buttons != 0 {
		t.Fatalf("a viewer sees %d edit buttons", buttons)
	}
	var code int
	run("a viewer's dashboard", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`table.targets`)), shot("dashboard"))
	eval("a viewer's POST", `fetch("/targets/web/delete", {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: "csrf=" + encodeURIComponent(document.querySelector('form[action="/logout"] input[name=csrf]').value)}).then(r => r.status)`, &code)
	if code != http.StatusForbidden {
		t.Fatalf("a viewer's delete answered %d, want 403", code)
	}
	resp, err := http.Get(base + "/api/v1/targets/web")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the target is gone after a viewer's delete: %d", resp.StatusCode)
	}
	if d := time.Since(start); d > 60*time.Second {
		t.Errorf("the browser test took %v, want < 60s", d)
	}
}
