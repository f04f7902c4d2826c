// Package all links every notification channel into the binary: import
// it for its side effect wherever notify.New is called.
package all

import (
	// Each registers its kind with notify.Register.
	_ "github.com/heckhq/heck/internal/notify/discord"
	_ "github.com/heckhq/heck/internal/notify/email"
	_ "github.com/heckhq/heck/internal/notify/ntfy"
	_ "github.com/heckhq/heck/internal/notify/pagerduty"
	_ "github.com/heckhq/heck/internal/notify/slack"
	_ "github.com/heckhq/heck/internal/notify/teams"
	_ "github.com/heckhq/heck/internal/notify/telegram"
	_ "github.com/heckhq/heck/internal/notify/webhook"
)
