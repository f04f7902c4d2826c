package metrics

import (
	"bufio"
	"compress/gzip"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"

	"github.com/heckhq/heck/internal/health"
)

// HandlerOptions configure Handler.
type HandlerOptions struct {
	// PerTarget adds heck_target_up{id}, one series per target, read from
	// the States given to Handler.
	PerTarget bool
	// Logger gets gathering errors; nil discards.
	Logger *slog.Logger
}

// Handler serves /metrics: the families of g and, with PerTarget,
// heck_target_up{id} for every target of states.
//
// Without per-target series it is promhttp's handler (content negotiation
// included). With them, g's families are encoded as text and
// heck_target_up is then written line by line straight from states, after
// the other families, so a scrape costs memory in proportion to one
// buffered response instead of one dto.Metric (labels, strings, sorting)
// per target. That answer is always the text format (gzip when asked),
// which every Prometheus accepts.
func Handler(g prometheus.Gatherer, states States, opts HandlerOptions) http.Handler {
	if !opts.PerTarget || states == nil {
		return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	up := family(NameTargetUp)
	return &streamHandler{g: g, states: states, log: log,
		upHead: "# HELP " + up.Name + " " + up.Help + "\n# TYPE " + up.Name + " " + strings.ToLower(up.Type.String()) + "\n"}
}

type streamHandler struct {
	g      prometheus.Gatherer
	states States
	log    *slog.Logger
	// upHead is heck_target_up's HELP and TYPE lines.
	upHead string
}

var textFormat = expfmt.NewFormat(expfmt.TypeTextPlain)

func (s *streamHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mfs, err := s.g.Gather()
	if err != nil {
		s.log.Warn("metrics: gathering", "err", err)
		http.Error(w, "gathering metrics: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", string(textFormat))
	var out io.Writer = w
	if acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
		gz := gzipPool.Get().(*gzip.Writer)
		gz.Reset(w)
		defer func() {
			_ = gz.Close()
			gz.Reset(io.Discard)
			gzipPool.Put(gz)
		}()
		out = gz
	}
	bw := bufPool.Get().(*bufio.Writer)
	bw.Reset(out)
	defer func() {
		bw.Reset(io.Discard)
		bufPool.Put(bw)
	}()
	enc := expfmt.NewEncoder(bw, textFormat)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return // the client went away
		}
	}
	s.writeTargetUp(bw)
	_ = bw.Flush()
}

var (
	gzipPool = sync.Pool{New: func() any { return gzip.NewWriter(io.Discard) }}
	bufPool  = sync.Pool{New: func() any { return bufio.NewWriterSize(io.Discard, 32<<10) }}
)

func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			if enc, _, _ := strings.Cut(strings.TrimSpace(part), ";"); strings.EqualFold(enc, "gzip") {
				return true
			}
		}
	}
	return false
}

// writeTargetUp writes the heck_target_up family in the text exposition
// format, one line per target, without building any per-target value.
func (s *streamHandler) writeTargetUp(bw *bufio.Writer) {
	bw.WriteString(s.upHead)
	s.states.EachState(func(id string, st health.State) {
		bw.WriteString(NameTargetUp + `{id="`)
		writeLabelValue(bw, id)
		switch st {
		case health.Up:
			bw.WriteString("\"} 1\n")
		case health.Down:
			bw.WriteString("\"} 0\n")
		default:
			bw.WriteString("\"} -1\n")
		}
	})
}

// writeLabelValue writes v escaped as the text format wants: backslash,
// double quote and line feed.
func writeLabelValue(bw *bufio.Writer, v string) {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			bw.WriteString(`\\`)
		case '"':
			bw.WriteString(`\"`)
		case '\n':
			bw.WriteString(`\n`)
		default:
			bw.WriteByte(c)
		}
	}
}
