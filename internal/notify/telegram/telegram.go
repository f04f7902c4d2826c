// Package telegram is heck's Telegram channel: the Bot API's sendMessage
// to one chat, in HTML parse mode with every piece of text escaped.
package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/heckhq/heck/internal/notify"
)

func init() {
	notify.Register(notify.ChannelTelegram, func(s notify.Spec, o notify.Options) (notify.Channel, error) {
		return New(*s.Telegram, o), nil
	})
}

// Channel sends to one chat.
type Channel struct {
	endpoint string
	chatID   string
	opts     notify.Options
}

// New builds the channel from expanded settings.
func New(s notify.TelegramSpec, opts notify.Options) *Channel {
	api := s.APIURL
	if api == "" {
		api = notify.DefaultTelegramAPI
	}
	return &Channel{
		endpoint: strings.TrimRight(api, "/") + "/bot" + s.BotToken + "/sendMessage",
		chatID:   s.ChatID,
		opts:     opts.WithDefaults(),
	}
}

// Request is the sendMessage body.
type Request struct {
	ChatID                string `json:"chat_id"`
	Text                  string `json:"text"`
	ParseMode             string `json:"parse_mode"`
	DisableWebPagePreview bool   `json:"disable_web_page_preview"`
}

// Escape escapes &, < and > as the Bot API's HTML mode requires.
func Escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// MaxText is the Bot API's limit on a message's text.
const MaxText = 4096

// Build is the request Send posts for m: the title in bold, then the body.
func (c *Channel) Build(m notify.Message) Request {
	text := "<b>" + Escape(m.Title()) + "</b>\n" + Escape(m.Text())
	if len(text) > MaxText {
		// Cut the body, never the markup of the title.
		text = "<b>" + Escape(m.Title()) + "</b>\n" + notify.Truncate(Escape(m.Text()), MaxText-len(Escape(m.Title()))-16)
		if i := strings.LastIndexByte(text, '&'); i > strings.LastIndexByte(text, ';') {
			text = text[:i]
		}
	}
	return Request{ChatID: c.chatID, Text: text, ParseMode: "HTML", DisableWebPagePreview: true}
}

// answer is the Bot API's reply.
type answer struct {
	OK          bool   `json:"ok"`
	Description string `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

// Send posts m. A 429 whose reply gives parameters.retry_after but no
// Retry-After header still tells the delay.
func (c *Channel) Send(ctx context.Context, m notify.Message) error {
	resp, err := notify.PostJSON(ctx, c.opts.HTTPClient, c.opts.Now, c.endpoint, nil, c.Build(m))
	if err != nil {
		var se *notify.StatusError
		if _, has := notify.RetryAfter(err); !has && errors.As(err, &se) && se.Code == 429 {
			var a answer
			if json.Unmarshal([]byte(se.Body), &a) == nil && a.Parameters.RetryAfter > 0 {
				err = &notify.RetryAfterError{Err: err, After: min(time.Duration(a.Parameters.RetryAfter)*time.Second, notify.MaxRetryAfter)}
			}
		}
		return fmt.Errorf("telegram: message %s: %w", m.ID, err)
	}
	var a answer
	if json.Unmarshal(resp.Body, &a) == nil && !a.OK {
		return notify.MarkPermanent(fmt.Errorf("telegram: message %s: refused: %s", m.ID, notify.Truncate(a.Description, 200)))
	}
	c.opts.Logger.Debug("notification sent", "channel", "telegram", "id", m.ID)
	return nil
}
